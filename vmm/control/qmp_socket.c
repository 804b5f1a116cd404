// SPDX-License-Identifier: GPL-2.0-only
/*
 * The QMP server's listening socket: the --qmp argument as vmm and QEMU
 * write it, the check that no file is replaced but a stale socket, and a
 * bind that never leaves the socket reachable with a mode wider than 0600.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/control/qmp_socket.h"
#include "vmm/util.h"

/* "PATH" or "unix:PATH[,server=on|,server][,wait=off|,nowait]". */
static int parse_spec(const char *spec, char *path, size_t len)
{
	const char *p = spec, *opt;
	size_t n;

	if (strncmp(spec, "unix:", 5)) {
		n = strlen(spec);
		opt = NULL;
	} else {
		p = spec + 5;
		opt = strchr(p, ',');
		n = opt ? (size_t)(opt - p) : strlen(p);
	}
	if (!n) {
		vmm_err("--qmp '%s': no socket path", spec);
		return -1;
	}
	if (n >= len) {
		vmm_err("--qmp '%s': the socket path is longer than %zu bytes", spec, len - 1);
		return -1;
	}
	memcpy(path, p, n);
	path[n] = 0;
	while (opt) {
		const char *o = opt + 1;
		size_t olen;

		opt = strchr(o, ',');
		olen = opt ? (size_t)(opt - o) : strlen(o);
		if ((olen == 9 && !strncmp(o, "server=on", 9)) || (olen == 6 && !strncmp(o, "server", 6)) ||
		    (olen == 8 && !strncmp(o, "wait=off", 8)) || (olen == 6 && !strncmp(o, "nowait", 6)))
			continue;
		if (olen == 7 && !strncmp(o, "wait=on", 7)) {
			vmm_err("--qmp '%s': wait=on is not supported: the VM starts at once "
				"(use wait=off)", spec);
			return -1;
		}
		if (olen == 10 && !strncmp(o, "server=off", 10)) {
			vmm_err("--qmp '%s': server=off is not supported: vmm listens on the socket",
				spec);
			return -1;
		}
		vmm_err("--qmp '%s': unknown option '%.*s' (expected server=on, wait=off)", spec,
			(int)olen, o);
		return -1;
	}
	return 0;
}

/*
 * Never replace a file the VMM did not create: only a socket nobody
 * listens on (left by a VMM that died) is removed.
 */
static int check_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (vmm_err("--qmp %s: %s", path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		vmm_err("--qmp %s: the file exists and is not a socket; not replacing it", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
	if (r == 0) {
		vmm_err("--qmp %s: another process listens on this socket", path);
		return -1;
	}
	if (unlink(path) < 0) {
		vmm_err("--qmp %s: cannot remove the stale socket: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int qmp_socket_listen(const char *spec, char *path, size_t len, dev_t *dev, ino_t *ino)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, r;

	if (len > sizeof(sa.sun_path))
		len = sizeof(sa.sun_path);
	if (parse_spec(spec, path, len) || check_path(path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vmm_err("--qmp %s: socket: %s", path, strerror(errno));
		return -1;
	}
	/* Only the main thread runs yet, so the umask change affects nothing else. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || stat(path, &st) < 0 || listen(fd, 8) < 0) {
		vmm_err("--qmp %s: %s", path, strerror(errno));
		if (r == 0)
			unlink(path);
		close(fd);
		return -1;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return fd;
}
