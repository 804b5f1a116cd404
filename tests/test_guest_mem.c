// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of vmm/guest_mem.c's huge-page policy (issue 10, point 5):
 * guest RAM stays at 4 KiB pages, because a hole punched inside a large
 * folio that cannot be split is only zeroed, not freed. guest_mem_init
 * marks the mapping MADV_NOHUGEPAGE (checked in /proc/self/smaps: VmFlags
 * "nh") and refuses to start where the host's shmem THP policy is "force",
 * which overrides that. The policy file is pointed at files of the test's
 * own for each value the kernel knows; the host's real file is read too.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/guest_mem.h"

#define SIZE (4ULL << 20)

static char policy[64];
static const char *host_policy;		/* guest_mem_shmem_thp_path as built */

/* A policy file of our own, with @selected in brackets among the kernel's values. */
static void policy_file(const char *selected)
{
	static const char *const values[] = {
		"always", "within_size", "advise", "never", "deny", "force",
	};
	FILE *f;

	snprintf(policy, sizeof(policy), "%s/test-guest-mem-XXXXXX",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_int_ge(mkstemp(policy), 0);
	f = fopen(policy, "w");
	ck_assert_ptr_nonnull(f);
	for (unsigned i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		fprintf(f, strcmp(values[i], selected) ? "%s%s" : "%s[%s]", i ? " " : "", values[i]);
	fprintf(f, "\n");
	fclose(f);
	guest_mem_shmem_thp_path = policy;
}

static void teardown(void)
{
	if (policy[0])
		unlink(policy);
	policy[0] = 0;
	guest_mem_shmem_thp_path = host_policy;
}

/* The VmFlags of the mapping that starts at @base, from /proc/self/smaps. */
static bool vm_flags(const void *base, char *flags, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f)) {
		uintptr_t start, end;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2)
			in = start == (uintptr_t)base;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, len, "%s", line + 8);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* guest_mem_init succeeds, and its mapping does not take huge pages. */
static void check_accepted(void)
{
	struct guest_mem mem;
	char flags[512];

	ck_assert_int_eq(guest_mem_init(&mem, SIZE), 0);
	ck_assert_msg(vm_flags(mem.base, flags, sizeof(flags)), "guest RAM not in smaps");
	ck_assert_msg(strstr(flags, " nh"), "guest RAM may take huge pages (VmFlags:%s)", flags);
	ck_assert_msg(!strstr(flags, " hg"), "guest RAM asks for huge pages (VmFlags:%s)", flags);
	guest_mem_destroy(&mem);
}

START_TEST(test_forced_shmem_thp_is_refused)
{
	struct guest_mem mem;

	policy_file("force");
	errno = 0;
	ck_assert_int_eq(guest_mem_init(&mem, SIZE), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(mem.fd, -1);
	ck_assert_ptr_null(mem.base);
}
END_TEST

static const char *const accepted[] = { "always", "within_size", "advise", "never", "deny" };

START_TEST(test_other_policies_start_without_huge_pages)
{
	policy_file(accepted[_i]);
	check_accepted();
}
END_TEST

START_TEST(test_no_policy_file_starts_without_huge_pages)
{
	/* A kernel without transparent huge pages has no such file. */
	guest_mem_shmem_thp_path = "/nonexistent/shmem_enabled";
	check_accepted();
}
END_TEST

START_TEST(test_the_hosts_policy_is_obeyed)
{
	FILE *f = fopen(guest_mem_shmem_thp_path, "r");
	char line[128] = "";
	struct guest_mem mem;

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	if (strstr(line, "[force]")) {
		ck_assert_int_eq(guest_mem_init(&mem, SIZE), -1);
		ck_assert_int_eq(errno, EINVAL);
	} else {
		check_accepted();
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *tc = tcase_create("huge pages");
	SRunner *sr;
	int failed;

	host_policy = guest_mem_shmem_thp_path;
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_the_hosts_policy_is_obeyed);
	tcase_add_test(tc, test_forced_shmem_thp_is_refused);
	tcase_add_loop_test(tc, test_other_policies_start_without_huge_pages, 0,
			    sizeof(accepted) / sizeof(accepted[0]));
	tcase_add_test(tc, test_no_policy_file_starts_without_huge_pages);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
