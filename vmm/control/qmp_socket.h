/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_QMP_SOCKET_H
#define VMM_CONTROL_QMP_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Create, bind (mode 0600) and listen on the socket of --qmp SPEC ("PATH"
 * or "unix:PATH[,server=on][,wait=off]"); PATH is copied to path[len], the
 * socket file's identity to *dev, *ino (so that only that file is removed
 * at exit). The listening fd (non-blocking), or -1 with a message printed.
 * A socket nobody listens on is replaced; any other existing file refused.
 */
int qmp_socket_listen(const char *spec, char *path, size_t len, dev_t *dev, ino_t *ino);

#endif
