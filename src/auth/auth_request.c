/* auth_request.c — the auth process's requests: VERIFY and SASL
 * exchanges, password checks in the libuv thread pool, the failure
 * throttle with delayed replies. Runs in the auth process (the only
 * reader of passwd.db). Parses untrusted input: worker requests carrying
 * client data, and client SASL messages through the mechanisms. */
#include "auth_server.h"
#include "auth_server_private.h"
#include "auth_addr.h"
#include "auth_base64.h"
#include "log.h"
#include "str.h"
#include "xalloc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

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
		auth_conn_close(conn);
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
	struct auth_handles *h = auth_server_pool_take(req->srv, &error);
	if (h == NULL) {
		req->result = WORK_TEMPFAIL;
		req->why = "cannot open the account databases";
		return;
	}
	if (req->kind == WORK_VERIFY)
		job_verify(req, h);
	else
		job_lookup(req, h);
	auth_server_pool_put(req->srv, h);
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
int auth_request_handle(struct auth_conn *conn, const struct auth_proto_msg *msg)
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


void auth_request_drop_all(struct auth_conn *conn)
{
	while (conn->reqs != NULL) {
		struct auth_req *req = conn->reqs;
		if (req->work_busy)
			req_detach(req);	/* job_done frees it */
		else
			req_free(req);
	}
}
