/* imap_service.c — glue between the worker's service_env and IMAP
 * sessions: password and SASL checks through the auth process, account
 * look-ups (Maildir root, quota) in the accounts database, connection
 * limits. Runs in the mail workers. */
#include "imap_service.h"
#include "imap_session.h"
#include "auth_db.h"
#include "log.h"
#include "net.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

struct imap_session *imap_session_new(struct imap_server *server, int fd, bool implicit_tls,
				      bool counted);
void imap_session_refuse(struct imap_server *server, int fd, bool implicit_tls);

static void *b_verify(void *ctx, const char *ip, const char *user, const char *password,
		      auth_callback_t *cb, void *cbctx)
{
	const struct service_env *env = ctx;
	return auth_client_verify(env->auth, "imap", ip, user, password, cb, cbctx);
}

static void *b_sasl_start(void *ctx, const char *ip, const char *mech, const char *ir,
			  auth_sasl_callback_t *cb, void *cbctx)
{
	const struct service_env *env = ctx;
	return auth_client_sasl_start(env->auth, "imap", ip, mech, ir, cb, cbctx);
}

static void b_sasl_continue(void *ctx, void *req, const char *resp, auth_sasl_callback_t *cb,
			    void *cbctx)
{
	(void)ctx;
	auth_client_sasl_continue(req, resp, cb, cbctx);
}

static void b_cancel(void *ctx, void *req)
{
	(void)ctx;
	auth_request_cancel(req);
}

static const char *b_mechanisms(void *ctx, bool secured)
{
	const struct service_env *env = ctx;
	return auth_client_mechanisms(env->auth, secured);
}

static int b_lookup(void *ctx, const char *user, char **maildir_r, uint64_t *quota_r)
{
	const struct service_env *env = ctx;
	struct auth_user u;
	memset(&u, 0, sizeof(u));
	int r = auth_db_user_get(env->accounts, user, &u);
	if (r == 1) {
		if (!u.enabled) {
			auth_user_free(&u);
			return 0;
		}
		*maildir_r = x_strdup(u.maildir);
		*quota_r = u.quota_bytes;
		auth_user_free(&u);
	}
	return r;
}

static void b_ended(void *ctx, bool implicit_tls, const char *peer_ip)
{
	const struct service_env *env = ctx;
	env->session_ended(env, implicit_tls ? SERVICE_IMAPS : SERVICE_IMAP, peer_ip);
}

/* One per worker process (one service_env). */
static struct imap_server server;

void imap_service_start(const struct service_env *env, enum service_kind kind, int fd)
{
	if (server.loop == NULL || server.backend.ctx != env) {
		server.loop = env->loop;
		server.cfg = env->cfg;
		server.tls = env->tls;
		server.active_sessions = env->active_sessions;
		server.backend = (struct imap_backend){
			.ctx = (void *)env,
			.verify = b_verify,
			.sasl_start = b_sasl_start,
			.sasl_continue = b_sasl_continue,
			.cancel = b_cancel,
			.mechanisms = b_mechanisms,
			.lookup = b_lookup,
			.ended = b_ended,
		};
	}
	server.cfg = env->cfg;	/* reloads hand a new configuration */
	bool implicit = service_implicit_tls(kind);
	char ip[64] = "";
	{
		/* The peer address before the session exists, for the limit. */
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
			net_addr_ip((struct sockaddr *)&ss, ip, sizeof(ip));
	}
	if (!env->session_begin(env, kind, ip)) {
		log_info("imap: connection from %s refused: too many connections", ip);
		imap_session_refuse(&server, fd, implicit);
		return;
	}
	(void)imap_session_new(&server, fd, implicit, true);
}
