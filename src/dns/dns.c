/* dns.c — libunbound driven by a libuv loop: one ub_ctx per resolver in
 * threaded async mode, its result pipe watched with uv_poll, results
 * turned into dns_mx_reply/dns_addr_reply. Runs in the queue process
 * (and the webmail). Parses DNS answers through libunbound and
 * dns_mx_parse_rdata. */
#include "dns.h"
#include "log.h"
#include "net.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unbound.h>

#define RR_A 1
#define RR_MX 15
#define RR_AAAA 28
#define RR_CLASS_IN 1

enum query_kind { QUERY_MX, QUERY_ADDR };

struct dns_resolver {
	uv_loop_t *loop;
	struct ub_ctx *ub;
	uv_poll_t poll;
	struct dns_query *queries;	/* outstanding, doubly linked */
	struct dns_query *ready;	/* finished, waiting for the idle callback */
	uv_idle_t idle;
	bool freeing;
};

struct dns_query {
	struct dns_resolver *r;
	struct dns_query *prev, *next;
	enum query_kind kind;
	dns_mx_callback_t *mx_cb;
	dns_addr_callback_t *addr_cb;
	void *ctx;
	char *name;
	int async_id[2];
	bool outstanding[2];
	unsigned pending;
	bool on_ready;
	bool cancelled;		/* waiting for an answer only to free it */
	/* Results being gathered. */
	struct dns_mx_reply mx;
	struct dns_addr_reply addr;
	struct strv v6;
	bool any_secure_missing;
	enum dns_status st[2];
};

const char *dns_status_name(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "no such domain";
	case DNS_NODATA:
		return "no records";
	case DNS_TEMPFAIL:
		return "temporary DNS failure";
	case DNS_BOGUS:
		return "DNSSEC validation failed";
	}
	return "?";
}

static uint32_t random_u32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)random();
	return v;
}

static void query_unlink(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (r->queries == q)
		r->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static void query_free(struct dns_query *q)
{
	dns_mx_free(q->mx.mx, q->mx.n);
	strv_free(&q->addr.addrs);
	strv_free(&q->v6);
	free(q->name);
	free(q);
}

static void deliver(struct dns_query *q)
{
	if (q->kind == QUERY_MX) {
		q->mx_cb(&q->mx, q->ctx);
	} else {
		/* IPv4 first: it is what most mail servers reach reliably. */
		for (size_t i = 0; i < q->v6.n; i++)
			strv_push(&q->addr.addrs, q->v6.v[i]);
		if (q->addr.addrs.n > 0) {
			q->addr.status = DNS_OK;
			q->addr.error = NULL;
		} else if (q->st[0] == DNS_TEMPFAIL || q->st[1] == DNS_TEMPFAIL) {
			q->addr.status = DNS_TEMPFAIL;
		} else if (q->st[0] == DNS_BOGUS || q->st[1] == DNS_BOGUS) {
			q->addr.status = DNS_BOGUS;
		} else if (q->st[0] == DNS_NXDOMAIN && q->st[1] == DNS_NXDOMAIN) {
			q->addr.status = DNS_NXDOMAIN;
		} else {
			q->addr.status = DNS_NODATA;
		}
		if (q->addr.status != DNS_OK && q->addr.error == NULL)
			q->addr.error = dns_status_name(q->addr.status);
		q->addr.secure = !q->any_secure_missing;
		q->addr_cb(&q->addr, q->ctx);
	}
}

static void idle_cb(uv_idle_t *idle)
{
	struct dns_resolver *r = idle->data;
	uv_idle_stop(idle);
	while (r->ready != NULL) {
		struct dns_query *q = r->ready;
		r->ready = q->next;
		q->next = NULL;
		q->on_ready = false;
		deliver(q);
		query_free(q);
	}
}

/* The query has all its answers: hand it to the idle callback so the
 * user's callback never runs inside ub_resolve_async or ub_process. */
static void query_done(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	query_unlink(q);
	q->on_ready = true;
	q->next = NULL;
	if (r->ready == NULL) {
		r->ready = q;
	} else {
		struct dns_query *t = r->ready;
		while (t->next != NULL)
			t = t->next;
		t->next = q;
	}
	uv_idle_start(&r->idle, idle_cb);
}

static enum dns_status result_status(int err, struct ub_result *res, const char **error_r)
{
	if (err != 0 || res == NULL) {
		*error_r = err != 0 ? ub_strerror(err) : "no result";
		return DNS_TEMPFAIL;
	}
	if (res->bogus) {
		*error_r = res->why_bogus != NULL ? "DNSSEC validation failed" : "bogus answer";
		return DNS_BOGUS;
	}
	if (res->havedata)
		return DNS_OK;
	if (res->nxdomain)
		return DNS_NXDOMAIN;
	if (res->rcode != 0) {
		/* SERVFAIL, REFUSED and friends. */
		*error_r = res->rcode == 2 ? "SERVFAIL" : res->rcode == 5 ? "REFUSED" :
			"DNS error";
		return DNS_TEMPFAIL;
	}
	return DNS_NODATA;
}

static void mx_result(struct dns_query *q, int err, struct ub_result *res)
{
	const char *error = NULL;
	q->mx.status = result_status(err, res, &error);
	q->mx.error = error;
	if (q->mx.status == DNS_OK) {
		size_t n = 0;
		while (res->data[n] != NULL)
			n++;
		q->mx.mx = x_calloc(n, sizeof(*q->mx.mx));
		for (size_t i = 0; i < n; i++) {
			if (dns_mx_parse_rdata((const unsigned char *)res->data[i],
					       (size_t)res->len[i], &q->mx.mx[q->mx.n]) == 0)
				q->mx.n++;
		}
		if (q->mx.n == 0) {
			q->mx.status = DNS_TEMPFAIL;
			q->mx.error = "malformed MX records";
		}
		q->mx.null_mx = dns_mx_is_null(q->mx.mx, q->mx.n);
		q->mx.secure = res->secure != 0;
		dns_mx_sort(q->mx.mx, q->mx.n, random_u32);
	} else {
		q->mx.error = error != NULL ? error : dns_status_name(q->mx.status);
	}
}

static void addr_result(struct dns_query *q, int idx, int err, struct ub_result *res)
{
	const char *error = NULL;
	enum dns_status st = result_status(err, res, &error);
	q->st[idx] = st;
	if (error != NULL && q->addr.error == NULL)
		q->addr.error = error;
	if (st != DNS_OK)
		return;
	if (!res->secure)
		q->any_secure_missing = true;
	char text[INET6_ADDRSTRLEN];
	for (size_t i = 0; res->data[i] != NULL; i++) {
		if (idx == 0 && res->len[i] == 4 &&
		    inet_ntop(AF_INET, res->data[i], text, sizeof(text)) != NULL)
			strv_push(&q->addr.addrs, text);
		else if (idx == 1 && res->len[i] == 16 &&
			 inet_ntop(AF_INET6, res->data[i], text, sizeof(text)) != NULL)
			strv_push(&q->v6, text);
	}
}

static void ub_callback(void *data, int err, struct ub_result *res, int idx)
{
	struct dns_query *q = data;
	q->outstanding[idx] = false;
	if (q->cancelled) {
		if (res != NULL)
			ub_resolve_free(res);
		if (!q->outstanding[0] && !q->outstanding[1])
			query_free(q);
		return;
	}
	if (q->kind == QUERY_MX)
		mx_result(q, err, res);
	else
		addr_result(q, idx, err, res);
	if (res != NULL)
		ub_resolve_free(res);
	if (--q->pending == 0)
		query_done(q);
}

static void ub_callback0(void *data, int err, struct ub_result *res)
{
	ub_callback(data, err, res, 0);
}

static void ub_callback1(void *data, int err, struct ub_result *res)
{
	ub_callback(data, err, res, 1);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
	struct dns_resolver *r = p->data;
	(void)events;
	if (status < 0)
		return;
	int err = ub_process(r->ub);
	if (err != 0)
		log_warn("dns: ub_process: %s", ub_strerror(err));
}

static int apply_config(struct ub_ctx *ub, const struct config *cfg, const char **error_r)
{
	int err;
	if ((err = ub_ctx_async(ub, 1)) != 0)
		goto fail;
	/* Local resolvers (systemd-resolved, a test's unbound) are fine. */
	if ((err = ub_ctx_set_option(ub, "do-not-query-localhost:", "no")) != 0)
		goto fail;
	if (cfg->dns_resolver != NULL && cfg->dns_resolver[0] != '\0') {
		char host[NET_ADDR_STRLEN];
		uint16_t port = 53;
		if (net_parse_hostport(cfg->dns_resolver, host, sizeof(host), &port) < 0) {
			*error_r = "dns_resolver: expected ADDR or ADDR@PORT";
			return -1;
		}
		char fwd[NET_ADDR_STRLEN + 8];
		snprintf(fwd, sizeof(fwd), "%s@%u", host, (unsigned)port);
		if ((err = ub_ctx_set_fwd(ub, fwd)) != 0)
			goto fail;
		/* libunbound answers the special-use names of RFC 6761 itself
		 * (NXDOMAIN for test., invalid., ...); a resolver named in the
		 * configuration decides about them instead (test setups use
		 * domains under test.). */
		static const char *const special[] = { "test. transparent", "invalid. transparent",
						       "local. transparent", "home.arpa. transparent" };
		for (size_t i = 0; i < N_ELEMENTS(special); i++)
			if ((err = ub_ctx_set_option(ub, "local-zone:", special[i])) != 0)
				goto fail;
	} else {
		/* The system's resolvers; without them unbound recurses
		 * from the root itself, which also works. */
		if (ub_ctx_resolvconf(ub, NULL) != 0)
			log_warn("dns: cannot read /etc/resolv.conf; resolving from the root");
		(void)ub_ctx_hosts(ub, NULL);
	}
	if (cfg->dns_trust_anchor != NULL && cfg->dns_trust_anchor[0] != '\0' &&
	    (err = ub_ctx_add_ta_file(ub, cfg->dns_trust_anchor)) != 0)
		goto fail;
	return 0;
fail:
	*error_r = ub_strerror(err);
	return -1;
}

struct dns_resolver *dns_resolver_new(uv_loop_t *loop, const struct config *cfg,
				      const char **error_r)
{
	struct ub_ctx *ub = ub_ctx_create();
	if (ub == NULL) {
		*error_r = "cannot create a libunbound context";
		return NULL;
	}
	if (apply_config(ub, cfg, error_r) < 0) {
		ub_ctx_delete(ub);
		return NULL;
	}
	struct dns_resolver *r = x_calloc(1, sizeof(*r));
	r->loop = loop;
	r->ub = ub;
	if (uv_poll_init(loop, &r->poll, ub_fd(ub)) != 0) {
		ub_ctx_delete(ub);
		free(r);
		*error_r = "cannot watch the libunbound descriptor";
		return NULL;
	}
	r->poll.data = r;
	uv_idle_init(loop, &r->idle);
	r->idle.data = r;
	return r;
}

static void resolver_closed(uv_handle_t *h)
{
	struct dns_resolver *r = h->data;
	if (h == (uv_handle_t *)&r->poll) {
		uv_close((uv_handle_t *)&r->idle, resolver_closed);
		return;
	}
	free(r);
}

void dns_resolver_free(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;
	if (r == NULL)
		return;
	*rp = NULL;
	r->freeing = true;
	/* Deleting the context stops its thread; no callback follows. */
	ub_ctx_delete(r->ub);
	r->ub = NULL;
	while (r->queries != NULL) {
		struct dns_query *q = r->queries;
		query_unlink(q);
		query_free(q);
	}
	while (r->ready != NULL) {
		struct dns_query *q = r->ready;
		r->ready = q->next;
		query_free(q);
	}
	uv_poll_stop(&r->poll);
	uv_close((uv_handle_t *)&r->poll, resolver_closed);
}

static struct dns_query *query_new(struct dns_resolver *r, enum query_kind kind,
				   const char *name, void *ctx)
{
	struct dns_query *q = x_calloc(1, sizeof(*q));
	q->r = r;
	q->kind = kind;
	q->ctx = ctx;
	q->name = x_strdup(name);
	strv_init(&q->addr.addrs);
	strv_init(&q->v6);
	q->next = r->queries;
	if (r->queries != NULL)
		r->queries->prev = q;
	r->queries = q;
	uv_poll_start(&r->poll, UV_READABLE, poll_cb);
	return q;
}

static void start(struct dns_query *q, int idx, int rrtype)
{
	q->pending++;
	q->outstanding[idx] = true;
	int err = ub_resolve_async(q->r->ub, q->name, rrtype, RR_CLASS_IN, q,
				   idx == 0 ? ub_callback0 : ub_callback1, &q->async_id[idx]);
	if (err != 0) {
		/* Reported like any other failure, from the loop. */
		ub_callback(q, err, NULL, idx);
	}
}

struct dns_query *dns_lookup_mx(struct dns_resolver *r, const char *domain,
				dns_mx_callback_t *cb, void *ctx)
{
	struct dns_query *q = query_new(r, QUERY_MX, domain, ctx);
	q->mx_cb = cb;
	q->pending = 1;	/* held until every start() ran */
	start(q, 0, RR_MX);
	if (--q->pending == 0)
		query_done(q);
	return q;
}

struct dns_query *dns_lookup_addr(struct dns_resolver *r, const char *host,
				  dns_addr_callback_t *cb, void *ctx)
{
	struct dns_query *q = query_new(r, QUERY_ADDR, host, ctx);
	q->addr_cb = cb;
	q->pending = 1;
	start(q, 0, RR_A);
	start(q, 1, RR_AAAA);
	if (--q->pending == 0)
		query_done(q);
	return q;
}

void dns_query_cancel(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	if (q->on_ready) {
		/* Finished: take it off the ready list. */
		struct dns_query **pp = &r->ready;
		while (*pp != NULL && *pp != q)
			pp = &(*pp)->next;
		if (*pp == q)
			*pp = q->next;
		query_free(q);
		return;
	}
	for (int i = 0; i < 2; i++) {
		if (q->outstanding[i] && ub_cancel(r->ub, q->async_id[i]) == 0)
			q->outstanding[i] = false;
	}
	query_unlink(q);
	if (q->outstanding[0] || q->outstanding[1]) {
		/* An answer is in flight: free the query when it arrives. */
		q->cancelled = true;
		return;
	}
	query_free(q);
}
