// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one-line pager status of `vmm ctl PATH top` and `vmm run
 * --status-line`, computed from x-query-pager replies (the same JSON in
 * both), so the two cannot disagree.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "vmm/control/qmp_command.h"
#include "vmm/control/status_line.h"
#include "vmm/util.h"

static double field(json_t *o, const char *name)
{
	return o ? (double)json_integer_value(json_object_get(o, name)) : 0;
}

void status_line_format(json_t *now, json_t *prev, char *buf, size_t len)
{
	const double mib = MiB / PAGE_SIZE;
	double dt = prev ? (field(now, "elapsed_ms") - field(prev, "elapsed_ms")) / 1000 : 0;
	const char *state = json_string_value(json_object_get(now, "state"));
	int n;

	n = snprintf(buf, len, "resident %.0f/%.0f MiB  swapped %.0f MiB  p99 fault %.0f us",
		     field(now, "resident_pages") / mib, field(now, "resident_limit_pages") / mib,
		     field(now, "swapped_pages") / mib, field(now, "fault_p99_ns") / 1000);
	if (dt > 0 && n >= 0 && (size_t)n < len) {
		double faults = field(now, "faults_missing") + field(now, "faults_minor") -
				field(prev, "faults_missing") - field(prev, "faults_minor");

		n += snprintf(buf + n, len - n, "  %.0f faults/s  swap out %.1f in %.1f MiB/s",
			      faults / dt,
			      (field(now, "swap_bytes_written") - field(prev, "swap_bytes_written")) /
			      dt / MiB,
			      (field(now, "swap_bytes_read") - field(prev, "swap_bytes_read")) / dt / MiB);
	}
	if (state && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, "  %s", state);
}

static struct {
	struct vm *vm;
	pthread_t thread;
	atomic_bool stop;
	bool started;
} sl;

static void *status_thread(void *arg)
{
	bool tty = isatty(STDERR_FILENO);
	json_t *prev = NULL;
	char line[256];

	pthread_setname_np(pthread_self(), "status-line");
	while (!atomic_load(&sl.stop)) {
		struct qmp_error err;
		json_t *now = qmp_execute_local(sl.vm, "x-query-pager", NULL, &err);

		if (!now) {
			vmm_err("--status-line: the pager status is not available (%s)", err.desc);
			break;
		}
		status_line_format(now, prev, line, sizeof(line));
		fprintf(stderr, tty ? "\r\033[K%s" : "%s\n", line);
		fflush(stderr);
		json_decref(prev);
		prev = now;
		for (int i = 0; i < 10 && !atomic_load(&sl.stop); i++)
			usleep(100000);
	}
	if (tty && prev)
		fputs("\r\033[K", stderr);
	json_decref(prev);
	return NULL;
}

int status_line_start(struct vm *vm)
{
	sl.vm = vm;
	if (pthread_create(&sl.thread, NULL, status_thread, NULL)) {
		vmm_err("--status-line: cannot start its thread");
		return -1;
	}
	sl.started = true;
	return 0;
}

void status_line_stop(void)
{
	if (!sl.started)
		return;
	atomic_store(&sl.stop, true);
	pthread_join(sl.thread, NULL);
	sl.started = false;
}
