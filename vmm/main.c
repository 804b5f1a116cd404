// SPDX-License-Identifier: GPL-2.0-only
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "vmm/control/control.h"
#include "vmm/exit_status.h"
#include "vmm/options.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	sigset_t block;
	int status;

	switch (options_parse_run(argc, argv, &cfg)) {
	case OPTIONS_EXIT_OK:
		return 0;
	case OPTIONS_ERROR:
		return VMM_EXIT_USAGE;
	case OPTIONS_RUN:
		break;
	}
	/*
	 * Every thread inherits this mask: the monitor takes SIGINT, SIGTERM
	 * and its SIGUSR2 wake-up with sigtimedwait; vCPU threads unblock only
	 * SIGUSR1, their kick.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);

	if (vm_create(&vm, &cfg)) {
		vm_destroy(&vm);
		return VMM_EXIT_USAGE;
	}
	if (control_start(&vm)) {
		control_stop(VMM_EXIT_USAGE);
		vm_destroy(&vm);
		return VMM_EXIT_USAGE;
	}
	status = vm_run(&vm);
	control_stop(status);
	vm_destroy(&vm);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc, argv);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		options_usage(stdout);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		printf("vmm %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc < 2)
		vmm_err("no command given");
	else
		vmm_err("unknown command '%s'", argv[1]);
	options_usage(stderr);
	return VMM_EXIT_USAGE;
}
