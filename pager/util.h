/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef PAGER_UTIL_H
#define PAGER_UTIL_H

/*
 * What the pager library needs of its own: page constants, clocks and
 * messages. Messages go to the log callback of the configuration
 * (pager_log_set, once, before any pager thread runs), or to stderr.
 */
#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#ifndef PAGE_SIZE
#define PAGE_SIZE 4096ULL
#endif
#ifndef PAGE_SHIFT
#define PAGE_SHIFT 12
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

enum pager_log_level { PAGER_LOG_ERR, PAGER_LOG_INFO };
typedef void (*pager_log_fn)(void *opaque, enum pager_log_level level, const char *msg);

/* Route messages (NULL: stderr, prefixed "pager: "). Set before threads start. */
void pager_log_set(pager_log_fn fn, void *opaque);
void pager_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pager_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t pager_now_ns(void);
/* The CLOCK_MONOTONIC instant @ns from now, for condvars made by pager_cond_init. */
struct timespec pager_deadline_ns(uint64_t ns);

#include <pthread.h>
/* A condition variable that waits on CLOCK_MONOTONIC. */
void pager_cond_init(pthread_cond_t *cv);

#endif
