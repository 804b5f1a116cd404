/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_IO_H
#define VMM_IO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One dispatch table per address space (port I/O and MMIO). Devices
 * register their ranges at start-up, before any vCPU runs; after that the
 * table is read-only, so lookups from vCPU threads take no lock. Each
 * device serialises its own state.
 */

/*
 * Called with the offset into the registered range. For a write, data[0..size)
 * holds the value (little endian); for a read, the handler fills it.
 */
typedef void (*io_handler_t)(void *opaque, uint64_t offset, uint8_t *data,
			     unsigned size, bool is_write);

struct io_range {
	uint64_t base, len;
	io_handler_t handler;
	void *opaque;
	const char *name;
};

#define IO_MAX_RANGES 32

struct io_bus {
	const char *name;	/* "port" or "mmio", for messages */
	unsigned nr;
	struct io_range ranges[IO_MAX_RANGES];
};

/* Returns 0, or -1 when the range overlaps another or the table is full. */
int io_register(struct io_bus *bus, uint64_t base, uint64_t len,
		io_handler_t handler, void *opaque, const char *name);

/*
 * Route one access. Unclaimed reads return all-ones and unclaimed writes are
 * dropped (logged with --debug, a few lines per address); returns whether a
 * device claimed it.
 */
bool io_dispatch(struct io_bus *bus, uint64_t addr, uint8_t *data,
		 unsigned size, bool is_write);

/*
 * With --debug: how many unclaimed accesses each address got beyond the
 * few that were logged (the log is limited per address). Only after every
 * vCPU thread has stopped.
 */
void io_debug_summary(void);

#endif
