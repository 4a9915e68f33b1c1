/* service.h — what a worker hands to every protocol service (SMTP,
 * IMAP, POP3): the loop, configuration, TLS certificates, the auth
 * process client and the accounts database. Services start a session
 * for each accepted socket through a start function of this type. */
#ifndef CORREU_SERVICE_H
#define CORREU_SERVICE_H

#include <stdbool.h>
#include <uv.h>
#include "auth_client.h"
#include "auth_db.h"
#include "cfg.h"
#include "conn.h"

enum service_kind {
	SERVICE_SMTP,		/* MX, port 25, STARTTLS */
	SERVICE_SUBMISSION,	/* port 587, STARTTLS, AUTH required */
	SERVICE_SUBMISSIONS,	/* port 465, implicit TLS, AUTH required */
	SERVICE_IMAP,
	SERVICE_IMAPS,
	SERVICE_POP3,
	SERVICE_POP3S,
	SERVICE_COUNT
};

struct service_env {
	uv_loop_t *loop;
	const struct config *cfg;
	struct tls_server *tls;
	struct auth_client *auth;
	struct auth_db *accounts;
	/* Called by a session as it starts: false means a connection limit
	 * (total or per IP, cfg max_connections*) is reached; the session
	 * then sends its protocol's "busy" reply (421 / * BYE / -ERR),
	 * closes, and does not call session_ended. */
	bool (*session_begin)(const struct service_env *env, enum service_kind kind,
			      const char *peer_ip);
	/* Called by a session when it ends (after a true session_begin), so
	 * the worker can keep its connection counts right. */
	void (*session_ended)(const struct service_env *env, enum service_kind kind,
			      const char *peer_ip);
	/* Incremented by the worker for each session it starts; a worker
	 * draining for reload exits when this reaches 0. */
	unsigned *active_sessions;
};

/* Starts a session on an accepted, non-blocking socket. With implicit
 * TLS kinds the session begins with the handshake. The session owns the
 * fd from here on and calls env->session_ended when it is over. */
typedef void service_start_t(const struct service_env *env, enum service_kind kind, int fd);

/* Whether the kind starts with TLS (RFC 8314 implicit TLS). */
static inline bool service_implicit_tls(enum service_kind kind)
{
	return kind == SERVICE_SUBMISSIONS || kind == SERVICE_IMAPS || kind == SERVICE_POP3S;
}

#endif
