// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool vmm_quiet;
bool vmm_debug;

static void vmsg(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "vmm: ");

	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	/* One write per message keeps lines from different threads whole. */
	n = strlen(buf);
	if (n < (int)sizeof(buf) - 1 && buf[n - 1] != '\n') {
		buf[n++] = '\n';
		buf[n] = 0;
	}
	(void)!write(STDERR_FILENO, buf, n);
}

void vmm_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void vmm_info(const char *fmt, ...)
{
	va_list ap;

	if (vmm_quiet)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void vmm_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!vmm_debug)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

bool parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t mult = MiB;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (toupper((unsigned char)*end)) {
	case 0:
		break;
	case 'B':
		mult = 1;
		end++;
		break;
	case 'K':
		mult = KiB;
		end++;
		break;
	case 'M':
		mult = MiB;
		end++;
		break;
	case 'G':
		mult = GiB;
		end++;
		break;
	case 'T':
		mult = GiB * 1024;
		end++;
		break;
	default:
		return false;
	}
	/* Accept "4G", "4GB", "4GiB" alike. */
	if (mult != 1 && (!strcasecmp(end, "iB") || !strcasecmp(end, "B")))
		end += strlen(end);
	if (*end)
		return false;
	if (v > UINT64_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return strerror(EISDIR);
	if (S_ISFIFO(mode))
		return "a FIFO, not a regular file";
	if (S_ISCHR(mode))
		return "a character device, not a regular file";
	if (S_ISBLK(mode))
		return "a block device, not a regular file";
	if (S_ISSOCK(mode))
		return "a socket, not a regular file";
	return "not a regular file";
}

/*
 * Opened with O_NONBLOCK so that neither a FIFO without a writer nor a
 * file under a lease can make the open wait; only a regular file is read,
 * and a regular file's reads ignore O_NONBLOCK.
 */
void *read_file(const char *path, size_t *len, const char **why)
{
	struct stat st;
	char *buf;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		*why = strerror(errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = file_kind(st.st_mode);
		goto fail;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		*why = strerror(errno);
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + done, st.st_size - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*why = r ? strerror(errno) : "the file shrank while it was read";
			free(buf);
			goto fail;
		}
		done += r;
	}
	close(fd);
	*len = done;
	return buf;
fail:
	close(fd);
	return NULL;
}

struct timespec realtime_after_ns(uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns += ts.tv_nsec;
	ts.tv_sec += ns / 1000000000ULL;
	ts.tv_nsec = ns % 1000000000ULL;
	return ts;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
