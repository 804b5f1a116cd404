// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of the command-line layer: sizes, options, the guest command line. */
#include <check.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/options.h"
#include "vmm/util.h"

static enum options_result parse(struct vm_config *cfg, ...)
{
	char *argv[32] = { "vmm", "run" };
	int argc = 2;
	va_list ap;
	char *a;

	va_start(ap, cfg);
	while ((a = va_arg(ap, char *)))
		argv[argc++] = a;
	va_end(ap);
	return options_parse_run(argc, argv, cfg);
}

START_TEST(size_suffixes_are_binary_and_bare_numbers_are_mib)
{
	uint64_t v;

	ck_assert(parse_size("256M", &v) && v == 256 * MiB);
	ck_assert(parse_size("4G", &v) && v == 4 * GiB);
	ck_assert(parse_size("4GiB", &v) && v == 4 * GiB);
	ck_assert(parse_size("512k", &v) && v == 512 * KiB);
	ck_assert(parse_size("1T", &v) && v == 1024 * GiB);
	ck_assert(parse_size("8192B", &v) && v == 8192);
	ck_assert(parse_size("64", &v) && v == 64 * MiB);
}
END_TEST

START_TEST(malformed_sizes_are_rejected)
{
	uint64_t v;

	ck_assert(!parse_size("", &v));
	ck_assert(!parse_size("M", &v));
	ck_assert(!parse_size("-1G", &v));
	ck_assert(!parse_size("1.5G", &v));
	ck_assert(!parse_size("12Q", &v));
	ck_assert(!parse_size("4GG", &v));
	ck_assert(!parse_size("99999999999999999999", &v));
	ck_assert(!parse_size("20000000000T", &v));
	ck_assert(!parse_size(NULL, &v));
}
END_TEST

START_TEST(defaults_are_one_cpu_and_256m)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse(&cfg, "guest.elf", NULL), OPTIONS_RUN);
	ck_assert_str_eq(cfg.image, "guest.elf");
	ck_assert_uint_eq(cfg.cpus, 1);
	ck_assert_uint_eq(cfg.mem, 256 * MiB);
	ck_assert_ptr_null(cfg.cmdline);
	ck_assert(cfg.timeout == 0);
	ck_assert(!cfg.cpuid_host);
}
END_TEST

START_TEST(options_and_guest_command_line_are_parsed)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse(&cfg, "--cpus", "2", "--mem=1G", "--module", "a.bin x=1",
			       "-M", "b.bin", "--timeout", "2.5", "--cpuid-host", "img.elf",
			       "--", "fail", "--cpus", "9", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(cfg.cpus, 2);
	ck_assert_uint_eq(cfg.mem, GiB);
	ck_assert_uint_eq(cfg.nr_modules, 2);
	ck_assert_str_eq(cfg.modules[0].path, "a.bin");
	ck_assert_str_eq(cfg.modules[0].string, "a.bin x=1");
	ck_assert_str_eq(cfg.modules[1].path, "b.bin");
	ck_assert(cfg.timeout == 2.5);
	ck_assert(cfg.cpuid_host);
	ck_assert_str_eq(cfg.image, "img.elf");
	/* Words after "--" belong to the guest even when they look like options. */
	ck_assert_str_eq(cfg.cmdline, "fail --cpus 9");
}
END_TEST

START_TEST(bad_option_values_are_errors)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse(&cfg, "--cpus", "0", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--cpus", "256", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--cpus", "two", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--mem", "1M", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--mem", "4097K", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--mem", "lots", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--timeout", "-1", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--timeout", "soon", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--module", "", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--frobnicate", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "x.elf", "--mem", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--mem", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, NULL), OPTIONS_ERROR);
}
END_TEST

START_TEST(resident_limit_above_guest_ram_is_taken_as_all_of_it)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse(&cfg, "--mem", "1G", "--mem-resident", "2G", "x.elf", NULL),
			 OPTIONS_RUN);
	ck_assert_uint_eq(cfg.mem_resident, GiB);
	ck_assert_int_eq(parse(&cfg, "--mem-resident", "3G", "--mem", "1G", "x.elf", NULL),
			 OPTIONS_RUN);
	ck_assert_uint_eq(cfg.mem_resident, GiB);
	/* Equal is a 1:1 limit, kept as given; below is the ordinary case. */
	ck_assert_int_eq(parse(&cfg, "--mem", "1G", "--mem-resident", "1G", "x.elf", NULL),
			 OPTIONS_RUN);
	ck_assert_uint_eq(cfg.mem_resident, GiB);
	ck_assert_int_eq(parse(&cfg, "--mem", "1G", "--mem-resident", "256M", "x.elf", NULL),
			 OPTIONS_RUN);
	ck_assert_uint_eq(cfg.mem_resident, 256 * MiB);
}
END_TEST

/*
 * Bytes of heap blocks held in their own mappings: glibc maps every block
 * above its mmap threshold (128 KiB) apart and unmaps it on free, so this
 * counts exactly the large blocks not yet freed.
 */
static size_t mapped_heap(void)
{
	return mallinfo2().hblkhd;
}

START_TEST(options_free_releases_the_command_line_and_module_paths)
{
	size_t big = 512 * KiB, before;
	char *path = malloc(big), *word = malloc(big), *module = malloc(big + 3);
	struct vm_config cfg;

	memset(path, 'p', big - 1);
	path[big - 1] = 0;
	memset(word, 'w', big - 1);
	word[big - 1] = 0;
	snprintf(module, big + 3, "%s x", path);
	before = mapped_heap();

	ck_assert_int_eq(parse(&cfg, "-M", module, "x.elf", "--", word, NULL), OPTIONS_RUN);
	ck_assert_str_eq(cfg.modules[0].path, path);
	ck_assert_str_eq(cfg.cmdline, word);
	ck_assert_uint_ge(mapped_heap(), before + 2 * big);
	options_free(&cfg);
	ck_assert_uint_eq(mapped_heap(), before);

	ck_assert_int_eq(parse(&cfg, "--append", word, "x.elf", NULL), OPTIONS_RUN);
	ck_assert_str_eq(cfg.cmdline, word);
	options_free(&cfg);
	ck_assert_uint_eq(mapped_heap(), before);

	/* An error half-way leaves nothing behind either. */
	ck_assert_int_eq(parse(&cfg, "-M", module, "--cpus", "0", "x.elf", NULL), OPTIONS_ERROR);
	options_free(&cfg);
	ck_assert_uint_eq(mapped_heap(), before);
	free(path);
	free(word);
	free(module);
}
END_TEST

START_TEST(disks_are_repeatable_with_qemu_words)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse(&cfg, "--disk", "a.img", "--disk", "b.img,ro,serial=X1,cache=none",
			       "--disk=c.img,readonly=on,cache=writeback", "x.elf", NULL),
			 OPTIONS_RUN);
	ck_assert_uint_eq(cfg.nr_disks, 3);
	ck_assert_str_eq(cfg.disks[0].path, "a.img");
	ck_assert(!cfg.disks[0].ro && !cfg.disks[0].cache_none && !cfg.disks[0].serial);
	ck_assert_str_eq(cfg.disks[1].path, "b.img");
	ck_assert(cfg.disks[1].ro && cfg.disks[1].cache_none);
	ck_assert_str_eq(cfg.disks[1].serial, "X1");
	ck_assert(cfg.disks[2].ro && !cfg.disks[2].cache_none);
	ck_assert_int_eq(parse(&cfg, "--disk", "a.img,rw", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--disk", ",ro", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--disk", "", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--disk", "a.img,serial=123456789012345678901", "x.elf",
			       NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--disk", "a.img,cache=unsafe", "x.elf", NULL),
			 OPTIONS_ERROR);
}
END_TEST

START_TEST(soft_limit_and_swap_max_reach_the_pager_config)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse(&cfg, "--mem", "1G", "--mem-resident", "256M", "--mem-soft-limit",
			       "192M", "--swap-max", "2G", "x.elf", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(cfg.dom.soft_limit, 192 * MiB);
	ck_assert_uint_eq(cfg.dom.swap_limit, 2 * GiB);
	/* Without a resident limit there is no pager to give them to. */
	ck_assert_int_eq(parse(&cfg, "--mem-soft-limit", "192M", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--swap-max", "1G", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--mem-resident", "64M", "--swap-max", "1K", "x.elf", NULL),
			 OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--mem-resident", "64M", "--mem-soft-limit", "lots",
			       "x.elf", NULL), OPTIONS_ERROR);
}
END_TEST

START_TEST(balloon_takes_a_target_and_free_page_reporting)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse(&cfg, "x.elf", NULL), OPTIONS_RUN);
	ck_assert(!cfg.balloon);
	ck_assert_int_eq(parse(&cfg, "--balloon", "x.elf", NULL), OPTIONS_RUN);
	ck_assert(cfg.balloon);
	ck_assert(cfg.balloon_reporting);
	ck_assert_uint_eq(cfg.balloon_target, 0);
	/* The target is checked against --mem even when --mem comes after. */
	ck_assert_int_eq(parse(&cfg, "--balloon=512M,free-page-reporting=off", "--mem", "1G",
			       "x.elf", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(cfg.balloon_target, 512 << 20);
	ck_assert(!cfg.balloon_reporting);
	ck_assert_int_eq(parse(&cfg, "--balloon=free-page-reporting=on", "x.elf", NULL),
			 OPTIONS_RUN);
	ck_assert(cfg.balloon_reporting);
	ck_assert_uint_eq(cfg.balloon_target, 0);
}
END_TEST

START_TEST(bad_balloon_values_are_errors)
{
	struct vm_config cfg;

	ck_assert_int_eq(parse(&cfg, "--balloon=1G", "x.elf", NULL), OPTIONS_ERROR);	/* > 256M */
	ck_assert_int_eq(parse(&cfg, "--balloon=4097K", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--balloon=lots", "x.elf", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--balloon=4M,free-page-reporting=maybe", "x.elf", NULL),
			 OPTIONS_ERROR);
	ck_assert_int_eq(parse(&cfg, "--balloon=4M,8M", "x.elf", NULL), OPTIONS_ERROR);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("vmm options");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, size_suffixes_are_binary_and_bare_numbers_are_mib);
	tcase_add_test(tc, malformed_sizes_are_rejected);
	tcase_add_test(tc, defaults_are_one_cpu_and_256m);
	tcase_add_test(tc, options_and_guest_command_line_are_parsed);
	tcase_add_test(tc, bad_option_values_are_errors);
	tcase_add_test(tc, resident_limit_above_guest_ram_is_taken_as_all_of_it);
	tcase_add_test(tc, options_free_releases_the_command_line_and_module_paths);
	tcase_add_test(tc, balloon_takes_a_target_and_free_page_reporting);
	tcase_add_test(tc, disks_are_repeatable_with_qemu_words);
	tcase_add_test(tc, soft_limit_and_swap_max_reach_the_pager_config);
	tcase_add_test(tc, bad_balloon_values_are_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(options_suite());
	int failed;

	/* The option parser prints its errors on stderr; keep the log readable. */
	vmm_quiet = true;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
