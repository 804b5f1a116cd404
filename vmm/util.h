/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define PAGE_SIZE 4096ULL
#define PAGE_SHIFT 12
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

/* Verbosity, set once from the command line before any thread starts. */
extern bool vmm_quiet;
extern bool vmm_debug;

/* "vmm: " + message on stderr. */
void vmm_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Informational message on stderr, suppressed by --quiet. */
void vmm_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug message on stderr, shown only with --debug. */
void vmm_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse a size such as "256M", "4G", "512K", "1073741824B".
 * A bare number means MiB (as QEMU's -m does). Returns false on a
 * malformed value or overflow.
 */
bool parse_size(const char *s, uint64_t *out);

/*
 * Read a whole regular file into a malloc'd buffer. Anything else (a
 * directory, a FIFO, a device, a socket) is refused without waiting for
 * it; on failure *why says why, e.g. "a FIFO, not a regular file".
 */
void *read_file(const char *path, size_t *len, const char **why);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

/*
 * The CLOCK_REALTIME instant @ns from now, as pthread_cond_timedwait and
 * pthread_timedjoin_np take it.
 */
struct timespec realtime_after_ns(uint64_t ns);

#endif
