// SPDX-License-Identifier: GPL-2.0-only
/*
 * The QMP server: socket set-up, the client loop and QMP framing.
 *
 * One thread runs a poll() loop over the listening socket, an eventfd and
 * the clients. Requests are parsed from each client's byte stream with
 * jansson (JSON_DISABLE_EOF_CHECK: one value at a time, the rest stays
 * buffered) and dispatched (qmp_dispatch.c); replies and events are
 * queued on the client and written when the socket takes them, so a slow
 * client delays nobody. Other threads (events, deferred replies) hand
 * their text to the loop through `outq`.
 *
 * Locking: srv.lock protects outq and srv.stopping; it is never held
 * while writing to a socket or running a command. The client table is the
 * server thread's alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "vmm/control/qmp.h"
#include "vmm/control/qmp_command.h"
#include "vmm/control/qmp_socket.h"
#include "vmm/exit_status.h"
#include "vmm/util.h"

#define QMP_MAX_QUEUED	(1024 * 1024)	/* unread output before a client is dropped */
#define QMP_FLUSH_MS	1000		/* at exit, how long queued output may take */

struct qmp_client {
	int fd;
	uint64_t id;		/* never reused, so a late reply cannot reach a newcomer */
	bool negotiated;	/* qmp_capabilities done: commands and events */
	bool skipping;		/* after a malformed or oversized message: drop to the next newline */
	size_t in_len, out_len, out_cap;
	char *out;
	char in[QMP_MAX_MESSAGE];
};

struct qmp_request {
	uint64_t client;
	json_t *id;		/* the request's "id", or NULL */
};

/* Text queued for the loop: a reply for one client, or an event (client 0). */
struct qmp_outgoing {
	struct qmp_outgoing *next;
	uint64_t client;
	char *text;
};

static struct {
	struct vm *vm;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	int listen_fd, wake_fd;
	pthread_t thread;
	atomic_bool running;
	struct qmp_client *clients[QMP_MAX_CLIENTS];
	uint64_t next_client;
	pthread_mutex_t lock;
	struct qmp_outgoing *outq, **outq_tail;
	bool stopping;
	_Atomic(const char *) cause;	/* qmp_set_shutdown_cause */
	atomic_int cause_guest;
} srv = { .listen_fd = -1, .wake_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* The text of MSG (reference stolen) as QEMU frames it: compact, CRLF. */
static char *frame(json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER), *t = NULL;

	json_decref(msg);
	if (s && asprintf(&t, "%s\r\n", s) < 0)
		t = NULL;
	free(s);
	return t;
}

static void outq_push(uint64_t client, char *text)
{
	struct qmp_outgoing *o = text ? malloc(sizeof(*o)) : NULL;
	uint64_t one = 1;

	if (!o) {
		free(text);
		return;
	}
	*o = (struct qmp_outgoing){ .client = client, .text = text };
	pthread_mutex_lock(&srv.lock);
	if (!atomic_load(&srv.running) || srv.stopping) {
		pthread_mutex_unlock(&srv.lock);
		free(o->text);
		free(o);
		return;
	}
	*srv.outq_tail = o;
	srv.outq_tail = &o->next;
	pthread_mutex_unlock(&srv.lock);
	(void)!write(srv.wake_fd, &one, sizeof(one));
}

static json_t *error_reply(json_t *id, const struct qmp_error *err)
{
	json_t *r = json_pack("{s:{s:s,s:s}}", "error", "class", err->cls, "desc", err->desc);

	if (id)
		json_object_set(r, "id", id);
	return r;
}

static json_t *return_reply(json_t *id, json_t *result)
{
	json_t *r = json_pack("{s:o}", "return", result);

	if (id)
		json_object_set(r, "id", id);
	return r;
}

void qmp_event(const char *name, json_t *data)
{
	struct timeval tv;
	json_t *ev;

	gettimeofday(&tv, NULL);
	ev = json_pack("{s:s,s:{s:I,s:I}}", "event", name, "timestamp",
		       "seconds", (json_int_t)tv.tv_sec, "microseconds", (json_int_t)tv.tv_usec);
	if (data)
		json_object_set_new(ev, "data", data);
	outq_push(0, frame(ev));
}

void qmp_set_shutdown_cause(const char *reason, int guest)
{
	const char *none = NULL;

	if (atomic_compare_exchange_strong(&srv.cause, &none, reason))
		atomic_store(&srv.cause_guest, guest);
}

struct qmp_request *qmp_defer(struct qmp_request *req)
{
	struct qmp_request *r;

	if (!req)
		return NULL;
	r = malloc(sizeof(*r));
	if (r) {
		*r = *req;
		json_incref(r->id);
	}
	return r;
}

void qmp_complete(struct qmp_request *req, json_t *result, const struct qmp_error *err)
{
	outq_push(req->client, frame(result ? return_reply(req->id, result) : error_reply(req->id, err)));
	json_decref(req->id);
	free(req);
}

/* Append TEXT (taken) to C's output; false when C must be dropped. */
static bool client_queue(struct qmp_client *c, char *text)
{
	size_t len;

	if (!text)
		return true;
	len = strlen(text);
	if (c->out_len + len > QMP_MAX_QUEUED) {
		vmm_err("qmp: client %llu does not read its replies (%u KiB queued): disconnected",
			(unsigned long long)c->id, QMP_MAX_QUEUED / 1024);
		free(text);
		return false;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = (c->out_len + len) * 2;
		char *p = realloc(c->out, cap);

		if (!p) {
			free(text);
			return false;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out_len += len;
	free(text);
	return true;
}

/* Write what the socket takes now; false on a broken connection. */
static bool client_flush(struct qmp_client *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		memmove(c->out, c->out + n, c->out_len - n);
		c->out_len -= n;
	}
	return true;
}

static void client_close(int slot)
{
	struct qmp_client *c = srv.clients[slot];

	close(c->fd);
	free(c->out);
	free(c);
	srv.clients[slot] = NULL;
}

static bool client_error(struct qmp_client *c, json_t *id, const char *cls, const char *desc)
{
	struct qmp_error err;

	qmp_error_set(&err, cls, "%s", desc);
	return client_queue(c, frame(error_reply(id, &err)));
}

static bool capabilities(struct qmp_client *c, json_t *id, json_t *args)
{
	json_t *enable = args ? json_object_get(args, "enable") : NULL;
	const char *key;
	json_t *v;
	char msg[128];

	json_object_foreach(args, key, v) {
		if (strcmp(key, "enable")) {
			snprintf(msg, sizeof(msg), "Parameter '%s' is unexpected", key);
			return client_error(c, id, QMP_ERR_GENERIC, msg);
		}
	}
	if (enable && !json_is_array(enable))
		return client_error(c, id, QMP_ERR_GENERIC,
				    "Invalid parameter type for 'enable', expected: array");
	if (json_array_size(enable)) {
		/* The greeting offers none (no out-of-band execution). */
		v = json_array_get(enable, 0);
		snprintf(msg, sizeof(msg), "Capability '%s' not available",
			 json_is_string(v) ? json_string_value(v) : "?");
		return client_error(c, id, QMP_ERR_GENERIC, msg);
	}
	c->negotiated = true;
	return client_queue(c, frame(return_reply(id, json_object())));
}

/* One parsed message from C; false when C must be dropped. */
static bool client_handle(struct qmp_client *c, json_t *msg)
{
	struct qmp_request req = { .client = c->id };
	const struct qmp_command *cmd;
	struct qmp_error err;
	json_t *exec, *args, *id, *v, *ret;
	const char *key, *name;
	char desc[160];

	if (!json_is_object(msg))
		return client_error(c, NULL, QMP_ERR_GENERIC, "QMP input must be a JSON object");
	id = json_object_get(msg, "id");
	json_object_foreach(msg, key, v) {
		if (strcmp(key, "execute") && strcmp(key, "arguments") && strcmp(key, "id")) {
			snprintf(desc, sizeof(desc), "QMP input member '%.64s' is unexpected", key);
			return client_error(c, id, QMP_ERR_GENERIC, desc);
		}
	}
	exec = json_object_get(msg, "execute");
	args = json_object_get(msg, "arguments");
	if (!exec)
		return client_error(c, id, QMP_ERR_GENERIC, "QMP input lacks member 'execute'");
	if (!json_is_string(exec))
		return client_error(c, id, QMP_ERR_GENERIC,
				    "QMP input member 'execute' must be a string");
	if (args && !json_is_object(args))
		return client_error(c, id, QMP_ERR_GENERIC,
				    "QMP input member 'arguments' must be an object");
	name = json_string_value(exec);
	if (!strcmp(name, "qmp_capabilities")) {
		if (c->negotiated)
			return client_error(c, id, QMP_ERR_NOT_FOUND, "Capabilities negotiation is "
					    "already complete, command ignored");
		return capabilities(c, id, args);
	}
	if (!c->negotiated)
		return client_error(c, id, QMP_ERR_NOT_FOUND,
				    "Expecting capabilities negotiation with 'qmp_capabilities'");
	cmd = qmp_command_find(name);
	if (!cmd) {
		snprintf(desc, sizeof(desc), "The command %.64s has not been found", name);
		return client_error(c, id, QMP_ERR_NOT_FOUND, desc);
	}
	req.id = id;
	ret = qmp_command_run(cmd, srv.vm, args, &req, &err);
	if (ret == QMP_DEFERRED)
		return true;
	return client_queue(c, frame(ret ? return_reply(id, ret) : error_reply(id, &err)));
}

static size_t skip_space(const char *s, size_t off, size_t len)
{
	while (off < len && (s[off] == ' ' || s[off] == '\t' || s[off] == '\r' || s[off] == '\n'))
		off++;
	return off;
}

/*
 * Parse and handle every complete message in C's input. A malformed one is
 * reported once its line is complete (a message cut short by the read is
 * not malformed yet), then the rest of that line is dropped, as is an
 * oversized one: the client may go on. False when C must be dropped.
 */
static bool client_process(struct qmp_client *c)
{
	size_t off = 0, len = c->in_len;
	bool ok = true;
	char desc[200];

	while (ok && off < len) {
		json_error_t e;
		json_t *msg;
		char *nl;

		if (c->skipping) {
			nl = memchr(c->in + off, '\n', len - off);
			off = nl ? (size_t)(nl - c->in) + 1 : len;
			c->skipping = !nl;
			continue;
		}
		off = skip_space(c->in, off, len);
		if (off == len)
			break;
		msg = json_loadb(c->in + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &e);
		if (msg) {
			off += e.position;
			ok = client_handle(c, msg);
			json_decref(msg);
			continue;
		}
		if (json_error_code(&e) == json_error_premature_end_of_input)
			break;
		nl = memchr(c->in + off, '\n', len - off);
		if (!nl && len < sizeof(c->in))
			break;
		snprintf(desc, sizeof(desc), "JSON parse error, %s", e.text);
		ok = client_error(c, NULL, QMP_ERR_GENERIC, desc);
		off = nl ? (size_t)(nl - c->in) + 1 : len;
		c->skipping = !nl;
	}
	memmove(c->in, c->in + off, len - off);
	c->in_len = len - off;
	if (ok && c->in_len == sizeof(c->in)) {
		snprintf(desc, sizeof(desc), "JSON message too long (more than %u bytes); "
			 "dropped up to the next newline", QMP_MAX_MESSAGE);
		ok = client_error(c, NULL, QMP_ERR_GENERIC, desc);
		c->in_len = 0;
		c->skipping = true;
	}
	return ok;
}

/* Read what C sent; false on end of file, error, or a client to drop. */
static bool client_read(struct qmp_client *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	c->in_len += n;
	return client_process(c);
}

static char *greeting(void)
{
	return frame(json_pack("{s:{s:{s:{s:i,s:i,s:i},s:s},s:[]}}", "QMP", "version", "qemu",
			       "major", 0, "minor", 1, "micro", 0, "package", PACKAGE_STRING,
			       "capabilities"));
}

/* SO_PEERCRED: the VMM's own uid or root may connect, nobody else. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		vmm_err("qmp: SO_PEERCRED: %s; connection refused", strerror(errno));
		return false;
	}
	if (cred.uid == 0 || cred.uid == geteuid())
		return true;
	vmm_err("qmp: refused a connection from uid %u (pid %d): only uid %u and root may "
		"control this VM", (unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
	return false;
}

static void server_accept(void)
{
	int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct qmp_client *c;
	int slot = 0;

	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		close(fd);
		return;
	}
	while (slot < QMP_MAX_CLIENTS && srv.clients[slot])
		slot++;
	c = slot < QMP_MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		static const char busy[] = "{\"error\": {\"class\": \"GenericError\", \"desc\": "
					   "\"too many QMP clients\"}}\r\n";

		(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = ++srv.next_client;
	srv.clients[slot] = c;
	if (!client_queue(c, greeting()) || !client_flush(c))
		client_close(slot);
}

/* Hand queued replies and events to their clients; true when stopping. */
static bool server_drain(void)
{
	struct qmp_outgoing *o, *next;
	uint64_t v;
	bool stopping;

	(void)!read(srv.wake_fd, &v, sizeof(v));
	pthread_mutex_lock(&srv.lock);
	o = srv.outq;
	srv.outq = NULL;
	srv.outq_tail = &srv.outq;
	stopping = srv.stopping;
	pthread_mutex_unlock(&srv.lock);
	for (; o; o = next) {
		next = o->next;
		for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
			struct qmp_client *c = srv.clients[i];

			if (!c || (o->client ? c->id != o->client : !c->negotiated))
				continue;
			if (!client_queue(c, strdup(o->text)))
				client_close(i);
		}
		free(o->text);
		free(o);
	}
	return stopping;
}

/* At exit: give every client up to QMP_FLUSH_MS to take what is queued. */
static void server_flush_all(void)
{
	uint64_t end = now_ns() + QMP_FLUSH_MS * 1000000ULL;

	for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
		struct qmp_client *c = srv.clients[i];

		while (c && c->out_len && client_flush(c) && c->out_len && now_ns() < end) {
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };

			poll(&p, 1, 50);
		}
		if (c)
			client_close(i);
	}
}

static void *server_thread(void *arg)
{
	pthread_setname_np(pthread_self(), "qmp");
	for (;;) {
		struct pollfd p[2 + QMP_MAX_CLIENTS];
		int slot_of[2 + QMP_MAX_CLIENTS], n = 2;

		p[0] = (struct pollfd){ .fd = srv.listen_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = srv.wake_fd, .events = POLLIN };
		for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
			struct qmp_client *c = srv.clients[i];

			if (!c)
				continue;
			p[n] = (struct pollfd){ .fd = c->fd,
						.events = POLLIN | (c->out_len ? POLLOUT : 0) };
			slot_of[n++] = i;
		}
		if (poll(p, n, -1) < 0 && errno != EINTR) {
			vmm_err("qmp: poll: %s; the control socket stops", strerror(errno));
			break;
		}
		if ((p[1].revents & POLLIN) && server_drain())
			break;
		for (int k = 2; k < n; k++) {
			int i = slot_of[k];
			struct qmp_client *c = srv.clients[i];

			if (!c || !p[k].revents)
				continue;
			if ((p[k].revents & (POLLIN | POLLHUP | POLLERR)) && !client_read(c)) {
				client_close(i);
				continue;
			}
			if (!client_flush(c))
				client_close(i);
		}
		if (p[0].revents & POLLIN)
			server_accept();
	}
	server_drain();
	server_flush_all();
	return NULL;
}

int qmp_start(struct vm *vm, const char *spec)
{
	srv.vm = vm;
	srv.listen_fd = qmp_socket_listen(spec, srv.path, sizeof(srv.path), &srv.dev, &srv.ino);
	if (srv.listen_fd < 0)
		return -1;
	srv.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	srv.outq_tail = &srv.outq;
	atomic_store(&srv.running, true);
	if (srv.wake_fd < 0 || pthread_create(&srv.thread, NULL, server_thread, NULL)) {
		vmm_err("--qmp %s: cannot start the server thread", srv.path);
		atomic_store(&srv.running, false);
		unlink(srv.path);
		return -1;
	}
	vmm_info("QMP socket %s", srv.path);
	return 0;
}

/* The SHUTDOWN event's reason (QEMU's ShutdownCause) for how the VM ended. */
static const char *shutdown_reason(int status, int *guest)
{
	const char *cause = atomic_load(&srv.cause);

	*guest = cause ? atomic_load(&srv.cause_guest) : 1;
	if (cause)
		return cause;
	if (status & 1)
		return "guest-shutdown";	/* a verdict on the exit port */
	switch (status) {
	case VMM_EXIT_RESET:
	case VMM_EXIT_TRIPLE_FAULT:
		return "guest-reset";
	case VMM_EXIT_SIGNAL:
		*guest = 0;
		return "host-signal";
	default:
		*guest = 0;
		return "host-error";
	}
}

void qmp_stop(int status)
{
	uint64_t one = 1;
	struct stat st;
	const char *reason;
	int guest;

	if (!atomic_load(&srv.running))
		return;
	reason = shutdown_reason(status, &guest);
	qmp_event("SHUTDOWN", json_pack("{s:b,s:s,s:i}", "guest", guest, "reason", reason,
					 "x-exit-status", status));
	pthread_mutex_lock(&srv.lock);
	srv.stopping = true;
	pthread_mutex_unlock(&srv.lock);
	(void)!write(srv.wake_fd, &one, sizeof(one));
	pthread_join(srv.thread, NULL);
	atomic_store(&srv.running, false);
	close(srv.listen_fd);
	close(srv.wake_fd);
	if (lstat(srv.path, &st) == 0 && st.st_dev == srv.dev && st.st_ino == srv.ino)
		unlink(srv.path);
}
