/* auth_server.c — the auth process: serves the auth socket protocol of
 * auth_server.h, verifies passwords in the libuv thread pool, runs the
 * SASL mechanisms and applies the shared failure throttle with timers.
 * Runs in the auth process (unprivileged; the only reader of passwd.db).
 * Parses untrusted input: requests from workers carrying client data. */
#include "auth_server.h"
#include "auth_addr.h"
#include "auth_base64.h"
#include "auth_db.h"
#include "auth_passwd.h"
#include "auth_proto.h"
#include "auth_throttle.h"
#include "fsutil.h"
#include "log.h"
#include "sasl.h"
#include "str.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

/* Database handles for one thread-pool job at a time. */
struct auth_handles {
	struct auth_handles *next;
	struct auth_db *db;
	struct auth_passwd *pw;
};

struct auth_conn;
struct auth_req;

struct auth_server {
	uv_loop_t loop;
	uv_pipe_t listener;
	uv_signal_t sig_term, sig_int, sig_hup;
	const struct config *base_cfg;	/* the caller's; opens databases */
	struct config *reloaded;	/* owned, after SIGHUP */
	const struct config *cfg;	/* current settings */
	struct auth_throttle *throttle;
	char *dummy_hash;		/* verified for unknown accounts */
	char *socket_path;
	unsigned char secret[32];	/* fake SCRAM salts */
	uv_mutex_t pool_lock;
	struct auth_handles *pool;
	struct auth_conn *conns;
	bool stopping;
};

struct auth_conn {
	struct auth_conn *prev, *next;
	struct auth_server *srv;
	uv_pipe_t pipe;
	struct buf in;
	struct auth_req *reqs;
	unsigned nreqs;
	bool closing;
};

enum work_kind { WORK_VERIFY, WORK_LOOKUP };
enum work_result { WORK_OK, WORK_FAIL, WORK_TEMPFAIL };

struct auth_req {
	struct auth_req *prev, *next;
	struct auth_server *srv;
	struct auth_conn *conn;		/* NULL once detached */
	uint32_t id;
	char *service, *ip;
	const char *mech;		/* static name; NULL for VERIFY */
	struct sasl *sasl;		/* NULL for VERIFY */
	char *user, *password;		/* VERIFY's, copied */
	bool work_busy;			/* a thread-pool job holds the request */
	bool timer_busy;		/* a delayed reply is pending */
	bool timer_init;
	uv_work_t work;
	uv_timer_t timer;
	/* job input */
	enum work_kind kind;
	char *dummy_hash;
	/* job output */
	enum work_result result;
	char *canonical;
	const char *why;
	struct auth_scram_keys keys;
	bool keys_known;
};

static void conn_close_now(struct auth_conn *conn);

/* ---- database handle pool (used from pool threads) ---- */

static struct auth_handles *pool_take(struct auth_server *srv, const char **error_r)
{
	uv_mutex_lock(&srv->pool_lock);
	struct auth_handles *h = srv->pool;
	if (h != NULL)
		srv->pool = h->next;
	uv_mutex_unlock(&srv->pool_lock);
	if (h != NULL)
		return h;
	h = x_calloc(1, sizeof(*h));
	h->db = auth_db_open(srv->base_cfg, false, error_r);
	if (h->db != NULL)
		h->pw = auth_passwd_open(srv->base_cfg, true, error_r);
	if (h->pw == NULL) {
		auth_db_close(&h->db);
		free(h);
		return NULL;
	}
	return h;
}

static void pool_put(struct auth_server *srv, struct auth_handles *h)
{
	uv_mutex_lock(&srv->pool_lock);
	h->next = srv->pool;
	srv->pool = h;
	uv_mutex_unlock(&srv->pool_lock);
}

static void pool_free(struct auth_server *srv)
{
	while (srv->pool != NULL) {
		struct auth_handles *h = srv->pool;
		srv->pool = h->next;
		auth_db_close(&h->db);
		auth_passwd_close(&h->pw);
		free(h);
	}
}

/* ---- requests ---- */

static void req_freed(uv_handle_t *h)
{
	free(h->data);
}

static void wipe_free(char **p)
{
	if (*p != NULL) {
		sodium_memzero(*p, strlen(*p));
		x_free(p);
	}
}

static void req_detach(struct auth_req *req)
{
	struct auth_conn *conn = req->conn;
	if (conn == NULL)
		return;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		conn->reqs = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	conn->nreqs--;
	req->conn = NULL;
}

static void req_free(struct auth_req *req)
{
	i_assert(!req->work_busy);
	req_detach(req);
	sasl_free(&req->sasl);
	free(req->service);
	free(req->ip);
	free(req->user);
	wipe_free(&req->password);
	free(req->dummy_hash);
	free(req->canonical);
	sodium_memzero(&req->keys, sizeof(req->keys));
	if (req->timer_init) {
		uv_timer_stop(&req->timer);
		req->timer.data = req;
		uv_close((uv_handle_t *)&req->timer, req_freed);
	} else {
		free(req);
	}
}

static struct auth_req *req_find(struct auth_conn *conn, uint32_t id)
{
	for (struct auth_req *r = conn->reqs; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void write_done(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void send_line(struct auth_conn *conn, enum auth_proto_type type, uint32_t id,
		      const char *arg)
{
	if (conn == NULL || conn->closing)
		return;
	struct buf line = BUF_INIT;
	auth_proto_write(&line, type, id, &arg, arg != NULL ? 1 : 0);
	uv_write_t *w = x_malloc(sizeof(*w) + line.len);
	char *data = (char *)(w + 1);
	memcpy(data, line.data, line.len);
	uv_buf_t b = uv_buf_init(data, (unsigned)line.len);
	buf_free(&line);
	int rc = uv_write(w, (uv_stream_t *)&conn->pipe, &b, 1, write_done);
	if (rc < 0) {
		free(w);
		log_warn("auth socket write: %s", uv_strerror(rc));
		conn_close_now(conn);
	}
}

/* Sends the final reply (if the worker still listens) and frees. */
static void req_finish(struct auth_req *req, enum auth_proto_type type, const char *arg)
{
	send_line(req->conn, type, req->id, arg);
	req_free(req);
}

/* The name failures are counted under: the normalised address when the
 * name is one, else what the client typed, lower-cased. */
static char *throttle_account(const char *user)
{
	char *key;
	if (user == NULL)
		return NULL;
	if (auth_addr_lookup_key(user, &key) == 0)
		return key;
	return str_lower(x_strdup(user));
}

static const char *req_user(const struct auth_req *req)
{
	if (req->sasl != NULL)
		return sasl_user(req->sasl);
	return req->user;
}

static void delayed_fail(uv_timer_t *t)
{
	struct auth_req *req = t->data;
	req->timer_busy = false;
	req_finish(req, AUTH_MSG_FAIL, NULL);
}

static void req_fail(struct auth_req *req, const char *why)
{
	struct auth_server *srv = req->srv;
	char *account = throttle_account(req_user(req));
	uint64_t delay = auth_throttle_failure(srv->throttle, req->ip, account);
	log_info("%s login failed: user=<%s> ip=%s: %s (reply in %llu ms)", req->service,
		 account != NULL ? account : "", req->ip, why, (unsigned long long)delay);
	free(account);
	if (delay == 0 || req->conn == NULL) {
		req_finish(req, AUTH_MSG_FAIL, NULL);
		return;
	}
	if (!req->timer_init) {
		uv_timer_init(&srv->loop, &req->timer);
		req->timer_init = true;
	}
	req->timer.data = req;
	req->timer_busy = true;
	uv_timer_start(&req->timer, delayed_fail, delay, 0);
}

static void req_ok(struct auth_req *req, const char *canonical)
{
	char *account = throttle_account(req_user(req));
	auth_throttle_success(req->srv->throttle, req->ip, account);
	free(account);
	log_info("%s login: user=<%s> ip=%s mech=%s", req->service, canonical, req->ip,
		 req->mech != NULL ? req->mech : "VERIFY");
	req_finish(req, AUTH_MSG_OK, canonical);
}

/* Checks the block before doing any work for a known user name. */
static bool req_blocked(struct auth_req *req)
{
	char *account = throttle_account(req_user(req));
	bool blocked = auth_throttle_blocked(req->srv->throttle, req->ip, account);
	if (blocked) {
		log_info("%s login blocked: user=<%s> ip=%s", req->service,
			 account != NULL ? account : "", req->ip);
		req_finish(req, AUTH_MSG_BLOCKED, NULL);
	}
	free(account);
	return blocked;
}

/* ---- thread-pool jobs ---- */

/* Looks the account up: 1 = enabled user with an entry in passwd.db
 * (*hash_r, *scram_r set), 0 = no such usable account, -1 = error. */
static int account_lookup(struct auth_handles *h, const char *user, char **canonical_r,
			  char **hash_r, char **scram_r, const char **why_r)
{
	struct auth_user u;
	int ret = auth_db_user_get(h->db, user, &u);
	if (ret < 0) {
		*why_r = "accounts database error";
		return -1;
	}
	if (ret == 0) {
		*why_r = "unknown user";
		return 0;
	}
	bool enabled = u.enabled;
	*canonical_r = u.address;
	u.address = NULL;
	auth_user_free(&u);
	if (!enabled) {
		*why_r = "account disabled";
		return 0;
	}
	ret = auth_passwd_get(h->pw, *canonical_r, hash_r, scram_r);
	if (ret < 0)
		*why_r = "password database error";
	else if (ret == 0)
		*why_r = "no password set";
	return ret;
}

static void job_verify(struct auth_req *req, struct auth_handles *h)
{
	char *hash = NULL, *scram = NULL;
	int found = account_lookup(h, req_user(req), &req->canonical, &hash, &scram, &req->why);
	const char *password = req->sasl != NULL ? sasl_password(req->sasl) : req->password;
	if (found < 0) {
		req->result = WORK_TEMPFAIL;
		return;
	}
	/* Unknown accounts cost the same as real ones. */
	bool ok = auth_passwd_verify_hash(found == 1 ? hash : req->dummy_hash, password);
	if (found == 1 && ok) {
		req->result = WORK_OK;
		if (scram == NULL && !str_has_prefix_icase(hash, "{SCRAM-SHA-256}")) {
			/* Imported hash: learn SCRAM keys now that we can. */
			struct auth_scram_keys keys;
			const char *error;
			auth_scram_generate(password, &keys);
			if (auth_passwd_set_scram(h->pw, req->canonical, &keys, &error) < 0)
				req->why = "could not store SCRAM keys";
			sodium_memzero(&keys, sizeof(keys));
		}
	} else {
		req->result = WORK_FAIL;
		if (found == 1)
			req->why = "wrong password";
	}
	free(hash);
	free(scram);
}

static void job_lookup(struct auth_req *req, struct auth_handles *h)
{
	char *hash = NULL, *scram = NULL;
	int found = account_lookup(h, sasl_user(req->sasl), &req->canonical, &hash, &scram,
				   &req->why);
	if (found < 0) {
		req->result = WORK_TEMPFAIL;
		return;
	}
	req->result = WORK_OK;
	req->keys_known = found == 1 && scram != NULL && auth_scram_parse(scram, &req->keys) == 0;
	if (found == 1 && !req->keys_known)
		req->why = "no SCRAM keys stored (password set by hash import)";
	if (!req->keys_known) {
		/* A stable fake salt, so repeated probes look like a real
		 * account; random keys that no proof matches. */
		char *key = throttle_account(sasl_user(req->sasl));
		unsigned char mac[AUTH_SCRAM_KEY_LEN];
		struct buf msg = BUF_INIT;
		buf_appendf(&msg, "scram-salt:%s", key);
		auth_hmac_sha256(req->srv->secret, sizeof(req->srv->secret), msg.data, msg.len, mac);
		buf_free(&msg);
		free(key);
		req->keys.iterations = AUTH_SCRAM_ITERATIONS;
		req->keys.salt_len = AUTH_SCRAM_SALT_LEN;
		memcpy(req->keys.salt, mac, AUTH_SCRAM_SALT_LEN);
		randombytes_buf(req->keys.stored_key, sizeof(req->keys.stored_key));
		randombytes_buf(req->keys.server_key, sizeof(req->keys.server_key));
	}
	free(hash);
	if (scram != NULL)
		sodium_memzero(scram, strlen(scram));
	free(scram);
}

static void job_run(uv_work_t *w)
{
	struct auth_req *req = w->data;
	const char *error;
	struct auth_handles *h = pool_take(req->srv, &error);
	if (h == NULL) {
		req->result = WORK_TEMPFAIL;
		req->why = "cannot open the account databases";
		return;
	}
	if (req->kind == WORK_VERIFY)
		job_verify(req, h);
	else
		job_lookup(req, h);
	pool_put(req->srv, h);
}

static void req_status(struct auth_req *req, enum sasl_status st, struct buf *challenge,
		       const char *error);

static void job_done(uv_work_t *w, int status)
{
	struct auth_req *req = w->data;
	req->work_busy = false;
	if (req->conn == NULL) {
		/* Cancelled or the worker went away meanwhile. */
		req_free(req);
		return;
	}
	if (status != 0 || req->result == WORK_TEMPFAIL) {
		log_error("%s login: user=<%s> ip=%s: %s", req->service,
			  req_user(req) != NULL ? req_user(req) : "", req->ip,
			  status != 0 ? uv_strerror(status) : req->why);
		req_finish(req, AUTH_MSG_TEMPFAIL, NULL);
		return;
	}
	if (req->kind == WORK_VERIFY) {
		if (req->result == WORK_OK) {
			if (req->why != NULL)
				log_warn("%s: %s", req->canonical, req->why);
			req_ok(req, req->canonical);
		} else {
			req_fail(req, req->why != NULL ? req->why : "unknown user");
		}
		return;
	}
	if (req->why != NULL)
		log_debug("%s SCRAM lookup for <%s>: %s", req->service, sasl_user(req->sasl),
			  req->why);
	struct buf challenge = BUF_INIT;
	const char *error = NULL;
	enum sasl_status st = sasl_set_keys(req->sasl, &req->keys, req->keys_known, &challenge,
					    &error);
	req_status(req, st, &challenge, error);
	buf_free(&challenge);
}

static void job_start(struct auth_req *req, enum work_kind kind)
{
	req->kind = kind;
	if (kind == WORK_VERIFY)
		req->dummy_hash = x_strdup(req->srv->dummy_hash);
	req->work.data = req;
	int rc = uv_queue_work(&req->srv->loop, &req->work, job_run, job_done);
	if (rc < 0) {
		log_error("cannot queue work: %s", uv_strerror(rc));
		req_finish(req, AUTH_MSG_TEMPFAIL, NULL);
		return;
	}
	req->work_busy = true;
}

/* Acts on what the mechanism asked for. */
static void req_status(struct auth_req *req, enum sasl_status st, struct buf *challenge,
		       const char *error)
{
	switch (st) {
	case SASL_CHALLENGE: {
		struct buf b64 = BUF_INIT;
		auth_base64_encode(challenge->data != NULL ? challenge->data : "", challenge->len,
				   &b64);
		send_line(req->conn, AUTH_MSG_CONTINUE, req->id, buf_cstr(&b64));
		buf_free(&b64);
		return;
	}
	case SASL_VERIFY:
		if (!req_blocked(req))
			job_start(req, WORK_VERIFY);
		return;
	case SASL_LOOKUP:
		if (!req_blocked(req))
			job_start(req, WORK_LOOKUP);
		return;
	case SASL_OK:
		req_ok(req, req->canonical);
		return;
	case SASL_FAIL:
		/* After a lookup, say why the keys did not match. */
		if (req->why != NULL && req->kind == WORK_LOOKUP && !req->keys_known)
			error = req->why;
		req_fail(req, error != NULL ? error : "SASL failure");
		return;
	}
}

/* Feeds base64 data (NULL = none, "=" as initial response = empty). */
static void req_sasl_input(struct auth_req *req, const char *b64, bool initial)
{
	struct buf in = BUF_INIT, challenge = BUF_INIT;
	const char *error = NULL;
	enum sasl_status st;
	if (b64 == NULL) {
		st = sasl_step(req->sasl, NULL, 0, &challenge, &error);
	} else if (initial && strcmp(b64, "=") == 0) {
		st = sasl_step(req->sasl, "", 0, &challenge, &error);
	} else if (auth_base64_decode(b64, strlen(b64), &in) < 0) {
		st = SASL_FAIL;
		error = "invalid base64";
	} else {
		st = sasl_step(req->sasl, in.data != NULL ? in.data : "", in.len, &challenge,
			       &error);
	}
	if (in.data != NULL)
		sodium_memzero(in.data, in.len);
	buf_free(&in);
	req_status(req, st, &challenge, error);
	buf_free(&challenge);
}

/* ---- connections ---- */

static struct auth_req *req_new(struct auth_conn *conn, const struct auth_proto_msg *msg)
{
	struct auth_req *req = x_calloc(1, sizeof(*req));
	req->srv = conn->srv;
	req->conn = conn;
	req->id = msg->id;
	req->service = x_strdup(msg->args[0]);
	req->ip = x_strdup(msg->args[1]);
	req->next = conn->reqs;
	if (conn->reqs != NULL)
		conn->reqs->prev = req;
	conn->reqs = req;
	conn->nreqs++;
	return req;
}

/* Returns -1 on a protocol violation (the connection is closed). */
static int handle_msg(struct auth_conn *conn, struct auth_proto_msg *msg)
{
	struct auth_req *req = req_find(conn, msg->id);
	if (msg->type == AUTH_MSG_CANCEL) {
		if (req != NULL) {
			if (req->work_busy)
				req_detach(req);
			else
				req_free(req);
		}
		return 0;
	}
	if (msg->type == AUTH_MSG_CONTINUE) {
		if (req == NULL) {
			/* Already finished or cancelled: nothing to continue. */
			send_line(conn, AUTH_MSG_FAIL, msg->id, NULL);
			return 0;
		}
		if (req->sasl == NULL || req->work_busy || req->timer_busy)
			return -1;
		req_sasl_input(req, msg->args[0], false);
		return 0;
	}
	if (req != NULL)
		return -1;	/* id in use */
	if (conn->nreqs >= AUTH_SERVER_REQUESTS_MAX) {
		send_line(conn, AUTH_MSG_TEMPFAIL, msg->id, NULL);
		return 0;
	}
	req = req_new(conn, msg);
	if (msg->type == AUTH_MSG_VERIFY) {
		req->user = x_strdup(msg->args[2]);
		req->password = x_strdup(msg->args[3]);
		if (!req_blocked(req))
			job_start(req, WORK_VERIFY);
		return 0;
	}
	/* START */
	const struct sasl_mech *mech = sasl_mech_find(msg->args[2]);
	if (mech == NULL) {
		log_info("%s login failed: ip=%s: unknown mechanism", req->service, req->ip);
		req_finish(req, AUTH_MSG_FAIL, NULL);
		return 0;
	}
	if (!req_blocked(req)) {
		req->sasl = sasl_new(mech);
		req->mech = sasl_mech_name(mech);
		req_sasl_input(req, msg->nargs > 3 ? msg->args[3] : NULL, true);
	}
	return 0;
}

static void conn_closed(uv_handle_t *h)
{
	struct auth_conn *conn = h->data;
	buf_free(&conn->in);
	free(conn);
}

static void conn_close_now(struct auth_conn *conn)
{
	if (conn->closing)
		return;
	conn->closing = true;
	while (conn->reqs != NULL) {
		struct auth_req *req = conn->reqs;
		if (req->work_busy)
			req_detach(req);	/* job_done frees it */
		else
			req_free(req);
	}
	struct auth_server *srv = conn->srv;
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	uv_close((uv_handle_t *)&conn->pipe, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct auth_conn *conn = h->data;
	(void)suggested;
	b->base = buf_reserve(&conn->in, 4096);
	b->len = 4096;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct auth_conn *conn = s->data;
	(void)b;
	if (nread < 0) {
		conn_close_now(conn);
		return;
	}
	buf_commit(&conn->in, (size_t)nread);
	for (;;) {
		struct auth_proto_msg msg;
		const char *error = "protocol violation";
		int ret = auth_proto_read(&conn->in, false, &msg, &error);
		if (ret == 0)
			break;
		if (ret > 0) {
			ret = handle_msg(conn, &msg);
			auth_proto_msg_free(&msg);
		}
		if (ret < 0) {
			log_error("auth socket: %s; closing the connection", error);
			conn_close_now(conn);
			return;
		}
		if (conn->closing)
			return;
	}
	buf_shrink_idle(&conn->in, 16384);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct auth_server *srv = listener->data;
	if (status < 0) {
		log_warn("auth socket accept: %s", uv_strerror(status));
		return;
	}
	struct auth_conn *conn = x_calloc(1, sizeof(*conn));
	conn->srv = srv;
	uv_pipe_init(&srv->loop, &conn->pipe, 0);
	conn->pipe.data = conn;
	if (uv_accept(listener, (uv_stream_t *)&conn->pipe) < 0) {
		uv_close((uv_handle_t *)&conn->pipe, conn_closed);
		return;
	}
	conn->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = conn;
	srv->conns = conn;
	uv_read_start((uv_stream_t *)&conn->pipe, conn_alloc, conn_read);
}

/* ---- process ---- */

char *auth_server_socket_path(const struct config *cfg)
{
	return x_asprintf("%s/run/auth.sock", cfg->data_dir);
}

static int make_dummy_hash(struct auth_server *srv)
{
	unsigned char rnd[16];
	char pw[33];
	const char *error;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	char *hash;
	if (auth_passwd_hash(srv->cfg->password_scheme, pw, &hash, &error) < 0) {
		log_error("cannot hash with %s: %s", srv->cfg->password_scheme, error);
		return -1;
	}
	free(srv->dummy_hash);
	srv->dummy_hash = hash;
	return 0;
}

static void apply_config(struct auth_server *srv)
{
	struct auth_throttle_settings set;
	auth_throttle_settings_from_config(srv->cfg, &set);
	auth_throttle_configure(srv->throttle, &set);
	enum log_level level;
	if (log_level_parse(srv->cfg->log_level, &level) == 0)
		log_set_level(level);
}

static void on_sighup(uv_signal_t *sig, int signum)
{
	struct auth_server *srv = sig->data;
	(void)signum;
	struct config *cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	if (cfg_read(cfg, srv->base_cfg->path, &errors) < 0) {
		for (size_t i = 0; i < errors.n; i++)
			log_error("%s", errors.v[i]);
		log_error("configuration not reloaded");
		strv_free(&errors);
		cfg_free(&cfg);
		return;
	}
	strv_free(&errors);
	bool scheme_changed = strcmp(cfg->password_scheme, srv->cfg->password_scheme) != 0;
	if (strcmp(cfg->data_dir, srv->base_cfg->data_dir) != 0)
		log_warn("data_dir changed; restart to use it");
	srv->cfg = cfg;
	cfg_free(&srv->reloaded);
	srv->reloaded = cfg;
	if (scheme_changed)
		(void)make_dummy_hash(srv);
	apply_config(srv);
	log_info("configuration reloaded");
}

static void handle_closed(uv_handle_t *h)
{
	(void)h;
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, handle_closed);
}

static void on_stop(uv_signal_t *sig, int signum)
{
	struct auth_server *srv = sig->data;
	(void)signum;
	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("stopping");
	uv_close((uv_handle_t *)&srv->listener, handle_closed);
	uv_close((uv_handle_t *)&srv->sig_term, handle_closed);
	uv_close((uv_handle_t *)&srv->sig_int, handle_closed);
	uv_close((uv_handle_t *)&srv->sig_hup, handle_closed);
	while (srv->conns != NULL)
		conn_close_now(srv->conns);
	unlink(srv->socket_path);
}

static int listen_socket(struct auth_server *srv)
{
	struct sockaddr_un sun;
	char *dir = x_asprintf("%s/run", srv->base_cfg->data_dir);
	int ret = mkdir_p(dir, 0750);
	free(dir);
	if (ret < 0) {
		log_error("cannot create %s/run: %s", srv->base_cfg->data_dir, strerror(errno));
		return -1;
	}
	if (strlen(srv->socket_path) >= sizeof(sun.sun_path)) {
		log_error("socket path %s is too long for a unix socket", srv->socket_path);
		return -1;
	}
	uv_pipe_init(&srv->loop, &srv->listener, 0);
	srv->listener.data = srv;
	(void)unlink(srv->socket_path);
	/* Nobody but our own user may connect, from creation on. */
	mode_t old = umask(0117);
	int rc = uv_pipe_bind(&srv->listener, srv->socket_path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
	if (rc < 0) {
		log_error("cannot listen on %s: %s", srv->socket_path, uv_strerror(rc));
		uv_close((uv_handle_t *)&srv->listener, handle_closed);
		return -1;
	}
	return 0;
}

static int server_init(struct auth_server *srv, const struct config *cfg)
{
	srv->base_cfg = srv->cfg = cfg;
	srv->socket_path = auth_server_socket_path(cfg);
	if (sodium_init() < 0) {
		log_error("libsodium initialisation failed");
		return -1;
	}
	struct auth_throttle_settings set;
	auth_throttle_settings_from_config(cfg, &set);
	srv->throttle = auth_throttle_new(&set, NULL, NULL);
	apply_config(srv);
	if (make_dummy_hash(srv) < 0)
		return -1;
	const char *error;
	struct auth_handles *h = pool_take(srv, &error);
	if (h == NULL) {
		log_error("%s", error);
		return -1;
	}
	if (auth_passwd_secret(h->pw, srv->secret) < 0) {
		log_warn("cannot keep a SCRAM secret in passwd.db; using a temporary one");
		randombytes_buf(srv->secret, sizeof(srv->secret));
	}
	pool_put(srv, h);
	return 0;
}

int auth_server_run(const struct config *cfg)
{
	struct auth_server srv;
	memset(&srv, 0, sizeof(srv));
	log_set_process("auth");
	if (uv_loop_init(&srv.loop) < 0)
		return -1;
	uv_mutex_init(&srv.pool_lock);
	int status = -1;
	if (server_init(&srv, cfg) < 0 || listen_socket(&srv) < 0)
		goto out;
	uv_signal_init(&srv.loop, &srv.sig_term);
	uv_signal_init(&srv.loop, &srv.sig_int);
	uv_signal_init(&srv.loop, &srv.sig_hup);
	srv.sig_term.data = srv.sig_int.data = srv.sig_hup.data = &srv;
	uv_signal_start(&srv.sig_term, on_stop, SIGTERM);
	uv_signal_start(&srv.sig_int, on_stop, SIGINT);
	uv_signal_start(&srv.sig_hup, on_sighup, SIGHUP);
	log_info("listening on %s", srv.socket_path);
	uv_run(&srv.loop, UV_RUN_DEFAULT);
	status = 0;
out:
	/* Close whatever is left (only on a failed start) and drain. */
	if (!srv.stopping && status < 0)
		uv_walk(&srv.loop, close_any, NULL);
	uv_run(&srv.loop, UV_RUN_DEFAULT);
	uv_loop_close(&srv.loop);
	pool_free(&srv);
	uv_mutex_destroy(&srv.pool_lock);
	auth_throttle_free(&srv.throttle);
	cfg_free(&srv.reloaded);
	free(srv.dummy_hash);
	free(srv.socket_path);
	sodium_memzero(srv.secret, sizeof(srv.secret));
	return status;
}
