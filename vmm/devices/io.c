// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/devices/io.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vmm/util.h"

#define IO_DBG_ADDRS	512	/* addresses whose accesses are counted apart */
#define IO_DBG_LINES	8	/* accesses logged per address */

/*
 * The --debug log of unclaimed accesses is bounded: the first IO_DBG_LINES
 * accesses to an address are logged, later ones only counted; once
 * IO_DBG_ADDRS addresses are tracked, accesses to new ones are counted
 * together and not logged. io_debug_summary prints the counts at exit.
 * io_dbg_lock protects the table; it is taken only on the --debug path of
 * an unclaimed access, and nothing is printed under it.
 */
static pthread_mutex_t io_dbg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct io_dbg_entry {
	const struct io_bus *bus;
	uint64_t addr, count;
} io_dbg[IO_DBG_ADDRS];
static unsigned io_dbg_nr;
static uint64_t io_dbg_others;

enum io_dbg_verdict { IO_DBG_LOG, IO_DBG_LOG_LAST, IO_DBG_LOG_FULL, IO_DBG_COUNT };

static enum io_dbg_verdict io_dbg_account(const struct io_bus *bus, uint64_t addr)
{
	enum io_dbg_verdict v = IO_DBG_COUNT;
	struct io_dbg_entry *e = NULL;

	pthread_mutex_lock(&io_dbg_lock);
	for (unsigned i = 0; i < io_dbg_nr; i++) {
		if (io_dbg[i].bus == bus && io_dbg[i].addr == addr) {
			e = &io_dbg[i];
			break;
		}
	}
	if (!e && io_dbg_nr < IO_DBG_ADDRS) {
		e = &io_dbg[io_dbg_nr++];
		*e = (struct io_dbg_entry){ .bus = bus, .addr = addr };
	}
	if (e) {
		e->count++;
		if (e->count < IO_DBG_LINES)
			v = IO_DBG_LOG;
		else if (e->count == IO_DBG_LINES)
			v = IO_DBG_LOG_LAST;
	} else if (io_dbg_others++ == 0) {
		v = IO_DBG_LOG_FULL;
	}
	pthread_mutex_unlock(&io_dbg_lock);
	return v;
}

static void io_dbg_log(const struct io_bus *bus, uint64_t addr, const uint8_t *data,
		       unsigned size, bool is_write)
{
	enum io_dbg_verdict v = io_dbg_account(bus, addr);
	char what[96];

	if (v == IO_DBG_COUNT)
		return;
	if (is_write) {
		uint64_t val = 0;

		memcpy(&val, data, size < 8 ? size : 8);
		snprintf(what, sizeof(what), "unhandled %s write 0x%llx <- 0x%llx (%u bytes)",
			 bus->name, (unsigned long long)addr, (unsigned long long)val, size);
	} else {
		snprintf(what, sizeof(what), "unhandled %s read 0x%llx (%u bytes)",
			 bus->name, (unsigned long long)addr, size);
	}
	if (v == IO_DBG_LOG)
		vmm_dbg("%s", what);
	else if (v == IO_DBG_LOG_LAST)
		vmm_dbg("%s; further accesses to %s 0x%llx are counted, not logged", what,
			bus->name, (unsigned long long)addr);
	else
		vmm_dbg("%s; unclaimed accesses to more than %d addresses: the rest are "
			"counted, not logged", what, IO_DBG_ADDRS);
}

/* At exit, once every vCPU thread has stopped: the table is no longer written. */
void io_debug_summary(void)
{
	for (unsigned i = 0; i < io_dbg_nr; i++) {
		const struct io_dbg_entry *e = &io_dbg[i];

		if (e->count > IO_DBG_LINES)
			vmm_dbg("%s 0x%llx: %llu unhandled accesses, the first %d logged",
				e->bus->name, (unsigned long long)e->addr,
				(unsigned long long)e->count, IO_DBG_LINES);
	}
	if (io_dbg_others)
		vmm_dbg("%llu more unhandled accesses to other addresses, the first logged",
			(unsigned long long)io_dbg_others);
}

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
	if (!is_write)
		memset(data, 0xff, size);
	if (vmm_debug)
		io_dbg_log(bus, addr, data, size, is_write);
	return false;
}
