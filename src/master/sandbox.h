/* sandbox.h — per-role seccomp allow-lists for the master's children.
 * A child installs its filter once, after the privilege drop and before
 * it reads any input. A forbidden system call is logged (number and
 * name, from a SIGSYS handler) and kills the process with SIGSYS, which
 * the master logs as a crash and restarts. */
#ifndef CORREU_SANDBOX_H
#define CORREU_SANDBOX_H

#include <stdbool.h>

enum sandbox_role {
	SANDBOX_AUTH,		/* unix socket server, password database */
	SANDBOX_QUEUE,		/* outbound SMTP, DNS, local delivery */
	SANDBOX_WEB,		/* HTTPS server, IMAP/SMTP client */
	SANDBOX_WORKER,		/* SMTP/IMAP/POP3 sessions on inherited sockets */
};

/* Installs role's filter for the calling process and all its threads;
 * name prefixes the SIGSYS log line. Returns -1 with *error_r when the
 * kernel or libseccomp refuses. */
int sandbox_install(enum sandbox_role role, const char *name, const char **error_r);
/* "auth", "queue", "web", "worker". */
const char *sandbox_role_name(enum sandbox_role role);

/* Whether this is a sanitizer build, whose LeakSanitizer must ptrace
 * the process's own threads at exit (so it stays dumpable). */
bool sandbox_sanitizer_build(void);

#endif
