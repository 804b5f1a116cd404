/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_QMP_BALLOON_H
#define VMM_CONTROL_QMP_BALLOON_H

#include <stddef.h>
#include <stdint.h>

/*
 * The hook through which a balloon device (virtio-balloon) serves QMP's
 * query-balloon and balloon. Until one registers, both commands fail with
 * DeviceNotActive, as in QEMU without a balloon.
 */
struct qmp_balloon_ops {
	/* Guest RAM minus the balloon, in bytes ("actual"). */
	uint64_t (*actual)(void *opaque);
	/*
	 * Ask the guest for `target` bytes of RAM; 0, or -1 with the reason in
	 * why[]. The device calls qmp_balloon_changed() when the guest has
	 * moved the balloon.
	 */
	int (*set_target)(void *opaque, uint64_t target, char *why, size_t len);
};

/* Called once by the device at start-up (before or after qmp_start). */
void qmp_balloon_register(const struct qmp_balloon_ops *ops, void *opaque);
/* Queue BALLOON_CHANGE {"actual": bytes}; any thread. */
void qmp_balloon_changed(uint64_t actual_bytes);

#endif
