// SPDX-License-Identifier: GPL-2.0-only
/*
 * `vmm ctl`: the command-line QMP client. It connects, negotiates
 * capabilities, sends one command built from key=value words and prints
 * the reply; `top` polls x-query-pager once a second.
 *
 * Exit status: 0 the command returned, 2 bad usage or no connection,
 * 4 the VM answered with an error (printed as JSON on stdout).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/control/control.h"
#include "vmm/control/status_line.h"
#include "vmm/exit_status.h"
#include "vmm/util.h"

#define CTL_EXIT_ERROR_REPLY 4

struct ctl {
	const char *path;
	int fd;
	FILE *in;
	unsigned next_id;
};

static void ctl_usage(FILE *f)
{
	fprintf(f,
"Usage: vmm ctl [--pretty] SOCKET COMMAND [KEY=VALUE ...]\n"
"       vmm ctl SOCKET top [--count N]\n"
"\n"
"Send one QMP command to the VM whose --qmp socket is SOCKET and print the\n"
"reply as JSON. A VALUE that parses as JSON (a number, true, false, null,\n"
"\"a string\") is sent as such, a number with a K, M, G or T suffix as a\n"
"number of bytes, anything else as a string. 'top' prints the pager's\n"
"status once a second, in place on a terminal.\n"
"\n"
"  -p, --pretty     indent the JSON for people\n"
"  -n, --count N    top: stop after N lines\n"
"\n"
"Exit status: 0 the command returned, 2 bad usage or no connection,\n"
"4 the VM answered with an error.\n");
}

/* The next message from the VM; NULL on end of file (message printed). */
static json_t *ctl_read(struct ctl *c)
{
	char *line = NULL;
	size_t cap = 0;
	json_t *msg = NULL;

	while (!msg) {
		json_error_t e;

		if (getline(&line, &cap, c->in) < 0) {
			vmm_err("ctl: %s: the VM closed the connection", c->path);
			break;
		}
		msg = json_loads(line, 0, &e);
		if (!msg)
			vmm_err("ctl: %s: unparsable message from the VM: %s", c->path, e.text);
	}
	free(line);
	return msg;
}

/* Send EXEC with ARGS (stolen, may be NULL) and return its reply, skipping events. */
static json_t *ctl_execute(struct ctl *c, const char *exec, json_t *args)
{
	json_t *req = json_pack("{s:s,s:I}", "execute", exec, "id", (json_int_t)++c->next_id);
	char *text;
	size_t len;
	bool sent;

	if (args)
		json_object_set_new(req, "arguments", args);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	/* One write with its newline: after quit the VM may close at once. */
	if (text) {
		char *line = NULL;

		len = asprintf(&line, "%s\n", text) < 0 ? 0 : strlen(line);
		free(text);
		text = line;
	}
	sent = text && send(c->fd, text, len, MSG_NOSIGNAL) == (ssize_t)len;
	free(text);
	if (!sent) {
		vmm_err("ctl: %s: cannot send: %s", c->path, strerror(errno));
		return NULL;
	}
	for (;;) {
		json_t *msg = ctl_read(c), *id;

		if (!msg)
			return NULL;
		id = json_object_get(msg, "id");
		if ((json_object_get(msg, "return") || json_object_get(msg, "error")) &&
		    (!id || json_integer_value(id) == c->next_id))
			return msg;
		json_decref(msg);
	}
}

static int ctl_connect(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *greeting, *reply;

	if (strlen(c->path) >= sizeof(sa.sun_path)) {
		vmm_err("ctl: %s: socket path too long", c->path);
		return -1;
	}
	strcpy(sa.sun_path, c->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vmm_err("ctl: %s: cannot connect: %s%s", c->path, strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED ?
			" (is a VM running with --qmp on this path?)" : "");
		return -1;
	}
	c->in = fdopen(dup(c->fd), "r");
	if (!c->in)
		return -1;
	greeting = ctl_read(c);
	if (!greeting)
		return -1;
	if (!json_object_get(greeting, "QMP")) {
		vmm_err("ctl: %s: not a QMP greeting", c->path);
		json_decref(greeting);
		return -1;
	}
	json_decref(greeting);
	reply = ctl_execute(c, "qmp_capabilities", NULL);
	if (!reply || !json_object_get(reply, "return")) {
		vmm_err("ctl: %s: capabilities negotiation failed", c->path);
		json_decref(reply);
		return -1;
	}
	json_decref(reply);
	return 0;
}

/* KEY=VALUE words into an arguments object; NULL on a malformed word. */
static json_t *ctl_args(int argc, char **argv)
{
	json_t *args = json_object();

	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *key;
		const char *val;
		size_t vlen;
		json_t *v;
		uint64_t bytes;

		if (!eq || eq == argv[i]) {
			vmm_err("ctl: '%s': expected KEY=VALUE", argv[i]);
			json_decref(args);
			return NULL;
		}
		key = strndup(argv[i], eq - argv[i]);
		val = eq + 1;
		vlen = strlen(val);
		if (json_object_get(args, key)) {
			vmm_err("ctl: '%s' given twice", key);
			free(key);
			json_decref(args);
			return NULL;
		}
		if (vlen > 1 && strchr("KMGT", val[vlen - 1]) && strspn(val, "0123456789") == vlen - 1 &&
		    parse_size(val, &bytes))
			v = json_integer(bytes);
		else if (!(v = json_loads(val, JSON_DECODE_ANY, NULL)))
			v = json_string(val);
		json_object_set_new(args, key, v);
		free(key);
	}
	return args;
}

static int ctl_top(struct ctl *c, long count)
{
	bool tty = isatty(STDOUT_FILENO);
	json_t *prev = NULL;
	char line[256];

	for (long i = 0; count <= 0 || i < count; i++) {
		json_t *reply = ctl_execute(c, "x-query-pager", NULL), *now;

		if (!reply)
			return VMM_EXIT_USAGE;
		now = json_object_get(reply, "return");
		if (!now) {
			json_t *e = json_object_get(reply, "error");

			vmm_err("ctl: %s: the pager status is not available: %s", c->path,
				json_string_value(json_object_get(e, "desc")));
			json_decref(reply);
			json_decref(prev);
			return CTL_EXIT_ERROR_REPLY;
		}
		json_incref(now);
		json_decref(reply);
		status_line_format(now, prev, line, sizeof(line));
		printf(tty ? "\r\033[K%s" : "%s\n", line);
		fflush(stdout);
		json_decref(prev);
		prev = now;
		if (count <= 0 || i + 1 < count)
			sleep(1);
	}
	if (tty)
		printf("\n");
	json_decref(prev);
	return 0;
}

int ctl_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pretty", no_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ctl c = { .fd = -1 };
	bool pretty = false;
	long count = 0;
	json_t *args, *reply;
	char *text, *end;
	int opt, status;

	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+pn:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			pretty = true;
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count <= 0) {
				vmm_err("ctl: --count '%s': expected a positive whole number", optarg);
				return VMM_EXIT_USAGE;
			}
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			vmm_err("ctl: unknown option '%s'", argv[optind - 1]);
			ctl_usage(stderr);
			return VMM_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		vmm_err("ctl: expected SOCKET and COMMAND");
		ctl_usage(stderr);
		return VMM_EXIT_USAGE;
	}
	c.path = argv[optind];
	if (!strcmp(argv[optind + 1], "top")) {
		/* Options may follow 'top' too. */
		for (int i = optind + 2; i < argc; i++) {
			if ((!strcmp(argv[i], "--count") || !strcmp(argv[i], "-n")) && i + 1 < argc) {
				count = strtol(argv[++i], &end, 10);
				if (!*end && count > 0)
					continue;
			}
			vmm_err("ctl: top: unexpected '%s' (top takes --count N)", argv[i]);
			return VMM_EXIT_USAGE;
		}
		if (ctl_connect(&c))
			return VMM_EXIT_USAGE;
		return ctl_top(&c, count);
	}
	args = ctl_args(argc - optind - 2, argv + optind + 2);
	if (!args)
		return VMM_EXIT_USAGE;
	if (ctl_connect(&c)) {
		json_decref(args);
		return VMM_EXIT_USAGE;
	}
	if (!json_object_size(args)) {
		json_decref(args);
		args = NULL;
	}
	reply = ctl_execute(&c, argv[optind + 1], args);	/* takes args */
	if (!reply)
		return VMM_EXIT_USAGE;
	json_object_del(reply, "id");
	status = json_object_get(reply, "error") ? CTL_EXIT_ERROR_REPLY : 0;
	text = json_dumps(reply, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER : JSON_COMPACT);
	puts(text ? text : "");
	free(text);
	json_decref(reply);
	return status;
}
