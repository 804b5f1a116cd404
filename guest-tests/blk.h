/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef GUEST_BLK_H
#define GUEST_BLK_H
/*
 * The ring-3 virtio-blk driver's shared parts: blk.c (set-up, one request
 * at a time, the modes) and blk_queue.c (several requests in flight on
 * queue 0: mode=depth and mode=bench).
 */
#include "lib/pattern.h"
#include "lib/virtio.h"
#include "runtime.h"

#define BLK_DEV_MODERN	0x1042
#define BLK_DEV_TRANS	0x1001
#define F_RO		5
#define F_FLUSH		9
#define F_WCE		11
#define F_MQ		12
#define F_DISCARD	13
#define F_WZ		14
#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WZ		13
#define S_OK		0
#define S_IOERR		1
#define QSIZE		128
#define WAIT_MS		20000
#define NOSTATUS	0xee


struct req {
	uint32_t type, reserved;
	uint64_t sector;
	uint8_t status;
	uint8_t pad[47];
} __attribute__((aligned(64)));

extern struct virtio_dev dev;
extern uint64_t capacity;		/* sectors */
extern struct req reqs[MAX_CPUS][QSIZE];
extern uint64_t pool, pool_pages;	/* buffers: all free RAM after the rings */

bool fail(const char *what);
long run_depth(void *arg);
long run_bench(void *arg);

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

#endif
