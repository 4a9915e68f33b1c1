/* auth_client.h — the worker side of the auth process protocol
 * (auth_server.h). Workers never see password hashes: they send
 * (service, client IP, user, password) or SASL messages over
 * data_dir/run/auth.sock and get a verdict back. The auth process
 * applies the shared failure throttle (delays, blocks) for every
 * protocol, so the verdict may arrive seconds later; callers pause
 * their connection meanwhile. IMAP, POP3, SMTP AUTH and the webmail's
 * own login all go through this client. */
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
	AUTH_CONTINUE,		/* SASL only: send the challenge, await the response */
};

/* user is the canonical account address when verdict is AUTH_OK. */
typedef void auth_callback_t(enum auth_verdict verdict, const char *user, void *ctx);
/* SASL: data is the base64 challenge ("" for an empty one) with
 * AUTH_CONTINUE, the canonical account address with AUTH_OK, else NULL. */
typedef void auth_sasl_callback_t(enum auth_verdict verdict, const char *data, void *ctx);

struct auth_client;
struct auth_request;

/* One per process; connects lazily and reconnects when needed. While
 * the auth process cannot be reached (starting, restarting), requests
 * wait for it up to 5 s before failing with AUTH_TEMPFAIL; requests in
 * flight when an established connection breaks fail at once. Takes the
 * socket path and auth_allow_plaintext from cfg (copied). */
struct auth_client *auth_client_new(uv_loop_t *loop, const struct config *cfg);
/* Requests still pending are dropped without their callbacks. */
void auth_client_free(struct auth_client **ac);

/* Mechanisms to advertise (e.g. after EHLO's "AUTH "): space-separated,
 * static. Without TLS (secured false) none are offered, so NULL is
 * returned, unless auth_allow_plaintext is set. */
const char *auth_client_mechanisms(const struct auth_client *ac, bool secured);

/* Verifies a password. service is "smtp", "imap", "pop3" or "web".
 * The callback runs from the loop, never before this returns, exactly
 * once unless cancelled; the request is gone after it. */
struct auth_request *auth_client_verify(struct auth_client *ac, const char *service,
					const char *client_ip, const char *user,
					const char *password, auth_callback_t *cb, void *ctx);

/* Starts a SASL exchange with mech (as the client named it) and the
 * client's initial response as sent: base64, "=" for an empty one, NULL
 * for none. The callback gets AUTH_CONTINUE with a challenge (the
 * request stays alive: answer with auth_client_sasl_continue()) or a
 * final verdict (the request is gone). An unknown mechanism fails. */
struct auth_request *auth_client_sasl_start(struct auth_client *ac, const char *service,
					    const char *client_ip, const char *mech,
					    const char *initial_b64, auth_sasl_callback_t *cb,
					    void *ctx);
/* Sends the client's base64 response to the last challenge ("" for an
 * empty line). Only after AUTH_CONTINUE; cb and ctx replace the
 * previous ones. A client's "*" abort is not a response: cancel. */
void auth_client_sasl_continue(struct auth_request *req, const char *response_b64,
			       auth_sasl_callback_t *cb, void *ctx);

/* The session went away (or the client aborted the exchange): the
 * callback will not be called and req is gone. */
void auth_request_cancel(struct auth_request *req);

#endif
