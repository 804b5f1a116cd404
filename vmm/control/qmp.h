/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_QMP_H
#define VMM_CONTROL_QMP_H

#include <jansson.h>

struct vm;

/*
 * The QMP server of `vmm run --qmp`: one Unix stream socket (mode 0600,
 * peers checked with SO_PEERCRED: the same uid or root), up to
 * QMP_MAX_CLIENTS clients at once, served by one thread with a poll()
 * loop. Commands are dispatched through the tables of qmp_command.h; a
 * command that waits completes later (qmp_complete) without holding the
 * loop. See docs/ and vmm(1) for the protocol as a client sees it.
 */
#define QMP_MAX_CLIENTS 16
#define QMP_MAX_MESSAGE (64 * 1024)	/* longest accepted request, bytes */

/*
 * Parse SPEC ("PATH" or QEMU's "unix:PATH[,server=on][,wait=off]"), create
 * the socket and start the server thread. 0, or -1 with a message printed.
 * A stale socket file left by a dead VMM is replaced; any other existing
 * file, or a socket somebody listens on, is refused.
 */
int qmp_start(struct vm *vm, const char *spec);

/*
 * The VM has ended with `status`: send SHUTDOWN, flush what is queued for
 * every client (bounded), close them, remove the socket, join the thread.
 * Does nothing when no server runs.
 */
void qmp_stop(int status);

/*
 * Queue event NAME with DATA (a JSON object, reference stolen; NULL for
 * none) for every client past capabilities negotiation, stamped now. Any
 * thread; never blocks on a client.
 */
void qmp_event(const char *name, json_t *data);

/*
 * Record why the VM is about to end (a QEMU ShutdownCause such as
 * "host-qmp-quit"), for the SHUTDOWN event; the first cause set wins.
 */
void qmp_set_shutdown_cause(const char *reason, int guest);

#endif
