// SPDX-License-Identifier: GPL-2.0-only
/*
 * This VMM's own QMP commands for the pager (x- prefix, as QMP reserves
 * for extensions): x-query-pager, x-set-resident-limit, x-swap-out,
 * x-swap-in; and the X_PAGER_ERROR event. They call the pager library's
 * control API (pager/pager.h).
 *
 * The three commands that change the pager can take long (reclaim down to
 * a new limit, a whole swap-out), so each runs on its own thread and
 * answers through qmp_complete(): the server thread and other clients go
 * on. One of them runs at a time (`busy`); a second gets GenericError.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/control/qmp.h"
#include "vmm/control/qmp_pager.h"
#include "vmm/control/qmp_command.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define SET_LIMIT_TIMEOUT_MS 60000	/* lowering gives up after this, with the reason */
#define MIN_LIMIT (1 * MiB)		/* as --mem-resident */

static atomic_bool busy;	/* a changing command's thread is running */

static struct pager *pager_of(struct vm *vm, struct qmp_error *err)
{
	if (!vm->pager)
		qmp_error_set(err, QMP_ERR_GENERIC, "the pager is off: this VM was started "
			      "without --mem-resident");
	return vm->pager;
}

static json_t *query_pager(struct vm *vm, json_t *args, struct qmp_request *req,
			   struct qmp_error *err)
{
	struct pager *pg = pager_of(vm, err);
	struct pager_status st;
	json_t *o;

	if (!pg)
		return NULL;
	pager_get_status(pg, &st);
	o = json_object();
	json_object_set_new(o, "state", json_string(st.state));
#define F(name) json_object_set_new(o, #name, json_integer((json_int_t)st.name))
	F(guest_pages); F(resident_limit_pages); F(resident_pages); F(resident_peak_pages);
	F(swapped_pages); F(swap_slots_in_use);
	F(faults_missing); F(faults_minor); F(fault_retries);
	F(pages_swapped_in); F(pages_swapped_out); F(clean_drops); F(zero_pages);
	F(balloon_pages); F(pages_reported_free);
	F(swap_bytes_written); F(swap_bytes_read);
	F(fault_p50_ns); F(fault_p99_ns); F(elapsed_ms);
	F(last_transition_pages); F(last_transition_ms);
#undef F
	return o;
}

enum job_kind { JOB_SET_LIMIT, JOB_SWAP_OUT, JOB_SWAP_IN };

struct job {
	enum job_kind kind;
	struct pager *pg;
	uint64_t pages;
	struct qmp_request *req;
};

static void *job_thread(void *arg)
{
	struct job *j = arg;
	struct qmp_error err = { .cls = QMP_ERR_GENERIC };
	json_t *ret = NULL;
	long n;

	pthread_setname_np(pthread_self(), "qmp-pager");
	switch (j->kind) {
	case JOB_SET_LIMIT:
		if (pager_set_limit(j->pg, j->pages, SET_LIMIT_TIMEOUT_MS, err.desc,
				    sizeof(err.desc)) == 0)
			ret = json_object();
		break;
	case JOB_SWAP_OUT:
	case JOB_SWAP_IN:
		n = j->kind == JOB_SWAP_OUT ? pager_swap_out(j->pg) : pager_swap_in(j->pg);
		if (n >= 0)
			ret = json_pack("{s:I}", "pages", (json_int_t)n);
		else
			snprintf(err.desc, sizeof(err.desc), "%s failed (see the VMM's messages)",
				 j->kind == JOB_SWAP_OUT ? "x-swap-out" : "x-swap-in");
		break;
	}
	atomic_store(&busy, false);
	qmp_complete(j->req, ret, &err);
	free(j);
	return NULL;
}

/* Start J on its own thread; the reply is deferred. */
static json_t *job_start(struct job *j, struct qmp_request *req, struct qmp_error *err)
{
	bool idle = false;
	pthread_attr_t attr;
	pthread_t t;

	if (!req) {
		qmp_error_set(err, QMP_ERR_GENERIC, "this command is only served on the QMP socket");
		return NULL;
	}
	if (!atomic_compare_exchange_strong(&busy, &idle, true)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "another x-set-resident-limit, x-swap-out "
			      "or x-swap-in is still running");
		return NULL;
	}
	j = memcpy(malloc(sizeof(*j)), j, sizeof(*j));
	j->req = qmp_defer(req);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, job_thread, j)) {
		pthread_attr_destroy(&attr);
		atomic_store(&busy, false);
		qmp_error_set(err, QMP_ERR_GENERIC, "cannot start a thread for the command");
		qmp_complete(j->req, NULL, err);
		free(j);
		return QMP_DEFERRED;
	}
	pthread_attr_destroy(&attr);
	return QMP_DEFERRED;
}

static json_t *set_resident_limit(struct vm *vm, json_t *args, struct qmp_request *req,
				  struct qmp_error *err)
{
	json_int_t bytes = json_integer_value(json_object_get(args, "bytes"));
	struct job j = { .kind = JOB_SET_LIMIT, .pg = pager_of(vm, err) };

	if (!j.pg)
		return NULL;
	if (bytes < (json_int_t)MIN_LIMIT || (uint64_t)bytes > vm->cfg->mem) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'bytes': %lld is not a resident "
			      "limit from 1 MiB to the guest's RAM (%llu bytes)", (long long)bytes,
			      (unsigned long long)vm->cfg->mem);
		return NULL;
	}
	j.pages = (uint64_t)bytes / PAGE_SIZE;
	return job_start(&j, req, err);
}

static json_t *swap_out(struct vm *vm, json_t *args, struct qmp_request *req,
			struct qmp_error *err)
{
	struct job j = { .kind = JOB_SWAP_OUT, .pg = pager_of(vm, err) };

	return j.pg ? job_start(&j, req, err) : NULL;
}

static json_t *swap_in(struct vm *vm, json_t *args, struct qmp_request *req,
		       struct qmp_error *err)
{
	struct job j = { .kind = JOB_SWAP_IN, .pg = pager_of(vm, err) };

	return j.pg ? job_start(&j, req, err) : NULL;
}

/*
 * The pager's events as X_PAGER_ERROR for clients (called by the VMM's
 * pager event callback, vmm/pager_vm.c, on pager threads). A full store
 * needs no pause here: the pager itself holds every fault that would grow
 * the resident set past the overshoot, so the vCPUs that need a new page
 * wait in their fault until slots free up, while the others run on.
 */
void qmp_pager_event(void *opaque, enum pager_event ev, uint64_t gpa, const char *msg)
{
	static const char *const kinds[] = {
		[PAGER_EVENT_WRITE_ERROR] = "write-error",
		[PAGER_EVENT_STORE_FULL] = "store-full",
		[PAGER_EVENT_STORE_OK] = "store-ok",
		[PAGER_EVENT_UNRESTORABLE] = "unrestorable",
	};
	(void)opaque;
	qmp_event("X_PAGER_ERROR", json_pack("{s:s,s:I,s:s}", "kind", kinds[ev], "gpa",
					      (json_int_t)gpa, "message", msg ? msg : ""));
}

const struct qmp_command qmp_pager_commands[] = {
	{ .name = "x-query-pager", .fn = query_pager },
	{ .name = "x-set-resident-limit", .fn = set_resident_limit,
	  .args = { { .name = "bytes", .type = JSON_INTEGER } } },
	{ .name = "x-swap-out", .fn = swap_out },
	{ .name = "x-swap-in", .fn = swap_in },
	{ .name = NULL },
};
