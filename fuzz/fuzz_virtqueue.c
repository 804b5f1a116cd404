// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer entry point for the split-virtqueue walker (vmm/virtio/virtqueue.c).
 *
 * The walker reaches guest memory only through gmem_read/gmem_write; here
 * they are a fake over a 64 KiB buffer standing for guest RAM at gpa
 * 0x10000 (the layer above, vmm/gmem.c, has its own tests). The input is a
 * queue configuration (size, ring addresses, event index, starting indices)
 * followed by the contents of RAM; the harness pops and pushes until the
 * queue is empty or broken and checks what the walker promises: chains no
 * longer than the queue, heads inside the table, readable before writable
 * segments, no buffer end that wraps, and no access outside RAM (the fake
 * aborts on a request that overflows, AddressSanitizer on a stray one).
 *
 * Build and run by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *       fuzz/fuzz_virtqueue.c vmm/virtio/virtqueue.c -o fuzz_virtqueue
 *   ./fuzz_virtqueue -max_total_time=300
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "vmm/gmem.h"
#include "vmm/virtio/virtqueue.h"

#define RAM_BASE	0x10000ULL
#define RAM_SIZE	0x10000ULL

struct gmem_handle {
	uint8_t ram[RAM_SIZE];
	unsigned long reads, writes;
};

static struct gmem_handle fake;

static bool in_ram(uint64_t gpa, size_t len)
{
	if (gpa + len < gpa)
		abort();	/* the walker must never ask for a wrapping range */
	return gpa >= RAM_BASE && gpa + len <= RAM_BASE + RAM_SIZE;
}

bool gmem_read(struct gmem_handle *h, uint64_t gpa, void *buf, size_t len)
{
	if (!in_ram(gpa, len))
		return false;
	memcpy(buf, h->ram + (gpa - RAM_BASE), len);
	h->reads++;
	return true;
}

bool gmem_write(struct gmem_handle *h, uint64_t gpa, const void *buf, size_t len)
{
	if (!in_ram(gpa, len))
		return false;
	memcpy(h->ram + (gpa - RAM_BASE), buf, len);
	h->writes++;
	return true;
}

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain chain;
	struct virtq vq = { .mem = &fake };
	const char *why = NULL;
	uint8_t sel;

	vq.size = 1u << (take(&data, &size, 1) % 10);		/* 1 .. 512, some too large */
	sel = take(&data, &size, 1);
	/* Mostly ring addresses inside RAM, sometimes anywhere. */
	vq.desc = sel & 1 ? take(&data, &size, 8) : RAM_BASE + (take(&data, &size, 2) & 0xfff0);
	vq.avail = sel & 2 ? take(&data, &size, 8) : RAM_BASE + (take(&data, &size, 2) & 0xfffe);
	vq.used = sel & 4 ? take(&data, &size, 8) : RAM_BASE + (take(&data, &size, 2) & 0xfffc);
	vq.event_idx = sel & 8;
	memset(fake.ram, 0, sizeof(fake.ram));
	memcpy(fake.ram, data, size < RAM_SIZE ? size : RAM_SIZE);
	if (!virtq_config_valid(&vq, &why))
		return 0;
	virtq_start(&vq);
	vq.last_avail = vq.used_idx = take(&data, &size, 2);
	for (unsigned round = 0; round < 2 * VIRTQ_MAX_SIZE; round++) {
		enum virtq_result r = virtq_pop(&vq, &chain, &why);
		uint8_t buf[256];
		bool seen_write = false;

		if (r == VIRTQ_BROKEN) {
			if (!why)
				abort();
			break;
		}
		if (r == VIRTQ_EMPTY) {
			if (!virtq_arm(&vq, &why))
				break;
			continue;
		}
		if (chain.nr == 0 || chain.nr > vq.size || chain.head >= vq.size)
			abort();
		for (unsigned i = 0; i < chain.nr; i++) {
			if (chain.seg[i].gpa + chain.seg[i].len < chain.seg[i].gpa)
				abort();
			if (seen_write && !chain.seg[i].write)
				abort();
			seen_write |= chain.seg[i].write;
		}
		if (virtq_chain_read(&vq, &chain, 0, buf, sizeof(buf)) > (long)sizeof(buf))
			abort();
		if (!virtq_push(&vq, chain.head, (uint32_t)chain.write_len, &why))
			break;
		virtq_should_interrupt(&vq);
	}
	return 0;
}
