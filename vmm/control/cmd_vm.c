// SPDX-License-Identifier: GPL-2.0-only
/*
 * QMP commands about the VM as a whole, with QEMU's names and replies:
 * query-status, stop, cont, quit, system_reset, query-cpus-fast,
 * query-memory-size-summary; and the STOP and RESUME events.
 *
 * This VMM ends on a guest reset (exit status 0, QEMU's -no-reboot), so
 * system_reset does what QEMU -no-reboot does with it: the VM shuts down,
 * with one SHUTDOWN event whose reason is "host-qmp-system-reset", and no
 * RESET event (QEMU sends RESET only when the machine really resets).
 */
#include "vmm/control/qmp.h"
#include "vmm/control/qmp_command.h"
#include "vmm/exit_status.h"
#include "vmm/vm.h"

#define STOP_WAIT_MS 2000	/* how long stop waits for the vCPUs to park */

static json_t *query_status(struct vm *vm, json_t *args, struct qmp_request *req,
			    struct qmp_error *err)
{
	bool paused = vm_paused(vm), ending = vm_stopping(vm);
	const char *status = ending ? "shutdown" : paused ? "paused" : "running";

	return json_pack("{s:b,s:b,s:s}", "running", !paused && !ending, "singlestep", 0,
			 "status", status);
}

/*
 * The reply comes once every vCPU is parked outside KVM_RUN (QEMU's
 * pause_all_vcpus), so a client that reads {"return": {}} knows the guest
 * no longer runs. STOP is sent once, on the running -> paused change.
 */
static json_t *stop(struct vm *vm, json_t *args, struct qmp_request *req, struct qmp_error *err)
{
	bool was_paused = atomic_load(&vm->pause_reasons) & VM_PAUSE_USER;

	if (vm_pause(vm, VM_PAUSE_USER, STOP_WAIT_MS)) {
		vm_resume(vm, VM_PAUSE_USER);
		qmp_error_set(err, QMP_ERR_GENERIC, "the vCPUs did not stop within %u ms "
			      "(a vCPU is blocked in the kernel, e.g. on a guest page)", STOP_WAIT_MS);
		return NULL;
	}
	if (!was_paused)
		qmp_event("STOP", NULL);
	return json_object();
}

static json_t *cont(struct vm *vm, json_t *args, struct qmp_request *req, struct qmp_error *err)
{
	bool was_paused = atomic_load(&vm->pause_reasons) & VM_PAUSE_USER;

	vm_resume(vm, VM_PAUSE_USER);
	if (was_paused)
		qmp_event("RESUME", NULL);
	return json_object();
}

static json_t *quit(struct vm *vm, json_t *args, struct qmp_request *req, struct qmp_error *err)
{
	/* Exit status 0, as QEMU's quit; the SHUTDOWN event follows the reply. */
	qmp_set_shutdown_cause("host-qmp-quit", 0);
	vm_request_stop(vm, VMM_EXIT_RESET);
	return json_object();
}

static json_t *system_reset(struct vm *vm, json_t *args, struct qmp_request *req,
			    struct qmp_error *err)
{
	/* A reset ends this VMM with status 0 (see above). */
	qmp_set_shutdown_cause("host-qmp-system-reset", 0);
	vm_request_stop(vm, VMM_EXIT_RESET);
	return json_object();
}

static json_t *query_cpus_fast(struct vm *vm, json_t *args, struct qmp_request *req,
			       struct qmp_error *err)
{
	json_t *list = json_array();

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		char qom[48];

		snprintf(qom, sizeof(qom), "/machine/unattached/device[%u]", i);
		json_array_append_new(list, json_pack(
			"{s:i,s:s,s:i,s:{s:i,s:i,s:i},s:s}", "cpu-index", (int)i, "qom-path", qom,
			"thread-id", atomic_load(&vm->vcpus[i].tid), "props", "socket-id", (int)i,
			"core-id", 0, "thread-id", 0, "target", "x86_64"));
	}
	return list;
}

static json_t *query_memory_size_summary(struct vm *vm, json_t *args, struct qmp_request *req,
					 struct qmp_error *err)
{
	return json_pack("{s:I,s:I}", "base-memory", (json_int_t)vm->cfg->mem,
			 "plugged-memory", (json_int_t)0);
}

const struct qmp_command qmp_vm_commands[] = {
	{ .name = "query-status", .fn = query_status },
	{ .name = "stop", .fn = stop },
	{ .name = "cont", .fn = cont },
	{ .name = "quit", .fn = quit },
	{ .name = "system_reset", .fn = system_reset },
	{ .name = "query-cpus-fast", .fn = query_cpus_fast },
	{ .name = "query-memory-size-summary", .fn = query_memory_size_summary },
	{ .name = NULL },
};
