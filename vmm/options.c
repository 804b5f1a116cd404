// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "vmm/exit_status.h"
#include "vmm/util.h"

#define MIN_MEM (2 * MiB)
#define MAX_MEM (1024 * GiB)

#define MIN_RESIDENT (1 * MiB)

enum {
	OPT_CPUID_HOST = 0x100,
	OPT_DEBUG,
	OPT_MEM_RESIDENT,
	OPT_SWAP_DIR,
	OPT_SWAP_FILE,
	OPT_PAGER_THREADS,
	OPT_STATS,
	OPT_INITRD,
	OPT_APPEND,
};

static const struct option run_options[] = {
	{ "cpus", required_argument, NULL, 'c' },
	{ "mem", required_argument, NULL, 'm' },
	{ "module", required_argument, NULL, 'M' },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "timeout", required_argument, NULL, 't' },
	{ "mem-resident", required_argument, NULL, OPT_MEM_RESIDENT },
	{ "swap-dir", required_argument, NULL, OPT_SWAP_DIR },
	{ "swap-file", required_argument, NULL, OPT_SWAP_FILE },
	{ "pager-threads", required_argument, NULL, OPT_PAGER_THREADS },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "cpuid-host", no_argument, NULL, OPT_CPUID_HOST },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

void options_usage(FILE *f)
{
	fprintf(f,
"Usage: vmm run [OPTIONS] IMAGE [-- GUEST COMMAND LINE]\n"
"       vmm --help | --version\n"
"\n"
"Run IMAGE in a KVM virtual machine: a multiboot v1 ELF image, a Linux\n"
"bzImage (64-bit boot protocol), or a Linux ELF vmlinux with a PVH note.\n"
"The guest's serial port (COM1) is connected to standard output, and to\n"
"standard input when that is a terminal or a pipe. The guest command line\n"
"defaults to \"console=ttyS0 reboot=k panic=-1\" for Linux.\n"
"\n"
"Options:\n"
"  -c, --cpus N         number of vCPUs (default 1)\n"
"  -m, --mem SIZE       guest RAM (default 256M); suffixes K, M, G, T;\n"
"                       a bare number means MiB. RAM above 3 GiB is placed\n"
"                       at 4 GiB, past the 32-bit hole\n"
"  -M, --module FILE[ ARGS]\n"
"                       load FILE as a multiboot module (repeatable); the\n"
"                       whole argument is the module's string\n"
"      --initrd FILE    load FILE as a Linux kernel's initrd (initramfs)\n"
"      --append STRING  the guest command line (instead of '-- ARGS')\n"
"  -t, --timeout SECS   stop the guest after SECS seconds\n"
"      --mem-resident SIZE\n"
"                       keep at most SIZE of guest RAM in host memory and\n"
"                       swap the rest to a file (default: no limit, pager off)\n"
"      --swap-dir DIR   directory of the swap file, which is unnamed and\n"
"                       gone when vmm exits (default $TMPDIR or /var/tmp)\n"
"      --swap-file PATH swap to PATH instead: a block device (used up to its\n"
"                       size), or a new or empty regular file (removed or\n"
"                       emptied at exit); any other file is refused\n"
"      --pager-threads N\n"
"                       fault service threads (default: one per vCPU, at\n"
"                       most one per host CPU)\n"
"      --stats FILE     write the pager's statistics as JSON to FILE every\n"
"                       second and at exit\n"
"  -q, --quiet          print only the guest's output and errors\n"
"      --debug          log accesses to ports and MMIO that no device claims,\n"
"                       and where the loader put things (e820 map, initrd)\n"
"      --cpuid-host     pass the host's CPUID through; by default features\n"
"                       that this host's KVM cannot run in guest ring 0\n"
"                       (cx16, xsave, avx*, popcnt, rdtscp, ...) are hidden\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Exit status:\n"
"  (v << 1) | 1  the guest wrote v to the exit port 0xf4 (1 pass, 3 fail, 77 skip)\n"
"  %3d           the guest requested a reset (i8042 0xfe, port 0xcf9)\n"
"  %3d           bad option, image, or host set-up (e.g. no /dev/kvm)\n"
"  %3d           triple fault\n"
"  %3d           KVM internal error or unexpected exit (registers are printed)\n"
"  %3d           every vCPU halted with interrupts disabled\n"
"  %3d           --timeout expired\n"
"  %3d           SIGINT or SIGTERM\n"
"  %3d           a guest page could not be restored from swap\n",
		VMM_EXIT_RESET, VMM_EXIT_USAGE, VMM_EXIT_TRIPLE_FAULT, VMM_EXIT_INTERNAL,
		VMM_EXIT_HALTED, VMM_EXIT_TIMEOUT, VMM_EXIT_SIGNAL, VMM_EXIT_MEMORY);
}

static bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0) || v > 1e9)
		return false;
	*out = v;
	return true;
}

static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static bool add_module(struct vm_config *cfg, char *arg)
{
	char *path;

	if (cfg->nr_modules == VMM_MAX_MODULES) {
		vmm_err("--module: at most %d modules", VMM_MAX_MODULES);
		return false;
	}
	if (!*arg) {
		vmm_err("--module: empty file name");
		return false;
	}
	path = strndup(arg, strcspn(arg, " "));
	if (!path)
		return false;
	cfg->modules[cfg->nr_modules++] = (struct vm_module){ .path = path, .string = arg };
	return true;
}

enum options_result options_parse_run(int argc, char **argv, struct vm_config *cfg)
{
	int c;

	/* Skip "run"; optind = 0 makes glibc start a fresh scan at argv[1]. */
	argc--;
	argv++;
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->mem = 256 * MiB;
	/* "+" stops at IMAGE so that the guest's words stay the guest's. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:m:M:t:qhV", run_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!parse_uint(optarg, 1, VMM_MAX_CPUS, &cfg->cpus)) {
				vmm_err("--cpus '%s': expected a whole number from 1 to %d",
					optarg, VMM_MAX_CPUS);
				return OPTIONS_ERROR;
			}
			break;
		case 'm':
			if (!parse_size(optarg, &cfg->mem)) {
				vmm_err("--mem '%s': expected a size such as 512M or 4G", optarg);
				return OPTIONS_ERROR;
			}
			if (cfg->mem < MIN_MEM || cfg->mem > MAX_MEM || cfg->mem % PAGE_SIZE) {
				vmm_err("--mem '%s': guest RAM must be a multiple of 4 KiB "
					"from 2 MiB to 1 TiB", optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_MEM_RESIDENT:
			if (!parse_size(optarg, &cfg->mem_resident) || cfg->mem_resident < MIN_RESIDENT) {
				vmm_err("--mem-resident '%s': expected a size of at least 1M, "
					"such as 64M or 1G", optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_SWAP_DIR:
			cfg->swap_dir = optarg;
			break;
		case OPT_SWAP_FILE:
			if (!*optarg) {
				vmm_err("--swap-file: empty file name");
				return OPTIONS_ERROR;
			}
			cfg->swap_file = optarg;
			break;
		case OPT_PAGER_THREADS:
			if (!parse_uint(optarg, 1, 256, &cfg->pager_threads)) {
				vmm_err("--pager-threads '%s': expected a whole number from 1 to 256",
					optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_STATS:
			cfg->stats_file = optarg;
			break;
		case 'M':
			if (!add_module(cfg, optarg))
				return OPTIONS_ERROR;
			break;
		case OPT_INITRD:
			if (!*optarg) {
				vmm_err("--initrd: empty file name");
				return OPTIONS_ERROR;
			}
			cfg->initrd = optarg;
			break;
		case OPT_APPEND:
			cfg->cmdline = optarg;
			break;
		case 't':
			if (!parse_seconds(optarg, &cfg->timeout)) {
				vmm_err("--timeout '%s': expected a number of seconds", optarg);
				return OPTIONS_ERROR;
			}
			break;
		case 'q':
			vmm_quiet = true;
			break;
		case OPT_DEBUG:
			vmm_debug = true;
			break;
		case OPT_CPUID_HOST:
			cfg->cpuid_host = true;
			break;
		case 'h':
			options_usage(stdout);
			return OPTIONS_EXIT_OK;
		case 'V':
			printf("vmm %s\n", PACKAGE_VERSION);
			return OPTIONS_EXIT_OK;
		case ':':
			vmm_err("option '%s' needs a value (see vmm --help)", argv[optind - 1]);
			return OPTIONS_ERROR;
		default:
			vmm_err("unknown option '%s' (see vmm --help)", argv[optind - 1]);
			return OPTIONS_ERROR;
		}
	}
	if (optind >= argc) {
		vmm_err("no IMAGE given (usage: vmm run [OPTIONS] IMAGE [-- ARGS])");
		return OPTIONS_ERROR;
	}
	if (cfg->swap_file && (cfg->swap_dir || !cfg->mem_resident)) {
		vmm_err("--swap-file needs --mem-resident, and replaces --swap-dir");
		return OPTIONS_ERROR;
	}
	if (cfg->mem_resident || cfg->stats_file || cfg->swap_dir || cfg->pager_threads) {
		if (!cfg->mem_resident) {
			vmm_err("--stats, --swap-dir and --pager-threads need --mem-resident");
			return OPTIONS_ERROR;
		}
		cfg->mem_resident &= ~(PAGE_SIZE - 1);
		if (!cfg->swap_dir)
			cfg->swap_dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
		if (!cfg->pager_threads) {
			long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

			cfg->pager_threads = cfg->cpus < ncpu || ncpu < 1 ? cfg->cpus : (unsigned)ncpu;
		}
	}
	cfg->image = argv[optind++];
	if (optind < argc) {
		if (strcmp(argv[optind], "--")) {
			vmm_err("unexpected argument '%s' after IMAGE: options go before IMAGE, "
				"the guest command line after '--'", argv[optind]);
			return OPTIONS_ERROR;
		}
		optind++;
		if (cfg->cmdline) {
			vmm_err("give the guest command line either with --append or after "
				"'--', not both");
			return OPTIONS_ERROR;
		}
		cfg->cmdline = join_args(argc - optind, argv + optind);
		if (!cfg->cmdline)
			return OPTIONS_ERROR;
	}
	return OPTIONS_RUN;
}
