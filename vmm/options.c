// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "vmm/domain.h"
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
	OPT_SWAP_FULL_OVERSHOOT,
	OPT_INITRD,
	OPT_APPEND,
	OPT_BALLOON,
	OPT_QMP,
	OPT_DOMAIN,
	OPT_STATUS_LINE,
	OPT_DISK,
	OPT_MEM_SOFT_LIMIT,
	OPT_SWAP_MAX,
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
	{ "balloon", optional_argument, NULL, OPT_BALLOON },
	{ "swap-full-overshoot", required_argument, NULL, OPT_SWAP_FULL_OVERSHOOT },
	{ "qmp", required_argument, NULL, OPT_QMP },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "status-line", no_argument, NULL, OPT_STATUS_LINE },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "mem-soft-limit", required_argument, NULL, OPT_MEM_SOFT_LIMIT },
	{ "swap-max", required_argument, NULL, OPT_SWAP_MAX },
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
"       vmm run [OPTIONS] --domain FILE.xml [IMAGE] [-- GUEST COMMAND LINE]\n"
"       vmm ctl [--pretty] SOCKET COMMAND [KEY=VALUE ...]   (see vmm ctl --help)\n"
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
"      --balloon[=SIZE][,free-page-reporting=on|off]\n"
"                       a virtio-balloon PCI device; SIZE (default 0) is the\n"
"                       initial target, the RAM the guest should give back;\n"
"                       free page reporting is on unless turned off\n"
"      --swap-full-overshoot SIZE\n"
"                       while the swap store cannot take pages (full, write\n"
"                       errors), let guest RAM grow at most SIZE past\n"
"                       --mem-resident, then pause the vCPUs that need a new\n"
"                       page until slots free up (default: a quarter of\n"
"                       --mem-resident, at least 16M)\n"
"      --mem-soft-limit SIZE\n"
"                       start background reclaim once SIZE of guest RAM is\n"
"                       resident, when that is below where the resident\n"
"                       limit starts it (libvirt's <soft_limit>)\n"
"      --swap-max SIZE  the swap store holds at most SIZE; past it, it is full\n"
"                       (see --swap-full-overshoot; libvirt's <swap_hard_limit>)\n"
"      --qmp PATH       serve QMP on the Unix socket PATH (mode 0600); QEMU's\n"
"                       unix:PATH,server=on,wait=off is accepted too\n"
"      --domain FILE.xml\n"
"                       take the VM's settings from a libvirt domain XML\n"
"                       file; options given on the command line win\n"
"      --status-line    print the pager's status once a second on stderr\n"
"      --disk FILE[,ro][,serial=ID][,cache=none|writeback]\n"
"                       a virtio-blk PCI device over FILE, a raw image (a\n"
"                       regular file or a block device; repeatable); ro: read-\n"
"                       only; serial: what GET_ID returns (20 bytes at most);\n"
"                       cache=none opens FILE with O_DIRECT\n"
"  -q, --quiet          print only the guest's output and errors\n"
"      --debug          log accesses to ports and MMIO that no device claims\n"
"                       (the first 8 per address, then a count at exit),\n"
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

/* --disk FILE[,ro][,serial=ID][,cache=none|writeback] (QEMU's words) */
bool options_add_disk(struct vm_config *cfg, const char *arg)
{
	char *s, *save = NULL, *tok;
	struct vm_disk *d = &cfg->disks[cfg->nr_disks];

	if (cfg->nr_disks == VMM_MAX_DISKS) {
		vmm_err("--disk: at most %d disks", VMM_MAX_DISKS);
		return false;
	}
	if (*arg == ',' || !*arg) {
		vmm_err("--disk '%s': no file name", arg);
		return false;
	}
	s = strdup(arg);	/* d->path points at its start: options_free frees it */
	if (!s)
		return false;
	*d = (struct vm_disk){ 0 };
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!d->path) {
			d->path = tok;
		} else if (!strcmp(tok, "ro") || !strcmp(tok, "readonly=on")) {
			d->ro = true;
		} else if (!strcmp(tok, "readonly=off")) {
			d->ro = false;
		} else if (!strncmp(tok, "serial=", 7)) {
			if (strlen(tok + 7) > 20) {
				vmm_err("--disk '%s': the serial is at most 20 characters", arg);
				goto fail;
			}
			d->serial = tok + 7;
		} else if (!strcmp(tok, "cache=none") || !strcmp(tok, "cache=writeback")) {
			d->cache_none = !strcmp(tok, "cache=none");
		} else {
			vmm_err("--disk '%s': unknown '%s' (expected ro, serial=ID, "
				"cache=none or cache=writeback)", arg, tok);
			goto fail;
		}
	}
	cfg->nr_disks++;
	return true;
fail:
	free(s);
	*d = (struct vm_disk){ 0 };
	return false;
}

/* --balloon[=SIZE][,free-page-reporting=on|off] */
static bool parse_balloon(const char *arg, struct vm_config *cfg)
{
	char *copy = strdup(arg ? arg : ""), *save = NULL, *tok;
	bool first = true, ok = true;

	cfg->balloon = true;
	cfg->balloon_reporting = true;
	for (tok = strtok_r(copy, ",", &save); ok && tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "free-page-reporting=", 20)) {
			const char *v = tok + 20;

			if (!strcmp(v, "on"))
				cfg->balloon_reporting = true;
			else if (!strcmp(v, "off"))
				cfg->balloon_reporting = false;
			else {
				vmm_err("--balloon: free-page-reporting '%s': expected on or off", v);
				ok = false;
			}
		} else if (first && parse_size(tok, &cfg->balloon_target)) {
			if (cfg->balloon_target % PAGE_SIZE || cfg->balloon_target > cfg->mem) {
				vmm_err("--balloon '%s': the target must be a multiple of 4 KiB "
					"and at most the guest's RAM", tok);
				ok = false;
			}
		} else {
			vmm_err("--balloon: '%s': expected a size such as 256M or "
				"free-page-reporting=on|off", tok);
			ok = false;
		}
		first = false;
	}
	free(copy);
	return ok;
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
	const char *balloon_arg = NULL;
	bool pager_opts;
	int c;

	/* Skip "run"; optind = 0 makes glibc start a fresh scan at argv[1]. */
	argc--;
	argv++;
	memset(cfg, 0, sizeof(*cfg));
	/* cpus and mem stay 0 until given, so that --domain fills only the rest. */
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
		case OPT_BALLOON:
			balloon_arg = optarg ? optarg : "";
			break;
		case OPT_SWAP_FULL_OVERSHOOT:
			if (!parse_size(optarg, &cfg->swap_full_overshoot) ||
			    cfg->swap_full_overshoot < PAGE_SIZE) {
				vmm_err("--swap-full-overshoot '%s': expected a size of at least 4K, "
					"such as 64M", optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_MEM_SOFT_LIMIT:
		case OPT_SWAP_MAX: {
			uint64_t *v = c == OPT_SWAP_MAX ? &cfg->dom.swap_limit : &cfg->dom.soft_limit;

			if (!parse_size(optarg, v) || *v < PAGE_SIZE) {
				vmm_err("--%s '%s': expected a size of at least 4K, such as 64M",
					c == OPT_SWAP_MAX ? "swap-max" : "mem-soft-limit", optarg);
				return OPTIONS_ERROR;
			}
			break;
		}
		case OPT_DISK:
			if (!options_add_disk(cfg, optarg))
				return OPTIONS_ERROR;
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
			free((char *)cfg->cmdline);
			cfg->cmdline = strdup(optarg);
			if (!cfg->cmdline)
				return OPTIONS_ERROR;
			break;
		case 't':
			if (!parse_seconds(optarg, &cfg->timeout)) {
				vmm_err("--timeout '%s': expected a number of seconds", optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_QMP:
			cfg->qmp = optarg;
			break;
		case OPT_DOMAIN:
			cfg->domain = optarg;
			break;
		case OPT_STATUS_LINE:
			cfg->status_line = true;
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
	/* With --domain, IMAGE may be left out: keep a "--" getopt took. */
	if (cfg->domain && optind > 0 && optind <= argc && !strcmp(argv[optind - 1], "--"))
		optind--;
	if (optind < argc && strcmp(argv[optind], "--"))
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
	/* Given on the command line (the domain's <memtune> may set them too). */
	pager_opts = cfg->dom.soft_limit || cfg->dom.swap_limit;
	if (cfg->domain && domain_apply(cfg->domain, cfg))
		return OPTIONS_ERROR;
	if (!cfg->image) {
		vmm_err("no IMAGE given (usage: vmm run [OPTIONS] IMAGE [-- ARGS])");
		return OPTIONS_ERROR;
	}
	if (!cfg->cpus)
		cfg->cpus = 1;
	if (!cfg->mem)
		cfg->mem = 256 * MiB;
	/* After the defaults: the target is checked against --mem, wherever that came. */
	if (balloon_arg && !parse_balloon(balloon_arg, cfg))
		return OPTIONS_ERROR;
	if (!balloon_arg && cfg->dom.balloon) {	/* <memballoon model='virtio'> */
		cfg->balloon = true;
		cfg->balloon_reporting = cfg->dom.free_page_reporting;
	}
	if (cfg->swap_file && (cfg->swap_dir || !cfg->mem_resident)) {
		vmm_err("--swap-file needs --mem-resident, and replaces --swap-dir");
		return OPTIONS_ERROR;
	}
	if (cfg->mem_resident || cfg->stats_file || cfg->swap_dir || cfg->pager_threads ||
	    cfg->swap_full_overshoot || pager_opts) {
		if (!cfg->mem_resident) {
			vmm_err("--stats, --swap-dir, --pager-threads, --swap-full-overshoot, "
				"--mem-soft-limit and --swap-max need --mem-resident");
			return OPTIONS_ERROR;
		}
		cfg->mem_resident &= ~(PAGE_SIZE - 1);
		/*
		 * A limit above guest RAM can never bind. Like a cgroup or
		 * libvirt <hard_limit> above what the guest can use, it is
		 * accepted, said so, and taken as all of guest RAM.
		 */
		if (cfg->mem_resident > cfg->mem) {
			vmm_info("--mem-resident %llu MiB is more than the guest's RAM "
				 "(--mem %llu MiB): the limit never binds and nothing is "
				 "swapped out", (unsigned long long)(cfg->mem_resident >> 20),
				 (unsigned long long)(cfg->mem >> 20));
			cfg->mem_resident = cfg->mem;
		}
		if (!cfg->swap_dir)
			cfg->swap_dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
		if (!cfg->pager_threads) {
			long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

			cfg->pager_threads = cfg->cpus < ncpu || ncpu < 1 ? cfg->cpus : (unsigned)ncpu;
		}
	}
	return OPTIONS_RUN;
}

void options_free(struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_modules; i++)
		free((char *)cfg->modules[i].path);
	cfg->nr_modules = 0;
	free((char *)cfg->cmdline);
	cfg->cmdline = NULL;
	for (unsigned i = 0; i < cfg->nr_disks; i++)
		free((char *)cfg->disks[i].path);
	cfg->nr_disks = 0;
}
