// SPDX-License-Identifier: GPL-2.0-only
/* The pager's messages and clocks (pager/util.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pager/util.h"

static pager_log_fn log_fn;
static void *log_opaque;

void pager_log_set(pager_log_fn fn, void *opaque)
{
	log_fn = fn;
	log_opaque = opaque;
}

static void pager_vlog(enum pager_log_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_fn) {
		log_fn(log_opaque, level, buf);
		return;
	}
	n = strlen(buf);
	/* One write per message keeps lines from different threads whole. */
	if (n < (int)sizeof(buf) - 1) {
		buf[n++] = '\n';
		buf[n] = 0;
	}
	(void)!write(STDERR_FILENO, buf, n);
}

void pager_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pager_vlog(PAGER_LOG_ERR, fmt, ap);
	va_end(ap);
}

void pager_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pager_vlog(PAGER_LOG_INFO, fmt, ap);
	va_end(ap);
}

uint64_t pager_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct timespec pager_deadline_ns(uint64_t ns)
{
	uint64_t t = pager_now_ns() + ns;

	return (struct timespec){ .tv_sec = t / 1000000000ULL, .tv_nsec = t % 1000000000ULL };
}

void pager_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}
