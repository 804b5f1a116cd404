// SPDX-License-Identifier: GPL-2.0-only
/*
 * QMP balloon commands (QEMU's query-balloon and balloon) and the
 * BALLOON_CHANGE event. The balloon device registers itself with
 * qmp_balloon_register(); without one, both commands answer as QEMU does
 * without a balloon: DeviceNotActive, "No balloon device has been
 * activated".
 */
#include <stdatomic.h>

#include "vmm/control/qmp.h"
#include "vmm/control/qmp_balloon.h"
#include "vmm/control/qmp_command.h"

static _Atomic(const struct qmp_balloon_ops *) balloon_ops;
static void *balloon_opaque;

void qmp_balloon_register(const struct qmp_balloon_ops *ops, void *opaque)
{
	balloon_opaque = opaque;
	atomic_store(&balloon_ops, ops);
}

void qmp_balloon_changed(uint64_t actual_bytes)
{
	qmp_event("BALLOON_CHANGE", json_pack("{s:I}", "actual", (json_int_t)actual_bytes));
}

static const struct qmp_balloon_ops *balloon(struct qmp_error *err)
{
	const struct qmp_balloon_ops *ops = atomic_load(&balloon_ops);

	if (!ops)
		qmp_error_set(err, QMP_ERR_DEVICE_INACTIVE, "No balloon device has been activated");
	return ops;
}

static json_t *query_balloon(struct vm *vm, json_t *args, struct qmp_request *req,
			     struct qmp_error *err)
{
	const struct qmp_balloon_ops *ops = balloon(err);

	if (!ops)
		return NULL;
	return json_pack("{s:I}", "actual", (json_int_t)ops->actual(balloon_opaque));
}

static json_t *set_balloon(struct vm *vm, json_t *args, struct qmp_request *req,
			   struct qmp_error *err)
{
	const struct qmp_balloon_ops *ops = balloon(err);
	json_int_t value = json_integer_value(json_object_get(args, "value"));

	if (!ops)
		return NULL;
	if (value <= 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'value' expects a size");
		return NULL;
	}
	if (ops->set_target(balloon_opaque, value, err->desc, sizeof(err->desc))) {
		err->cls = QMP_ERR_GENERIC;
		return NULL;
	}
	return json_object();
}

const struct qmp_command qmp_balloon_commands[] = {
	{ .name = "query-balloon", .fn = query_balloon },
	{ .name = "balloon", .fn = set_balloon, .args = { { .name = "value", .type = JSON_INTEGER } } },
	{ .name = NULL },
};
