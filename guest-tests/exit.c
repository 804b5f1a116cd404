// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit: ends the VM with the status the command line asks for, so that the
 * exit device's encoding is checked end to end: status=pass (VM status 1),
 * fail (3) or skip (77), written from ring 3 (ring=3, the default) or from
 * ring 0 (ring=0).
 */
#include "runtime.h"

static long exit_user(void *arg)
{
	exit(*(int *)arg);
}

int main(void)
{
	const char *status = arg_str("status", "pass");
	uint64_t ring = arg_u64("ring", 3);
	int value;

	if (!strcmp(status, "pass"))
		value = EXIT_PASS;
	else if (!strcmp(status, "fail"))
		value = EXIT_FAIL;
	else if (!strcmp(status, "skip"))
		value = EXIT_SKIP;
	else {
		printf("exit: unknown status=%s (pass, fail, skip)\n", status);
		return 2;
	}
	printf("exit: writing %d (%s) to port 0xf4 from ring %lu\n", value, status, ring);
	if (ring == 3)
		user_run(exit_user, &value);
	exit(value);
}
