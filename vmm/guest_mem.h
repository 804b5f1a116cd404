/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Guest RAM: one memory object (a memfd, i.e. shmem) mapped once MAP_SHARED
 * into the VMM, and realised as KVM memslots by regions. A region maps
 * `size` bytes of the object starting at object offset `pgoff << 12` at
 * guest-physical address `gpa` (docs/design.md, "Regions"). RAM below the
 * 32-bit hole is one region at gpa 0, pgoff 0; the rest is a second region
 * at 4 GiB whose pgoff continues where the first ends.
 *
 * The layout is fixed once the VM is built; after that the structure is
 * read-only and needs no lock.
 */

#define GUEST_MEM_HOLE_START	(3ULL << 30)	/* 32-bit PCI/APIC hole */
#define GUEST_MEM_HIGH_START	(4ULL << 30)
#define GUEST_MEM_MAX_REGIONS	2

struct guest_region {
	uint64_t gpa;		/* guest-physical start */
	uint64_t size;		/* bytes */
	uint64_t pgoff;		/* first object page mapped */
	uint32_t slot;		/* KVM memslot id */
};

struct guest_mem {
	int fd;			/* the memfd */
	uint64_t size;		/* bytes of guest RAM (= object size) */
	uint8_t *base;		/* the object mapped MAP_SHARED, object offset 0 */
	unsigned nr_regions;
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	/*
	 * Once the pager owns guest RAM, copies go through it (set before any
	 * vCPU runs, read-only afterwards).
	 */
	bool (*access)(void *ctx, uint64_t gpa, void *buf, uint64_t len, bool write);
	void *access_ctx;
};

/*
 * The host's shmem THP policy, read by guest_mem_init: guest RAM stays at
 * 4 KiB pages (MADV_NOHUGEPAGE), and where the policy is "force" (which
 * overrides that) guest_mem_init refuses. Tests point it at a file of their own.
 */
extern const char *guest_mem_shmem_thp_path;

/* Create the object and its mapping, and lay out the regions. */
int guest_mem_init(struct guest_mem *mem, uint64_t size);
/* Register every region as a KVM memslot of vm_fd. */
int guest_mem_register(const struct guest_mem *mem, int vm_fd);
void guest_mem_destroy(struct guest_mem *mem);

/* Region containing gpa, or NULL when gpa is not RAM. */
const struct guest_region *guest_mem_region(const struct guest_mem *mem, uint64_t gpa);

/*
 * Host pointer for [gpa, gpa + len), or NULL when the range is not RAM of a
 * single region. Only for the loaders, before the pager owns guest RAM;
 * everything else uses guest_mem_read/write.
 */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy out of / into guest RAM; false when the range is not all RAM. */
bool guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, uint64_t len);
bool guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, uint64_t len);

/* Bytes of RAM below the hole, and above 4 GiB. */
uint64_t guest_mem_low_size(const struct guest_mem *mem);
uint64_t guest_mem_high_size(const struct guest_mem *mem);

#endif
