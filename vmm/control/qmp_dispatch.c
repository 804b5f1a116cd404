// SPDX-License-Identifier: GPL-2.0-only
/*
 * QMP command dispatch: the command tables, argument checking with QEMU's
 * messages, and in-process execution. Each command group lives in its own
 * file (cmd_*.c) and contributes one table here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/control/qmp_command.h"

/*
 * Every command the server knows, table by table. The pager commands
 * (cmd_pager.c, qmp_pager_commands) join with one line when the pager
 * library's control API (pager/pager.h) is built in.
 */
static const struct qmp_command *const command_tables[] = {
	qmp_vm_commands,
	qmp_balloon_commands,
	qmp_pager_commands,
};

void qmp_error_set(struct qmp_error *err, const char *cls, const char *fmt, ...)
{
	va_list ap;

	err->cls = cls;
	va_start(ap, fmt);
	vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
	va_end(ap);
}

const struct qmp_command *qmp_command_find(const char *name)
{
	for (size_t t = 0; t < sizeof(command_tables) / sizeof(command_tables[0]); t++)
		for (const struct qmp_command *c = command_tables[t]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_STRING:
		return "string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	default:
		return "null";
	}
}

static bool type_matches(const json_t *v, json_type want)
{
	if (want == JSON_TRUE || want == JSON_FALSE)
		return json_is_boolean(v);
	if (want == JSON_REAL)
		return json_is_number(v);
	return json_typeof(v) == want;
}

static bool args_check(const struct qmp_command *cmd, json_t *args, struct qmp_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		const struct qmp_arg *a = cmd->args;

		while (a < cmd->args + QMP_MAX_ARGS && a->name && strcmp(a->name, key))
			a++;
		if (a == cmd->args + QMP_MAX_ARGS || !a->name) {
			qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is unexpected", key);
			return false;
		}
		if (!type_matches(v, a->type)) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Invalid parameter type for '%s', expected: %s", key,
				      type_name(a->type));
			return false;
		}
	}
	for (const struct qmp_arg *a = cmd->args; a < cmd->args + QMP_MAX_ARGS && a->name; a++) {
		if (!a->optional && !json_object_get(args, a->name)) {
			qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is missing", a->name);
			return false;
		}
	}
	return true;
}

json_t *qmp_command_run(const struct qmp_command *cmd, struct vm *vm, json_t *args,
			struct qmp_request *req, struct qmp_error *err)
{
	json_t *none = NULL, *ret;

	if (!args)
		args = none = json_object();
	ret = args_check(cmd, args, err) ? cmd->fn(vm, args, req, err) : NULL;
	json_decref(none);
	return ret;
}

json_t *qmp_execute_local(struct vm *vm, const char *name, json_t *args, struct qmp_error *err)
{
	const struct qmp_command *cmd = qmp_command_find(name);

	if (!cmd) {
		qmp_error_set(err, QMP_ERR_NOT_FOUND, "The command %s has not been found", name);
		return NULL;
	}
	/* req == NULL: a handler that needs to defer refuses instead. */
	return qmp_command_run(cmd, vm, args, NULL, err);
}
