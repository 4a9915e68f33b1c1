/* web_private.h — what the files of src/web share: the process context,
 * one HTTP request being answered, sessions and the API handlers.
 * Runs in the web process. */
#ifndef CORREU_WEB_PRIVATE_H
#define CORREU_WEB_PRIVATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "buf.h"
#include "cfg.h"
#include "conn.h"
#include "str.h"
#include "web_http.h"
#include "web_imap.h"
#include "web_upstream.h"

struct auth_throttle;
struct web_retired;
struct web_session;

struct web {
	uv_loop_t *loop;
	const struct config *cfg;	/* the caller's, or cfg_owned after SIGHUP */
	struct config *cfg_owned;
	struct tls_server *tls;		/* what new connections get */
	struct tls_server *tls_owned;	/* tls, when loaded by a reload */
	struct web_retired *retired;	/* replaced sets, freed later */
	int ctl_fd;			/* from the master (reloads), or -1 */
	uv_poll_t ctl_poll;
	struct web_upstream imap_up;
	struct web_upstream smtp_up;
	struct auth_throttle *throttle;
	char *static_dir;
	uint64_t session_timeout_ms;
	uint64_t max_body;
	uint16_t https_port;
	struct web_session **buckets;	/* session hash table */
	size_t n_buckets;
	size_t n_sessions;
	uv_tcp_t *listeners;
	size_t n_listeners;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t sweep;
	unsigned n_conns;
	bool stopping;
};

struct web_http_conn;

struct web_param {
	char *name;
	char *value;
};

/* One request being answered. Lives until the response is complete;
 * hc becomes NULL if the client went away meanwhile (the answer is then
 * dropped). */
struct web_req {
	struct web *w;
	struct web_http_conn *hc;
	struct http_request http;	/* moved out of the parser */
	char *path;			/* decoded path without query */
	struct web_param *params;	/* decoded query parameters */
	size_t n_params;
	json_t *json;			/* parsed JSON body, if any */
	struct web_session *session;	/* referenced, if logged in */
	const char *peer_ip;
	bool streaming;			/* chunked response in progress */
	bool done;
};

/* web_server.c */
void web_respond(struct web_req *r, int status, const char *content_type,
		 const void *body, size_t len, const char *extra_headers);
/* Sends obj (reference taken over) as application/json. */
void web_respond_json(struct web_req *r, int status, json_t *obj);
/* {"error": message} with status. */
void web_respond_error(struct web_req *r, int status, const char *message);
/* Starts a chunked response (Server-Sent Events); the request stays
 * open until web_stream_end. */
void web_stream_start(struct web_req *r, const char *content_type, const char *extra_headers);
void web_stream_write(struct web_req *r, const void *data, size_t len);
void web_stream_end(struct web_req *r);
/* The client side of the connection went away (for streams). */
bool web_req_gone(const struct web_req *r);
/* Frees a request whose client is gone without answering it. */
void web_req_abandon(struct web_req *r);
const char *web_param(const struct web_req *r, const char *name);
/* Percent-decodes s (with '+' as space when form) into a new string;
 * NULL when it decodes to NUL or is malformed. */
char *web_url_decode(const char *s, size_t len, bool form);

/* Starts accepting on a bound, listening socket. */
int web_server_listen(struct web *w, int fd, bool redirect_only);
/* Stops accepting and closes idle connections and event streams. */
void web_server_stop(struct web *w);

/* web_main.c: applies what can change on reload from w->cfg (timeouts,
 * log level, throttle, front end directory, limits). */
void web_apply_config(struct web *w);

/* web_reload.c */
/* Builds both upstreams' certificate checks from cfg (web_upstream.h),
 * pinning own when cfg->web_ca_file is empty. */
int web_reload_upstream_tls(struct web *w, const struct config *cfg,
			    const struct tls_server *own, const char **error_r);
/* Standalone SIGHUP: re-reads the configuration file and, if the web
 * user can read them, the certificates; keeps the sessions. */
void web_reload_files(struct web *w);
/* Under `correu serve`: reload messages from the master on ctl_fd
 * (-1: none). */
void web_reload_listen(struct web *w, int ctl_fd);
void web_reload_stop(struct web *w);
/* Frees replaced certificate sets no handshake can use any more (all:
 * every one, at exit). */
void web_reload_sweep(struct web *w, bool all);

/* web_static.c */
void web_static_serve(struct web_req *r);

/* web_session.c */
struct web_session {
	struct web_session *next;
	struct web *w;
	char id[65];
	char csrf[65];
	char *user;
	struct web_imap *imap;
	uint64_t last_used;
	unsigned refs;
	bool dead;
	struct web_sse *streams;
	struct web_upload *uploads;
	unsigned upload_seq;
	size_t upload_bytes;
	struct web_list_cache *cache;
	json_t *folders;		/* last LIST result, for special-use names */
};

void web_sessions_init(struct web *w);
void web_sessions_free(struct web *w);
/* The session named by the request's cookie, or NULL. Touches it. */
struct web_session *web_session_lookup(struct web *w, const struct http_request *req);
struct web_session *web_session_new(struct web *w, const char *user, struct web_imap *imap);
/* Logs out of IMAP and forgets the session; requests holding it see
 * s->dead. */
void web_session_end(struct web_session *s, const char *why);
void web_session_ref(struct web_session *s);
void web_session_unref(struct web_session **s);
/* Sends an SSE event to every stream of the session. */
void web_session_notify(struct web_session *s, const char *event, const char *data_json);
void web_session_add_stream(struct web_session *s, struct web_req *r);
/* Expires idle sessions (timer). */
void web_sessions_sweep(struct web *w);
/* Cookie header values. */
char *web_session_cookie(const struct web_session *s);
const char *web_session_clear_cookie(void);
/* Drops the cached message lists (after changes). */
void web_session_cache_clear(struct web_session *s);
/* Flags changed, no message came or went: drops only lists that depend
 * on flags (unseen/flagged filters); the rows' flags are fetched anew
 * with each page anyway. */
void web_session_flags_changed(struct web_session *s);

struct web_upload {
	struct web_upload *next;
	unsigned id;
	char *filename;
	char *type;
	struct buf data;
};

/* web_api.c: routes /api/... */
void web_api_dispatch(struct web_req *r);

#endif
