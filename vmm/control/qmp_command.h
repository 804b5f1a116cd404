/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_QMP_COMMAND_H
#define VMM_CONTROL_QMP_COMMAND_H

#include <jansson.h>
#include <stdbool.h>

struct vm;

/* The QEMU error classes (qapi/error.json) this server uses. */
#define QMP_ERR_GENERIC		"GenericError"
#define QMP_ERR_NOT_FOUND	"CommandNotFound"
#define QMP_ERR_DEVICE_INACTIVE	"DeviceNotActive"

struct qmp_error {
	const char *cls;	/* one of QMP_ERR_* */
	char desc[256];
};

void qmp_error_set(struct qmp_error *err, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A request in flight: which client asked, and its "id". Opaque. */
struct qmp_request;

/*
 * Take over REQ: the handler then returns QMP_DEFERRED and answers later,
 * from any thread, with exactly one qmp_complete(). The reply goes to the
 * client if it is still connected.
 */
struct qmp_request *qmp_defer(struct qmp_request *req);
/* RESULT (stolen) is the "return" value, or NULL with ERR set. */
void qmp_complete(struct qmp_request *req, json_t *result, const struct qmp_error *err);

/* A handler's return value meaning "qmp_complete() will answer". */
#define QMP_DEFERRED ((json_t *)-1)

/*
 * A command handler: ARGS is the "arguments" object, already checked
 * against the command's argument list (names, types, presence). Returns
 * the "return" value (a new reference: an object, or an array for
 * query-cpus-fast), NULL with ERR set, or QMP_DEFERRED. Runs on the server
 * thread, so it must not block: a command that waits defers.
 */
typedef json_t *(*qmp_handler_fn)(struct vm *vm, json_t *args, struct qmp_request *req,
				  struct qmp_error *err);

struct qmp_arg {
	const char *name;
	json_type type;		/* JSON_INTEGER, JSON_STRING, JSON_TRUE (any boolean), ... */
	bool optional;
};

#define QMP_MAX_ARGS 4

struct qmp_command {
	const char *name;
	qmp_handler_fn fn;
	struct qmp_arg args[QMP_MAX_ARGS];	/* ends at the first name == NULL */
};

/* Command tables, each ended by an entry with name == NULL. */
extern const struct qmp_command qmp_vm_commands[];	/* cmd_vm.c */
extern const struct qmp_command qmp_balloon_commands[];	/* cmd_balloon.c */
extern const struct qmp_command qmp_pager_commands[];	/* cmd_pager.c */

/* Find NAME in the tables; NULL if no such command. */
const struct qmp_command *qmp_command_find(const char *name);

/*
 * Check ARGS (NULL: none given) against CMD's argument list, then run it.
 * The result is as for qmp_handler_fn.
 */
json_t *qmp_command_run(const struct qmp_command *cmd, struct vm *vm, json_t *args,
			struct qmp_request *req, struct qmp_error *err);

/*
 * Run command NAME in-process (vmm run --status-line): no client, so a
 * command that would defer is refused. Returns as qmp_handler_fn.
 */
json_t *qmp_execute_local(struct vm *vm, const char *name, json_t *args, struct qmp_error *err);

#endif
