/* worker.h — a mail worker process: one libuv loop serving SMTP, IMAP
 * and POP3 connections from the inherited listening sockets. */
#ifndef CORREU_WORKER_H
#define CORREU_WORKER_H

#include "cfg.h"
#include "connlimit.h"
#include "listener.h"
#include "tls.h"

/* Runs until SIGTERM (stop now) or SIGUSR1 (stop accepting, finish the
 * open sessions, then exit — used by reload). Returns the exit status. */
int worker_run(const struct config *cfg, struct tls_server *tls,
	       const struct listener_set *listeners, struct connlimit *limits,
	       unsigned index);

/* The session start function of a kind, or NULL if not served. */
service_start_t *worker_service(enum service_kind kind);

#endif
