/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_VIRTIO_BALLOON_H
#define VMM_VIRTIO_BALLOON_H

#include <stdint.h>

struct vm;

/* The balloon on the PCI bus when --balloon was given; 0 or -1 with a message. */
int virtio_balloon_init(struct vm *vm);
/* A new target (bytes the guest should give up), e.g. from a control command. */
void virtio_balloon_set_target(uint64_t bytes);
/* One or two lines on stderr at exit: the balloon's counters and the guest's statistics. */
void virtio_balloon_summary(void);

#endif
