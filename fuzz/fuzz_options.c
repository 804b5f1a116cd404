// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the option parser (vmm/options.c): the input is
 * the command line after `vmm run`, one argument per line (a final newline
 * ends the last one). A parse either
 * fails (after a message), stops after --help/--version, or fills a
 * configuration that keeps the parser's promises: values in range, an
 * IMAGE, the pager's settings only with --mem-resident.
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "vmm/options.h"
#include "vmm/util.h"

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Every refused option prints a line on stderr, --help and --version print
 * on stdout: keep libFuzzer's output readable by closing both for the code
 * under test (-close_fd_mask=3; libFuzzer and the sanitizers keep a copy
 * of stderr for their own reports).
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *args[256];
	static char quiet[] = "-close_fd_mask=3";
	int n = *argc < 255 ? *argc : 255;

	memcpy(args, *argv, n * sizeof(*args));
	args[n++] = quiet;
	args[n] = NULL;
	*argc = n;
	*argv = args;
	return 0;
}

static bool points_into(const char *p, const char *buf, size_t len)
{
	return (uintptr_t)p >= (uintptr_t)buf && (uintptr_t)p < (uintptr_t)buf + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 3], *p;
	struct vm_config cfg;
	enum options_result r;
	int argc = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size && buf[size - 1] == '\n')	/* the text seeds end their last line */
		size--;
	buf[size] = 0;
	argv[argc++] = "vmm";
	argv[argc++] = "run";
	argv[argc++] = buf;
	for (p = buf; argc < MAX_ARGS + 2 && (p = strchr(p, '\n')); argv[argc++] = p)
		*p++ = 0;
	argv[argc] = NULL;
	vmm_quiet = vmm_debug = false;

	r = options_parse_run(argc, argv, &cfg);
	fuzz_check(r == OPTIONS_RUN || r == OPTIONS_EXIT_OK || r == OPTIONS_ERROR);
	if (r == OPTIONS_RUN) {
		fuzz_check(cfg.image && points_into(cfg.image, buf, size + 1));
		fuzz_check(cfg.cpus >= 1 && cfg.cpus <= VMM_MAX_CPUS);
		fuzz_check(cfg.mem >= 2 * MiB && cfg.mem % PAGE_SIZE == 0);
		fuzz_check(cfg.nr_modules <= VMM_MAX_MODULES);
		fuzz_check(cfg.timeout >= 0);
		if (cfg.mem_resident) {
			fuzz_check(cfg.mem_resident % PAGE_SIZE == 0);
			fuzz_check(cfg.swap_dir && cfg.pager_threads >= 1);
		} else {
			fuzz_check(!cfg.swap_dir && !cfg.stats_file && !cfg.pager_threads);
		}
	}
	/* Whatever the result, the parser's allocations are the caller's to free. */
	options_free(&cfg);
	free(buf);
	return 0;
}
