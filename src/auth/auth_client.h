/* auth_client.h — the worker side of the auth process protocol. Workers
 * never see password hashes: they send (service, client IP, user,
 * password) over data_dir/run/auth.sock and get a verdict back. The
 * auth process applies the shared failure throttle (delays, blocks) for
 * every protocol, so the verdict may arrive seconds later; callers pause
 * their connection meanwhile. */
#ifndef CORREU_AUTH_CLIENT_H
#define CORREU_AUTH_CLIENT_H

#include <stdbool.h>
#include <uv.h>
#include "cfg.h"

enum auth_verdict {
	AUTH_OK,
	AUTH_FAILED,		/* wrong user or password (same for both) */
	AUTH_BLOCKED,		/* too many failures; try later */
	AUTH_TEMPFAIL,		/* auth process unavailable */
};

/* user is the canonical account address when verdict is AUTH_OK. */
typedef void auth_callback_t(enum auth_verdict verdict, const char *user, void *ctx);

struct auth_client;
struct auth_request;

/* One per process; connects lazily and reconnects when needed. */
struct auth_client *auth_client_new(uv_loop_t *loop, const struct config *cfg);
void auth_client_free(struct auth_client **ac);

/* Verifies a password. service is "smtp", "imap", "pop3" or "web".
 * The callback runs from the loop, never before this returns. */
struct auth_request *auth_client_verify(struct auth_client *ac, const char *service,
					const char *client_ip, const char *user,
					const char *password, auth_callback_t *cb, void *ctx);
/* The session went away: the callback will not be called. */
void auth_request_cancel(struct auth_request *req);

#endif
