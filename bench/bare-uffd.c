// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/bare-uffd: the bare userfaultfd mechanism, the limit any pager
 * built on it can reach. It builds and runs the VM exactly as `vmm run`
 * does (libvmm's option parser, vm_create and vm_run, the same guest), but
 * without the pager: guest RAM is registered with a userfaultfd of its own
 * and every fault is resolved by a minimal handler, one page per fault,
 * with no store and no state, as KVM selftests' demand_paging_test does:
 *
 *   zero      MISSING  -> UFFDIO_ZEROPAGE
 *   copy      MISSING  -> UFFDIO_COPY of one prototype page
 *   continue  MINOR    -> UFFDIO_CONTINUE (every page of the memfd is
 *             allocated and the mapping zapped before the guest starts,
 *             so every first touch is a minor fault)
 *
 * The prototype page is all zeros: guest memory the runtime uses outside
 * the benchmark's region must read as zero, and UFFDIO_COPY's cost does not
 * depend on the bytes it copies.
 *
 * Usage: bare-uffd zero|copy|continue [vmm run OPTIONS] IMAGE [-- ARGS]
 * One handler thread per vCPU (as the pager's default --pager-threads),
 * all reading the one userfaultfd. Prints the fault count on stderr.
 * Exit status: the VM's, as vmm's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/exit_status.h"
#include "vmm/options.h"
#include "vmm/util.h"
#include "vmm/vm.h"

enum bare_mode { BARE_ZERO, BARE_COPY, BARE_CONTINUE };

static struct {
	enum bare_mode mode;
	int uffd, stop_fd;
	uint8_t *base;
	uint8_t *proto;
	atomic_ulong faults, errors;
} bare;

static void bare_resolve(uint64_t addr)
{
	uint64_t page = addr & ~(uint64_t)(PAGE_SIZE - 1);
	int ret;

	switch (bare.mode) {
	case BARE_ZERO: {
		struct uffdio_zeropage z = { .range = { .start = page, .len = PAGE_SIZE } };

		ret = ioctl(bare.uffd, UFFDIO_ZEROPAGE, &z);
		break;
	}
	case BARE_COPY: {
		struct uffdio_copy c = { .dst = page, .src = (uintptr_t)bare.proto,
					 .len = PAGE_SIZE };

		ret = ioctl(bare.uffd, UFFDIO_COPY, &c);
		break;
	}
	default: {
		struct uffdio_continue c = { .range = { .start = page, .len = PAGE_SIZE } };

		ret = ioctl(bare.uffd, UFFDIO_CONTINUE, &c);
		break;
	}
	}
	/* EEXIST: another thread resolved the same page first. */
	if (ret < 0 && errno != EEXIST)
		atomic_fetch_add(&bare.errors, 1);
	atomic_fetch_add(&bare.faults, 1);
}

static void *bare_thread(void *arg)
{
	struct uffd_msg msgs[16];

	(void)arg;
	pthread_setname_np(pthread_self(), "bare-fault");
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = bare.uffd, .events = POLLIN },
			{ .fd = bare.stop_fd, .events = POLLIN },
		};
		ssize_t r;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		r = read(bare.uffd, msgs, sizeof(msgs));
		if (r < 0)
			continue;	/* EAGAIN: another thread took it */
		for (size_t i = 0; i < r / sizeof(msgs[0]); i++)
			if (msgs[i].event == UFFD_EVENT_PAGEFAULT)
				bare_resolve(msgs[i].arg.pagefault.address);
	}
	return NULL;
}

static int bare_setup(struct vm *vm)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MISSING_SHMEM };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)vm->mem.base, .len = vm->mem.size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	bare.base = vm->mem.base;
	bare.proto = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!bare.proto)
		return -1;
	memset(bare.proto, 0, PAGE_SIZE);
	if (bare.mode == BARE_CONTINUE) {
		/* Every page in the memfd, none mapped: each first touch is MINOR. */
		if (fallocate(vm->mem.fd, 0, 0, vm->mem.size) < 0 ||
		    madvise(vm->mem.base, vm->mem.size, MADV_DONTNEED) < 0) {
			vmm_err("bare-uffd: cannot populate and zap guest RAM: %s", strerror(errno));
			return -1;
		}
		api.features = UFFD_FEATURE_MINOR_SHMEM;
		reg.mode = UFFDIO_REGISTER_MODE_MINOR;
	}
	bare.uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (bare.uffd < 0 || ioctl(bare.uffd, UFFDIO_API, &api) < 0 ||
	    ioctl(bare.uffd, UFFDIO_REGISTER, &reg) < 0) {
		vmm_err("bare-uffd: userfaultfd set-up: %s", strerror(errno));
		return -1;
	}
	bare.stop_fd = eventfd(0, EFD_CLOEXEC);
	return bare.stop_fd < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	sigset_t block;
	pthread_t threads[64];
	unsigned nthreads;
	int status;

	if (argc < 2 || (strcmp(argv[1], "zero") && strcmp(argv[1], "copy") &&
			 strcmp(argv[1], "continue"))) {
		fprintf(stderr, "usage: bare-uffd zero|copy|continue [vmm run OPTIONS] IMAGE [-- ARGS]\n");
		return VMM_EXIT_USAGE;
	}
	bare.mode = !strcmp(argv[1], "zero") ? BARE_ZERO :
		    !strcmp(argv[1], "copy") ? BARE_COPY : BARE_CONTINUE;
	/* argv[1] (the mode) stands where `run` stands for vmm. */
	switch (options_parse_run(argc, argv, &cfg)) {
	case OPTIONS_EXIT_OK:
		return 0;
	case OPTIONS_ERROR:
		return VMM_EXIT_USAGE;
	case OPTIONS_RUN:
		break;
	}
	if (cfg.mem_resident) {
		vmm_err("bare-uffd: --mem-resident: the bare mechanism runs without the pager");
		return VMM_EXIT_USAGE;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);

	if (vm_create(&vm, &cfg) || bare_setup(&vm)) {
		vm_destroy(&vm);
		return VMM_EXIT_USAGE;
	}
	nthreads = cfg.cpus < 64 ? cfg.cpus : 64;
	for (unsigned i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, bare_thread, NULL)) {
			vmm_err("bare-uffd: cannot start a handler thread");
			return VMM_EXIT_INTERNAL;
		}
	status = vm_run(&vm);
	(void)!write(bare.stop_fd, &(uint64_t){ 1 }, sizeof(uint64_t));
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	fprintf(stderr, "bare-uffd: mode=%s faults=%lu errors=%lu\n", argv[1],
		atomic_load(&bare.faults), atomic_load(&bare.errors));
	vm_destroy(&vm);
	return status;
}
