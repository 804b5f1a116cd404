// SPDX-License-Identifier: GPL-2.0-only
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "vmm/control/control.h"
#include "vmm/exit_status.h"
#include "vmm/options.h"
#include "vmm/util.h"
#include "vmm/vm.h"

/*
 * SIGINT or SIGTERM while the VM is being built (reading images, creating
 * guest RAM and the swap file): nothing has run yet and everything the VMM
 * created is unnamed (memfd, O_TMPFILE), so leaving at once loses nothing.
 * Only async-signal-safe calls here.
 */
static void setup_signal_handler(int sig)
{
	static const char intr[] = "vmm: SIGINT received during set-up: exiting\n";
	static const char term[] = "vmm: SIGTERM received during set-up: exiting\n";

	if (!vmm_quiet) {
		if (sig == SIGINT)
			(void)!write(STDERR_FILENO, intr, sizeof(intr) - 1);
		else
			(void)!write(STDERR_FILENO, term, sizeof(term) - 1);
	}
	_exit(VMM_EXIT_SIGNAL);
}

/*
 * Tests only: VMM_TEST_SETUP_STALL makes set-up wait for a signal, so that
 * a test can send one at a known point of set-up.
 */
static void setup_test_stall(void)
{
	if (!getenv("VMM_TEST_SETUP_STALL"))
		return;
	vmm_err("set-up stalled until a signal arrives (VMM_TEST_SETUP_STALL)");
	for (;;)
		pause();
}

static int cmd_run(int argc, char **argv)
{
	struct sigaction setup_sa = { .sa_handler = setup_signal_handler };
	struct vm_config cfg;
	struct vm vm;
	sigset_t block, stop;
	int status;

	switch (options_parse_run(argc, argv, &cfg)) {
	case OPTIONS_EXIT_OK:
		options_free(&cfg);
		return 0;
	case OPTIONS_ERROR:
		options_free(&cfg);
		return VMM_EXIT_USAGE;
	case OPTIONS_RUN:
		break;
	}
	/*
	 * A closed output pipe must not kill the VMM and lose the guest's
	 * verdict: writes to it fail with EPIPE instead, and the serial port
	 * drops the guest's output from then on (README, "Exit status").
	 */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Every thread inherits this mask: the monitor takes SIGINT, SIGTERM
	 * and its SIGUSR2 wake-up with sigtimedwait; vCPU threads unblock only
	 * SIGUSR1, their kick. During set-up the main thread alone lets SIGINT
	 * and SIGTERM through, to setup_signal_handler.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	block = stop;
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &setup_sa, NULL);
	sigaction(SIGTERM, &setup_sa, NULL);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);

	if (vm_create(&vm, &cfg)) {
		vm_destroy(&vm);
		options_free(&cfg);
		return VMM_EXIT_USAGE;
	}
	setup_test_stall();
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);

	if (control_start(&vm)) {
		control_stop(VMM_EXIT_USAGE);
		vm_destroy(&vm);
		options_free(&cfg);
		return VMM_EXIT_USAGE;
	}
	status = vm_run(&vm);
	control_stop(status);
	io_debug_summary();
	vm_destroy(&vm);
	options_free(&cfg);
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
