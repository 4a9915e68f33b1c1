/* auth_client.c — the workers' (and webmail's) client of the auth
 * process: requests with ids over one lazily connected unix socket,
 * replies matched by id, reconnection after the auth process restarts.
 * Runs in the workers and the web process. Parses the auth process's
 * replies (trusted peer, still length-checked). */
#include "auth_client.h"
#include "auth_proto.h"
#include "auth_server.h"
#include "log.h"
#include "sasl.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* While the auth process is (re)starting, connecting is retried this
 * often for this long before requests fail with AUTH_TEMPFAIL. */
#define AUTH_CLIENT_RETRY_MS 100
#define AUTH_CLIENT_CONNECT_WAIT_MS 5000

struct auth_link;

struct auth_client {
	uv_loop_t *loop;
	char *socket_path;
	bool allow_plaintext;
	struct auth_link *link;		/* NULL until needed */
	struct auth_request *reqs;
	uint32_t next_id;
	struct buf pending;		/* lines written before connecting */
	uv_timer_t *retry;		/* waits between connection attempts */
	bool retrying;
	uint64_t connect_deadline;	/* 0 = not failing to connect */
};

/* One connection attempt and its life; abandoned (ac NULL) when it
 * fails or the client is freed, then freed when its handle closes. */
struct auth_link {
	uv_pipe_t pipe;
	uv_connect_t connect;
	struct auth_client *ac;
	bool connected;
	struct buf in;
};

struct auth_request {
	struct auth_request *prev, *next;
	struct auth_client *ac;
	uint32_t id;
	bool sasl;
	bool waiting;			/* AUTH_CONTINUE given, no response yet */
	/* Until the first reply: the request line, sent again (once) on a
	 * new connection if the old one breaks before the reply. */
	struct buf line;
	unsigned attempts;
	auth_callback_t *cb;
	auth_sasl_callback_t *scb;
	void *ctx;
};

static void link_fail(struct auth_link *link, const char *why, bool resend);
static struct auth_link *link_get(struct auth_client *ac);

static void req_free(struct auth_request *req)
{
	if (req->line.data != NULL)
		explicit_bzero(req->line.data, req->line.len);
	buf_free(&req->line);
	free(req);
}

struct auth_client *auth_client_new(uv_loop_t *loop, const struct config *cfg)
{
	struct auth_client *ac = x_calloc(1, sizeof(*ac));
	ac->loop = loop;
	ac->socket_path = auth_server_socket_path(cfg);
	ac->allow_plaintext = cfg->auth_allow_plaintext;
	ac->retry = x_calloc(1, sizeof(*ac->retry));
	uv_timer_init(loop, ac->retry);
	if (strlen(ac->socket_path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		log_error("auth client: socket path %s is too long", ac->socket_path);
	return ac;
}

static void req_unlink(struct auth_request *req)
{
	struct auth_client *ac = req->ac;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else if (ac->reqs == req)
		ac->reqs = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
}

static void link_closed(uv_handle_t *h)
{
	struct auth_link *link = h->data;
	buf_free(&link->in);
	free(link);
}

static void pending_clear(struct auth_client *ac)
{
	if (ac->pending.data != NULL)
		explicit_bzero(ac->pending.data, ac->pending.len);
	buf_free(&ac->pending);
}

static void timer_freed(uv_handle_t *h)
{
	free(h);
}

static void link_abandon(struct auth_link *link)
{
	if (link->ac != NULL && link->ac->link == link)
		link->ac->link = NULL;
	link->ac = NULL;
	if (!uv_is_closing((uv_handle_t *)&link->pipe))
		uv_close((uv_handle_t *)&link->pipe, link_closed);
}

void auth_client_free(struct auth_client **acp)
{
	struct auth_client *ac = *acp;
	if (ac == NULL)
		return;
	while (ac->reqs != NULL) {
		struct auth_request *req = ac->reqs;
		req_unlink(req);
		req_free(req);
	}
	if (ac->link != NULL)
		link_abandon(ac->link);
	uv_close((uv_handle_t *)ac->retry, timer_freed);
	pending_clear(ac);
	free(ac->socket_path);
	free(ac);
	*acp = NULL;
}

const char *auth_client_mechanisms(const struct auth_client *ac, bool secured)
{
	if (!secured && !ac->allow_plaintext)
		return NULL;
	return sasl_mech_list(true);
}

/* ---- writing ---- */

static void write_done(uv_write_t *w, int status)
{
	struct auth_link *link = w->data;
	free(w);
	if (status < 0 && status != UV_ECANCELED && link->ac != NULL)
		link_fail(link, uv_strerror(status), true);
}

static void link_write(struct auth_link *link, const char *data, size_t len)
{
	uv_write_t *w = x_malloc(sizeof(*w) + len);
	char *copy = (char *)(w + 1);
	memcpy(copy, data, len);
	w->data = link;
	uv_buf_t b = uv_buf_init(copy, (unsigned)len);
	int rc = uv_write(w, (uv_stream_t *)&link->pipe, &b, 1, write_done);
	if (rc < 0) {
		free(w);
		link_fail(link, uv_strerror(rc), true);
	}
}

static void link_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct auth_link *link = h->data;
	(void)suggested;
	b->base = buf_reserve(&link->in, 4096);
	b->len = 4096;
}

static void handle_reply(struct auth_client *ac, struct auth_proto_msg *msg, bool *bad_r)
{
	struct auth_request *req;
	for (req = ac->reqs; req != NULL; req = req->next)
		if (req->id == msg->id)
			break;
	if (req == NULL)
		return;		/* cancelled meanwhile */
	if (req->line.data != NULL)
		explicit_bzero(req->line.data, req->line.len);
	buf_free(&req->line);
	if (msg->type == AUTH_MSG_CONTINUE) {
		if (!req->sasl || req->waiting) {
			*bad_r = true;
			return;
		}
		req->waiting = true;
		req->scb(AUTH_CONTINUE, msg->args[0], req->ctx);
		return;
	}
	enum auth_verdict v;
	switch (msg->type) {
	case AUTH_MSG_OK: v = AUTH_OK; break;
	case AUTH_MSG_FAIL: v = AUTH_FAILED; break;
	case AUTH_MSG_BLOCKED: v = AUTH_BLOCKED; break;
	default: v = AUTH_TEMPFAIL; break;
	}
	const char *user = v == AUTH_OK ? msg->args[0] : NULL;
	req_unlink(req);
	if (req->sasl)
		req->scb(v, user, req->ctx);
	else
		req->cb(v, user, req->ctx);
	req_free(req);
}

static void link_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct auth_link *link = s->data;
	(void)b;
	if (link->ac == NULL)
		return;
	if (nread < 0) {
		link_fail(link, nread == UV_EOF ? "auth process closed the connection" :
			  uv_strerror((int)nread), true);
		return;
	}
	buf_commit(&link->in, (size_t)nread);
	while (link->ac != NULL) {
		struct auth_proto_msg msg;
		const char *error = "unexpected reply";
		bool bad = false;
		int ret = auth_proto_read(&link->in, true, &msg, &error);
		if (ret == 0)
			break;
		if (ret > 0) {
			/* Callbacks may start or cancel requests, not free us. */
			handle_reply(link->ac, &msg, &bad);
			auth_proto_msg_free(&msg);
		}
		if (ret < 0 || bad) {
			link_fail(link, error, false);
			return;
		}
	}
	if (link->ac != NULL)
		buf_shrink_idle(&link->in, 16384);
}

static void retry_connect(uv_timer_t *t)
{
	struct auth_client *ac = t->data;
	ac->retrying = false;
	(void)link_get(ac);
}

static void link_connected(uv_connect_t *c, int status)
{
	struct auth_link *link = c->data;
	struct auth_client *ac = link->ac;
	if (ac == NULL)
		return;
	if (status < 0) {
		/* Not there (yet): the auth process may be starting or
		 * restarting. Keep the requests and try again a little. */
		uint64_t now = uv_now(ac->loop);
		if (ac->connect_deadline == 0)
			ac->connect_deadline = now + AUTH_CLIENT_CONNECT_WAIT_MS;
		if (now < ac->connect_deadline) {
			link_abandon(link);
			ac->retrying = true;
			ac->retry->data = ac;
			uv_timer_start(ac->retry, retry_connect, AUTH_CLIENT_RETRY_MS, 0);
			return;
		}
		link_fail(link, uv_strerror(status), false);
		return;
	}
	ac->connect_deadline = 0;
	link->connected = true;
	uv_read_start((uv_stream_t *)&link->pipe, link_alloc, link_read);
	if (ac->pending.len > 0) {
		/* link_write() copies; a failure fails every request. */
		struct buf lines = ac->pending;
		buf_init(&ac->pending);
		link_write(link, lines.data, lines.len);
		explicit_bzero(lines.data, lines.len);
		buf_free(&lines);
	}
}

static struct auth_link *link_get(struct auth_client *ac)
{
	if (ac->link != NULL)
		return ac->link;
	struct auth_link *link = x_calloc(1, sizeof(*link));
	link->ac = ac;
	uv_pipe_init(ac->loop, &link->pipe, 0);
	link->pipe.data = link;
	link->connect.data = link;
	uv_pipe_connect(&link->connect, &link->pipe, ac->socket_path, link_connected);
	ac->link = link;
	return link;
}

/* The connection is gone. With resend, requests that had no reply yet
 * go again (once) on a new connection: the auth process may have been
 * restarted. The others fail with TEMPFAIL; later requests reconnect. */
static void link_fail(struct auth_link *link, const char *why, bool resend)
{
	struct auth_client *ac = link->ac;
	if (ac == NULL)
		return;
	log_warn("auth client: %s: %s", ac->socket_path, why);
	link_abandon(link);
	pending_clear(ac);
	ac->connect_deadline = 0;
	struct auth_request *all = ac->reqs, *failed = NULL;
	ac->reqs = NULL;
	while (all != NULL) {
		struct auth_request *req = all;
		all = req->next;
		req->prev = req->next = NULL;
		struct auth_request **list = &failed;
		if (resend && req->line.len > 0 && req->attempts < 2) {
			req->attempts++;
			buf_append(&ac->pending, req->line.data, req->line.len);
			list = &ac->reqs;
		}
		req->next = *list;
		if (*list != NULL)
			(*list)->prev = req;
		*list = req;
	}
	if (ac->reqs != NULL)
		(void)link_get(ac);
	while (failed != NULL) {
		struct auth_request *req = failed;
		failed = req->next;
		if (req->sasl)
			req->scb(AUTH_TEMPFAIL, NULL, req->ctx);
		else
			req->cb(AUTH_TEMPFAIL, NULL, req->ctx);
		req_free(req);
	}
}

/* Sends a line now or once connected; with keep, req keeps a copy to
 * send again after a broken connection. */
static void send_msg(struct auth_client *ac, struct auth_request *keep,
		     enum auth_proto_type type, uint32_t id, const char *const *args,
		     unsigned nargs)
{
	struct buf line = BUF_INIT;
	auth_proto_write(&line, type, id, args, nargs);
	if (keep != NULL) {
		buf_append(&keep->line, line.data, line.len);
		keep->attempts = 1;
	}
	struct auth_link *link = ac->retrying ? NULL : link_get(ac);
	if (link == NULL || !link->connected)
		buf_append(&ac->pending, line.data, line.len);
	else
		link_write(link, line.data, line.len);
	explicit_bzero(line.data, line.len);
	buf_free(&line);
}

/* ---- requests ---- */

static struct auth_request *req_new(struct auth_client *ac)
{
	struct auth_request *req = x_calloc(1, sizeof(*req));
	req->ac = ac;
	for (;;) {
		if (++ac->next_id == 0)
			ac->next_id = 1;
		struct auth_request *r;
		for (r = ac->reqs; r != NULL; r = r->next)
			if (r->id == ac->next_id)
				break;
		if (r == NULL)
			break;
	}
	req->id = ac->next_id;
	req->next = ac->reqs;
	if (ac->reqs != NULL)
		ac->reqs->prev = req;
	ac->reqs = req;
	return req;
}

struct auth_request *auth_client_verify(struct auth_client *ac, const char *service,
					const char *client_ip, const char *user,
					const char *password, auth_callback_t *cb, void *ctx)
{
	struct auth_request *req = req_new(ac);
	req->cb = cb;
	req->ctx = ctx;
	const char *args[] = { service, client_ip, user != NULL ? user : "",
			       password != NULL ? password : "" };
	send_msg(ac, req, AUTH_MSG_VERIFY, req->id, args, 4);
	return req;
}

struct auth_request *auth_client_sasl_start(struct auth_client *ac, const char *service,
					    const char *client_ip, const char *mech,
					    const char *initial_b64, auth_sasl_callback_t *cb,
					    void *ctx)
{
	struct auth_request *req = req_new(ac);
	req->sasl = true;
	req->scb = cb;
	req->ctx = ctx;
	const char *args[] = { service, client_ip, mech, initial_b64 };
	send_msg(ac, req, AUTH_MSG_START, req->id, args, initial_b64 != NULL ? 4 : 3);
	return req;
}

void auth_client_sasl_continue(struct auth_request *req, const char *response_b64,
			       auth_sasl_callback_t *cb, void *ctx)
{
	i_assert(req->sasl && req->waiting);
	req->waiting = false;
	req->scb = cb;
	req->ctx = ctx;
	const char *args[] = { response_b64 };
	send_msg(req->ac, NULL, AUTH_MSG_CONTINUE, req->id, args, 1);
}

void auth_request_cancel(struct auth_request *req)
{
	struct auth_client *ac = req->ac;
	/* The auth process drops its state; a late reply is ignored. */
	if (ac->link != NULL || ac->retrying)
		send_msg(ac, NULL, AUTH_MSG_CANCEL, req->id, NULL, 0);
	req_unlink(req);
	req_free(req);
}
