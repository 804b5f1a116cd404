// SPDX-License-Identifier: GPL-2.0-only
/*
 * The multiboot command line, copied at boot (the loader's copy lies in
 * memory the test may overwrite) and split into words. Multiboot loaders
 * (GRUB, QEMU, vmm) put the image's path first: a leading word with a '/'
 * and no '=' is that path and is skipped.
 */
#include "runtime.h"
#include "setup.h"

#define ARGS_MAX	64

static char args_buf[1024];
static const char *args[ARGS_MAX];
static unsigned int args_n;

void args_init(const char *cmdline)
{
	size_t len = MIN(strlen(cmdline), sizeof(args_buf) - 1);
	char *p = args_buf;

	memcpy(args_buf, cmdline, len);
	args_buf[len] = 0;
	for (;;) {
		char *w;

		while (*p == ' ' || *p == '\t')
			*p++ = 0;
		if (!*p)
			break;
		w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (args_n < ARGS_MAX)
			args[args_n++] = w;
	}
	if (args_n) {
		bool has_slash = false, has_eq = false;

		for (const char *c = args[0]; *c; c++) {
			has_slash |= *c == '/';
			has_eq |= *c == '=';
		}
		if (has_slash && !has_eq) {
			args_n--;
			for (unsigned int i = 0; i < args_n; i++)
				args[i] = args[i + 1];
		}
	}
}

unsigned int arg_count(void)
{
	return args_n;
}

const char *arg_word(unsigned int i)
{
	return i < args_n ? args[i] : NULL;
}

const char *arg_str(const char *key, const char *def)
{
	size_t k = strlen(key);

	for (unsigned int i = 0; i < args_n; i++)
		if (!strncmp(args[i], key, k) && args[i][k] == '=')
			return args[i] + k + 1;
	return def;
}

uint64_t arg_u64(const char *key, uint64_t def)
{
	const char *s = arg_str(key, NULL), *p;
	unsigned int base = 10;
	uint64_t v = 0;

	if (!s)
		return def;
	p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		goto bad;
	for (; *p; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			goto bad;
		v = v * base + d;
	}
	return v;
bad:
	printf("bad number in argument %s=%s\n", key, s);
	exit(EXIT_FAIL);
}

bool arg_flag(const char *word)
{
	for (unsigned int i = 0; i < args_n; i++)
		if (!strcmp(args[i], word))
			return true;
	return false;
}
