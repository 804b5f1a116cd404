// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/guest_mem.h"

#include <errno.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/util.h"

const char *guest_mem_shmem_thp_path = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";

/* Does the host force transparent huge pages on every shmem mapping? */
static bool guest_mem_thp_forced(void)
{
	char buf[128] = "";
	FILE *f = fopen(guest_mem_shmem_thp_path, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "[force]") != NULL;
}

int guest_mem_init(struct guest_mem *mem, uint64_t size)
{
	uint64_t low = size < GUEST_MEM_HOLE_START ? size : GUEST_MEM_HOLE_START;

	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	if (!size || size % PAGE_SIZE) {
		errno = EINVAL;
		return -1;
	}
	mem->fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (mem->fd < 0)
		return -1;
	if (ftruncate(mem->fd, size) < 0)
		goto fail;
	/* No MAP_POPULATE, no mlock: pages exist only once touched. */
	mem->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_NORESERVE, mem->fd, 0);
	if (mem->base == MAP_FAILED) {
		mem->base = NULL;
		goto fail;
	}
	/*
	 * Guest RAM stays at 4 KiB pages: a hole punched inside a large folio
	 * that cannot be split is only zeroed, not freed. Where the host
	 * forces shmem THP on every mapping, MADV_NOHUGEPAGE is not enough.
	 */
	if (guest_mem_thp_forced()) {
		vmm_err("guest RAM: %s is 'force': guest RAM must stay at 4 KiB pages; set it "
			"to 'advise' or 'never'", guest_mem_shmem_thp_path);
		errno = EINVAL;
		goto fail;
	}
	if (madvise(mem->base, size, MADV_NOHUGEPAGE) < 0 && errno != EINVAL)
		goto fail;
	mem->size = size;
	mem->regions[mem->nr_regions++] = (struct guest_region){
		.gpa = 0, .size = low, .pgoff = 0, .slot = 0,
	};
	if (size > low)
		mem->regions[mem->nr_regions++] = (struct guest_region){
			.gpa = GUEST_MEM_HIGH_START, .size = size - low,
			.pgoff = low >> PAGE_SHIFT, .slot = 1,
		};
	return 0;
fail:
	{
		int e = errno;

		if (mem->base)
			munmap(mem->base, size);
		mem->base = NULL;
		close(mem->fd);
		mem->fd = -1;
		errno = e;
	}
	return -1;
}

int guest_mem_register(const struct guest_mem *mem, int vm_fd)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = r->slot,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)(mem->base + (r->pgoff << PAGE_SHIFT)),
		};

		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -1;
	}
	return 0;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	if (mem->fd >= 0)
		close(mem->fd);
	mem->base = NULL;
	mem->fd = -1;
}

const struct guest_region *guest_mem_region(const struct guest_mem *mem, uint64_t gpa)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct guest_region *r = guest_mem_region(mem, gpa);

	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return mem->base + (r->pgoff << PAGE_SHIFT) + (gpa - r->gpa);
}

bool guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, uint64_t len)
{
	void *p;

	if (mem->access)
		return mem->access(mem->access_ctx, gpa, buf, len, false);
	p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

bool guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, uint64_t len)
{
	void *p;

	if (mem->access)
		return mem->access(mem->access_ctx, gpa, (void *)buf, len, true);
	p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return false;
	memcpy(p, buf, len);
	return true;
}

uint64_t guest_mem_low_size(const struct guest_mem *mem)
{
	return mem->regions[0].size;
}

uint64_t guest_mem_high_size(const struct guest_mem *mem)
{
	return mem->nr_regions > 1 ? mem->regions[1].size : 0;
}
