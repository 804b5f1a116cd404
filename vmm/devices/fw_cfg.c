// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's fw_cfg, traditional (non-DMA) interface: a 16-bit selector at 0x510
 * and byte reads of the selected item at 0x511. The items are those of the
 * guest contract (docs/guest-contract.md): signature, interface id,
 * RAM size, CPU count,
 * max CPUs and max RAM.
 */
#include <pthread.h>
#include <string.h>

#include "vmm/devices/devices.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define FW_CFG_PORT		0x510
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_ID		0x01
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f
#define FW_CFG_MAX_RAM		0x11
#define FW_CFG_NR_KEYS		0x12

struct fw_cfg_item {
	uint8_t data[8];
	uint8_t len;
};

/*
 * fw_cfg.lock protects `selected` and `offset` (the guest's cursor); the
 * items are written once at start-up and read-only afterwards.
 */
static struct {
	pthread_mutex_t lock;
	uint16_t selected;
	uint32_t offset;
	struct fw_cfg_item items[FW_CFG_NR_KEYS];
} fw_cfg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void item_set(uint16_t key, uint64_t v, uint8_t len)
{
	for (unsigned i = 0; i < len; i++)
		fw_cfg.items[key].data[i] = v >> (8 * i);
	fw_cfg.items[key].len = len;
}

static void fw_cfg_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
		      bool is_write)
{
	pthread_mutex_lock(&fw_cfg.lock);
	if (off == 0) {
		if (is_write) {
			fw_cfg.selected = data[0] | (size > 1 ? data[1] << 8 : 0);
			fw_cfg.offset = 0;
		} else {
			memset(data, 0, size);
		}
	} else if (is_write) {
		/* The data port is read-only in this interface. */
	} else {
		for (unsigned i = 0; i < size; i++) {
			const struct fw_cfg_item *it = fw_cfg.selected < FW_CFG_NR_KEYS ?
				&fw_cfg.items[fw_cfg.selected] : NULL;

			data[i] = (it && fw_cfg.offset < it->len) ? it->data[fw_cfg.offset] : 0;
			fw_cfg.offset++;
		}
	}
	pthread_mutex_unlock(&fw_cfg.lock);
}

int fw_cfg_init(struct vm *vm)
{
	memcpy(fw_cfg.items[FW_CFG_SIGNATURE].data, "QEMU", 4);
	fw_cfg.items[FW_CFG_SIGNATURE].len = 4;
	item_set(FW_CFG_ID, 1, 4);
	item_set(FW_CFG_RAM_SIZE, vm->cfg->mem, 8);
	item_set(FW_CFG_NB_CPUS, vm->cfg->cpus, 2);
	item_set(FW_CFG_MAX_CPUS, vm->cfg->cpus, 2);
	item_set(FW_CFG_MAX_RAM, vm->cfg->mem, 8);
	return device_register_pio(vm, FW_CFG_PORT, 2, fw_cfg_io, NULL, "fw_cfg");
}
