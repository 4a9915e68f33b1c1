/* queue_ctl.h — the queue process's control socket, a Unix datagram
 * socket at data_dir/run/queue.sock. Messages are one line of text:
 *   new ID          a message was committed (no reply)
 *   flush [ID]      retry now (reply)
 *   hold ID, release ID, delete ID   (reply)
 * Replies are "ok" or "error TEXT", sent back to the requester's
 * (autobound) address. */
#ifndef CORREU_QUEUE_CTL_H
#define CORREU_QUEUE_CTL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include "cfg.h"

#define QUEUE_CTL_MAX 512

/* data_dir/run/queue.sock; caller frees. */
char *queue_ctl_path(const struct config *cfg);

/* Fills *sun for path. Paths longer than sun_path are reached through
 * /proc/self/fd/N/NAME with *dirfd_r an O_PATH fd of the directory that
 * the caller closes after use (else *dirfd_r is -1). */
int queue_ctl_sockaddr(const char *path, struct sockaddr_un *sun, socklen_t *len_r,
		       int *dirfd_r);

/* A non-blocking Unix socket of type (SOCK_DGRAM, SOCK_STREAM) bound at
 * dir/name, dir made if missing (mode dir_mode, less the umask) and the
 * socket given sock_mode; any old socket there replaced. The fd, or -1
 * with *error_r and errno. Used by the control and pickup sockets. */
int queue_ctl_bind(const char *dir, mode_t dir_mode, const char *name, int type,
		   mode_t sock_mode, const char **error_r);

/* Sends one message without waiting for a reply (blocks at most a
 * second when the queue process is slow). Returns -1 when the queue
 * process is not running; the message is then found when it starts. */
int queue_ctl_notify(const struct config *cfg, const char *msg);

/* Sends a request and waits up to timeout_ms for the reply (caller
 * frees *reply_r). -1 with errno ECONNREFUSED or ENOENT when no queue
 * process runs, ETIMEDOUT when it did not answer. */
int queue_ctl_request(const struct config *cfg, const char *msg, unsigned timeout_ms,
		      char **reply_r);

/* The queue process: binds a fresh socket (removing a stale one).
 * Returns the non-blocking fd or -1 with *error_r. */
int queue_ctl_listen(const struct config *cfg, const char **error_r);

#endif
