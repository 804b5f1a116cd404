// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/devices/io.h"

#include <string.h>

#include "vmm/util.h"

int io_register(struct io_bus *bus, uint64_t base, uint64_t len,
		io_handler_t handler, void *opaque, const char *name)
{
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			return -1;
	}
	if (bus->nr == IO_MAX_RANGES)
		return -1;
	bus->ranges[bus->nr++] = (struct io_range){
		.base = base, .len = len, .handler = handler,
		.opaque = opaque, .name = name,
	};
	return 0;
}

bool io_dispatch(struct io_bus *bus, uint64_t addr, uint8_t *data,
		 unsigned size, bool is_write)
{
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (addr >= r->base && addr - r->base < r->len) {
			r->handler(r->opaque, addr - r->base, data, size, is_write);
			return true;
		}
	}
	if (is_write) {
		uint64_t v = 0;

		memcpy(&v, data, size < 8 ? size : 8);
		vmm_dbg("unhandled %s write 0x%llx <- 0x%llx (%u bytes)", bus->name,
			(unsigned long long)addr, (unsigned long long)v, size);
	} else {
		memset(data, 0xff, size);
		vmm_dbg("unhandled %s read 0x%llx (%u bytes)", bus->name,
			(unsigned long long)addr, size);
	}
	return false;
}
