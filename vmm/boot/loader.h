/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct vm;

/*
 * Image loaders. Each writes the image into guest RAM (before any vCPU
 * runs) and fills vm->boot. On failure they print one message naming the
 * file and the reason, and return -1.
 */

/* Detect the image kind from its contents and load it. */
int loader_load(struct vm *vm);

/* Format a parse error into err (for the parsers' callers to print); returns -1. */
int loader_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* multiboot.c */
#define MB_SEARCH_LIMIT		8192
#define MB_MAX_SEGMENTS		16

struct mb_segment {
	uint64_t file_off, filesz;	/* bytes copied from the file */
	uint64_t paddr, memsz;		/* destination; memsz - filesz is zeroed */
};

struct mb_image {
	uint32_t header_off;		/* where the header was found */
	uint32_t flags;
	uint32_t entry;
	unsigned nr_segs;
	struct mb_segment segs[MB_MAX_SEGMENTS];
	uint64_t end;			/* highest byte loaded, exclusive */
};

/*
 * Returns the offset of a multiboot v1 header within the first 8 KiB, or -1.
 * Sets *beyond when a header exists only past the first 8 KiB.
 */
long multiboot_find_header(const uint8_t *img, size_t len, int *beyond);

/*
 * Parse a multiboot v1 image: header, then ELF32 program headers (flags
 * bit 16 clear) or the header's address fields (bit 16 set). Checks that
 * every byte copied is inside the file and every segment fits in
 * [0, ram_top). On error returns -1 with a reason in err.
 */
int multiboot_parse(const uint8_t *img, size_t len, uint64_t ram_top,
		    struct mb_image *out, char *err, size_t errlen);

int multiboot_load(struct vm *vm, const uint8_t *img, size_t len);

#endif
