/* delivery_dest.c — per-domain routing, connection pooling and
 * concurrency for outbound mail (see delivery_dest.h). Runs in the queue
 * process. Consumes DNS answers (through src/dns) and connection
 * outcomes; parses no network bytes itself. */
#include "delivery_dest.h"
#include "log.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEST_MAX_HOSTS 16
/* A destination whose every host failed is not tried again for this
 * long (new messages for it are deferred at once); `queue flush` forgets. */
#define DEST_DEAD_MS 60000

enum dest_state {
	DEST_NEW,		/* nothing looked up yet */
	DEST_RESOLVING,
	DEST_READY,		/* hosts known */
};

struct dest_host {
	char *name;		/* MX host name (or the domain) */
	char *ip;
	bool failed;		/* could not be used during this dest's life */
	bool tls_off;		/* STARTTLS failed under policy may */
};

struct dest;

struct addr_ctx {
	struct dest *d;
	size_t idx;
};

/* One connection of a destination. */
struct dest_conn {
	struct dest *d;
	struct delivery_client *client;
	struct dest_conn *next;
	uv_timer_t idle;
	size_t host;
	bool ready;		/* between transactions */
	bool busy;		/* has a transaction */
	bool closing;
};

struct dest {
	struct delivery_dests *ds;
	struct dest *next;
	char *domain;
	enum delivery_tls tls;
	enum dest_state state;
	struct delivery_txn *pending, *pending_tail;
	size_t n_pending;
	struct dest_conn *conns;
	unsigned n_conns;
	unsigned n_connecting;	/* conns not yet ready for the first time */
	struct dest_host hosts[DEST_MAX_HOSTS];
	size_t n_hosts;
	/* Lookups in flight. */
	struct dns_query *mx_query;
	struct dns_query *addr_query[DEST_MAX_HOSTS];
	struct addr_ctx addr_ctx[DEST_MAX_HOSTS];
	char *mx_names[DEST_MAX_HOSTS];
	struct strv mx_addrs[DEST_MAX_HOSTS];
	size_t n_mx, n_addr_pending;
	bool implicit_mx;
	char *last_error;
};

struct dead_dest {
	struct dead_dest *next;
	char *domain;
	char *error;
	uint64_t until;
};

struct delivery_dests {
	uv_loop_t *loop;
	struct dead_dest *dead;
	const struct config *cfg;
	struct dns_resolver *dns;
	struct delivery_client_params client;
	delivery_txn_done_t *done;
	void *ctx;
	struct dest *dests;
	unsigned n_conns;
	unsigned n_txns;	/* submitted, not yet done */
	bool shutting_down;
};

static void dest_run(struct dest *d);
static void dests_run_all(struct delivery_dests *ds);

static void dead_free(struct dead_dest *x)
{
	free(x->domain);
	free(x->error);
	free(x);
}

/* The cached failure of domain, or NULL; drops expired entries. */
static const struct dead_dest *dead_find(struct delivery_dests *ds, const char *domain)
{
	uint64_t now = uv_now(ds->loop);
	struct dead_dest **pp = &ds->dead;
	while (*pp != NULL) {
		struct dead_dest *x = *pp;
		if (x->until <= now) {
			*pp = x->next;
			dead_free(x);
			continue;
		}
		if (strcmp(x->domain, domain) == 0)
			return x;
		pp = &x->next;
	}
	return NULL;
}

static void dead_add(struct delivery_dests *ds, const char *domain, const char *error)
{
	if (dead_find(ds, domain) != NULL)
		return;
	struct dead_dest *x = x_calloc(1, sizeof(*x));
	x->domain = x_strdup(domain);
	x->error = x_strdup(error);
	x->until = uv_now(ds->loop) + DEST_DEAD_MS;
	x->next = ds->dead;
	ds->dead = x;
}

enum delivery_tls delivery_dest_tls_policy(const struct config *cfg, const char *domain)
{
	enum delivery_tls tls = DELIVERY_TLS_MAY;
	(void)delivery_tls_parse(cfg->smtp_out_tls, &tls);
	size_t dlen = strlen(domain);
	for (size_t i = 0; i < cfg->smtp_out_tls_policy.n; i++) {
		char name[256], pol[16];
		if (sscanf(cfg->smtp_out_tls_policy.v[i], "%255s %15s", name, pol) != 2)
			continue;
		size_t nlen = strlen(name);
		bool match = strcasecmp(name, domain) == 0 ||
			(name[0] == '.' && dlen > nlen &&
			 strcasecmp(domain + dlen - nlen, name) == 0);
		enum delivery_tls t;
		if (match && delivery_tls_parse(pol, &t) == 0)
			return t;
	}
	return tls;
}

/* Transactions. */

static void txn_fail_all(struct delivery_txn *t, enum delivery_result_kind kind,
			 const char *enhanced, const char *text)
{
	for (size_t i = 0; i < t->n; i++) {
		struct delivery_result *r = &t->res[i];
		if (r->kind != DELIVERY_RESULT_NONE)
			continue;
		r->kind = kind;
		snprintf(r->enhanced, sizeof(r->enhanced), "%s", enhanced);
		free(r->text);
		r->text = x_strdup(text);
		r->remote = false;
	}
}

static void txn_report(struct delivery_dests *ds, struct delivery_txn *t)
{
	ds->n_txns--;
	ds->done(t, ds->ctx);
}

static struct delivery_txn *pending_pop(struct dest *d)
{
	struct delivery_txn *t = d->pending;
	if (t == NULL)
		return NULL;
	d->pending = t->next;
	if (d->pending == NULL)
		d->pending_tail = NULL;
	t->next = NULL;
	d->n_pending--;
	return t;
}

static void fail_pending(struct dest *d, enum delivery_result_kind kind, const char *enhanced,
			 const char *text)
{
	struct delivery_txn *t;
	while ((t = pending_pop(d)) != NULL) {
		for (size_t i = 0; i < t->n; i++) {
			free(t->res[i].text);
			memset(&t->res[i], 0, sizeof(t->res[i]));
		}
		txn_fail_all(t, kind, enhanced, text);
		txn_report(d->ds, t);
	}
}

/* Destinations. */

static void dest_forget_hosts(struct dest *d)
{
	for (size_t i = 0; i < d->n_hosts; i++) {
		free(d->hosts[i].name);
		free(d->hosts[i].ip);
	}
	d->n_hosts = 0;
	for (size_t i = 0; i < d->n_mx; i++) {
		if (d->addr_query[i] != NULL)
			dns_query_cancel(d->addr_query[i]);
		d->addr_query[i] = NULL;
		free(d->mx_names[i]);
		d->mx_names[i] = NULL;
		strv_free(&d->mx_addrs[i]);
	}
	d->n_mx = 0;
	d->n_addr_pending = 0;
	if (d->mx_query != NULL)
		dns_query_cancel(d->mx_query);
	d->mx_query = NULL;
	d->state = DEST_NEW;
}

static void dest_free_if_idle(struct dest *d)
{
	if (d->n_pending > 0 || d->conns != NULL || d->state == DEST_RESOLVING)
		return;
	struct delivery_dests *ds = d->ds;
	struct dest **pp = &ds->dests;
	while (*pp != d)
		pp = &(*pp)->next;
	*pp = d->next;
	dest_forget_hosts(d);
	free(d->domain);
	free(d->last_error);
	free(d);
}

static void set_error(struct dest *d, const char *text)
{
	free(d->last_error);
	d->last_error = x_strdup(text);
}

static void add_host(struct dest *d, const char *name, const char *ip)
{
	if (d->n_hosts >= DEST_MAX_HOSTS)
		return;
	struct dest_host *h = &d->hosts[d->n_hosts++];
	memset(h, 0, sizeof(*h));
	h->name = x_strdup(name);
	h->ip = x_strdup(ip);
}

static void addresses_done(struct dest *d)
{
	for (size_t i = 0; i < d->n_mx; i++)
		for (size_t j = 0; j < d->mx_addrs[i].n; j++)
			add_host(d, d->mx_names[i], d->mx_addrs[i].v[j]);
	if (d->n_hosts == 0) {
		d->state = DEST_NEW;
		if (d->implicit_mx) {
			char *text = x_asprintf("domain %s has no MX and no address records",
						d->domain);
			fail_pending(d, DELIVERY_RESULT_PERM, "5.1.2", text);
			free(text);
		} else {
			char *text = x_asprintf("no address for the MX hosts of %s%s%s", d->domain,
						d->last_error != NULL ? ": " : "",
						d->last_error != NULL ? d->last_error : "");
			fail_pending(d, DELIVERY_RESULT_TEMP, "4.4.3", text);
			free(text);
		}
		dest_free_if_idle(d);
		return;
	}
	d->state = DEST_READY;
	dest_run(d);
}

static void addr_cb(const struct dns_addr_reply *reply, void *ctx)
{
	struct addr_ctx *ac = ctx;
	struct dest *d = ac->d;
	size_t idx = ac->idx;
	d->addr_query[idx] = NULL;
	if (reply->status == DNS_OK)
		strv_copy(&d->mx_addrs[idx], &reply->addrs);
	else {
		char *text = x_asprintf("%s: %s", d->mx_names[idx],
					reply->error != NULL ? reply->error : dns_status_name(reply->status));
		set_error(d, text);
		free(text);
	}
	if (--d->n_addr_pending == 0)
		addresses_done(d);
}

static void lookup_addresses(struct dest *d)
{
	d->n_addr_pending = d->n_mx;
	for (size_t i = 0; i < d->n_mx; i++) {
		strv_init(&d->mx_addrs[i]);
		d->addr_query[i] = NULL;
	}
	for (size_t i = 0; i < d->n_mx; i++) {
		d->addr_ctx[i].d = d;
		d->addr_ctx[i].idx = i;
		d->addr_query[i] = dns_lookup_addr(d->ds->dns, d->mx_names[i], addr_cb,
						   &d->addr_ctx[i]);
	}
}

static void mx_cb(const struct dns_mx_reply *reply, void *ctx)
{
	struct dest *d = ctx;
	d->mx_query = NULL;
	char *text;
	switch (reply->status) {
	case DNS_OK:
		if (reply->null_mx) {
			d->state = DEST_NEW;
			text = x_asprintf("domain %s does not accept mail (null MX)", d->domain);
			fail_pending(d, DELIVERY_RESULT_PERM, "5.1.10", text);
			free(text);
			dest_free_if_idle(d);
			return;
		}
		for (size_t i = 0; i < reply->n && d->n_mx < DEST_MAX_HOSTS; i++) {
			if (reply->mx[i].host[0] == '\0')
				continue;
			d->mx_names[d->n_mx++] = x_strdup(reply->mx[i].host);
		}
		d->implicit_mx = false;
		break;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, the domain itself is the host. */
		d->mx_names[d->n_mx++] = x_strdup(d->domain);
		d->implicit_mx = true;
		break;
	case DNS_NXDOMAIN:
		d->state = DEST_NEW;
		text = x_asprintf("domain %s not found", d->domain);
		fail_pending(d, DELIVERY_RESULT_PERM, "5.1.2", text);
		free(text);
		dest_free_if_idle(d);
		return;
	case DNS_TEMPFAIL:
	case DNS_BOGUS:
		d->state = DEST_NEW;
		text = x_asprintf("MX lookup for %s failed: %s", d->domain,
				  reply->error != NULL ? reply->error : dns_status_name(reply->status));
		fail_pending(d, DELIVERY_RESULT_TEMP, "4.4.3", text);
		free(text);
		dest_free_if_idle(d);
		return;
	}
	if (d->n_mx == 0) {
		d->state = DEST_NEW;
		fail_pending(d, DELIVERY_RESULT_TEMP, "4.4.3", "no usable MX host");
		dest_free_if_idle(d);
		return;
	}
	lookup_addresses(d);
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]": deliver to that address. */
static bool address_literal(struct dest *d)
{
	size_t len = strlen(d->domain);
	if (len < 3 || d->domain[0] != '[' || d->domain[len - 1] != ']')
		return false;
	char ip[64];
	const char *p = d->domain + 1;
	size_t n = len - 2;
	if (n > 5 && strncasecmp(p, "IPv6:", 5) == 0) {
		p += 5;
		n -= 5;
	}
	if (n >= sizeof(ip))
		return false;
	memcpy(ip, p, n);
	ip[n] = '\0';
	unsigned char tmp[16];
	if (inet_pton(AF_INET, ip, tmp) != 1 && inet_pton(AF_INET6, ip, tmp) != 1)
		return false;
	add_host(d, d->domain, ip);
	return true;
}

static void dest_resolve(struct dest *d)
{
	d->state = DEST_RESOLVING;
	if (address_literal(d)) {
		d->state = DEST_READY;
		dest_run(d);
		return;
	}
	d->mx_query = dns_lookup_mx(d->ds->dns, d->domain, mx_cb, d);
}

/* Connections. */

static void conn_ready(struct delivery_client *c, void *ctx);
static void conn_txn_done(struct delivery_client *c, struct delivery_txn *t, void *ctx);
static void conn_closed(struct delivery_client *c, const char *reason, bool was_ready,
			bool tls_failed, void *ctx);

static const struct delivery_client_ops conn_ops = {
	.ready = conn_ready,
	.txn_done = conn_txn_done,
	.closed = conn_closed,
};

static void idle_cb(uv_timer_t *t)
{
	struct dest_conn *dc = t->data;
	if (dc->ready && !dc->busy && !dc->closing) {
		dc->closing = true;
		delivery_client_quit(dc->client);
	}
}

static void conn_ready(struct delivery_client *c, void *ctx)
{
	struct dest_conn *dc = ctx;
	struct dest *d = dc->d;
	(void)c;
	if (!dc->ready && !dc->busy) {
		/* First time ready. */
		d->n_connecting--;
	}
	dc->ready = true;
	dc->busy = false;
	if (dc->closing)
		return;
	if (d->ds->shutting_down) {
		dc->closing = true;
		delivery_client_quit(dc->client);
		return;
	}
	struct delivery_txn *t = pending_pop(d);
	if (t != NULL) {
		uv_timer_stop(&dc->idle);
		dc->busy = true;
		delivery_client_send(dc->client, t);
		return;
	}
	uv_timer_start(&dc->idle, idle_cb, d->ds->cfg->smtp_out_idle_time * 1000 + 1, 0);
}

static void conn_txn_done(struct delivery_client *c, struct delivery_txn *t, void *ctx)
{
	struct dest_conn *dc = ctx;
	struct dest *d = dc->d;
	(void)c;
	dc->busy = false;
	if (t->retry_new_connection && t->requeued < 2 && !d->ds->shutting_down) {
		/* Back to the front of the line; conn_closed follows and
		 * opens a new connection for it. */
		t->requeued++;
		log_info("delivery: %s closed a reused connection; trying a new one",
			 t->mta != NULL ? t->mta : d->domain);
		for (size_t i = 0; i < t->n; i++) {
			free(t->res[i].text);
			memset(&t->res[i], 0, sizeof(t->res[i]));
		}
		t->next = d->pending;
		d->pending = t;
		if (d->pending_tail == NULL)
			d->pending_tail = t;
		d->n_pending++;
		return;
	}
	txn_report(d->ds, t);
}

static void dc_free(uv_handle_t *h)
{
	free(h->data);
}

static void conn_closed(struct delivery_client *c, const char *reason, bool was_ready,
			bool tls_failed, void *ctx)
{
	struct dest_conn *dc = ctx;
	struct dest *d = dc->d;
	struct delivery_dests *ds = d->ds;
	(void)c;
	struct dest_conn **pp = &d->conns;
	while (*pp != dc)
		pp = &(*pp)->next;
	*pp = dc->next;
	d->n_conns--;
	ds->n_conns--;
	if (!was_ready) {
		d->n_connecting--;
		if (dc->host < d->n_hosts) {
			struct dest_host *h = &d->hosts[dc->host];
			if (tls_failed && d->tls == DELIVERY_TLS_MAY && !h->tls_off) {
				/* Opportunistic TLS that does not work: plain text. */
				h->tls_off = true;
				log_info("delivery: TLS with %s[%s] failed (%s); trying without",
					 h->name, h->ip, reason);
			} else {
				h->failed = true;
				log_info("delivery: %s", reason);
			}
		}
		set_error(d, reason);
	}
	uv_close((uv_handle_t *)&dc->idle, dc_free);
	if (ds->shutting_down) {
		fail_pending(d, DELIVERY_RESULT_TEMP, "4.3.2", "the queue process is stopping");
		dest_free_if_idle(d);
		return;
	}
	dest_run(d);
	dests_run_all(ds);
}

static bool start_conn(struct dest *d)
{
	struct delivery_dests *ds = d->ds;
	size_t h;
	for (h = 0; h < d->n_hosts; h++)
		if (!d->hosts[h].failed)
			break;
	if (h == d->n_hosts)
		return false;
	struct dest_conn *dc = x_calloc(1, sizeof(*dc));
	dc->d = d;
	dc->host = h;
	uv_timer_init(ds->loop, &dc->idle);
	dc->idle.data = dc;
	dc->next = d->conns;
	d->conns = dc;
	d->n_conns++;
	d->n_connecting++;
	ds->n_conns++;
	dc->client = delivery_client_new(&ds->client, d->hosts[h].name, d->hosts[h].ip, d->tls,
					 d->hosts[h].tls_off, &conn_ops, dc);
	return true;
}

static void dest_run(struct dest *d)
{
	struct delivery_dests *ds = d->ds;
	if (ds->shutting_down)
		return;
	switch (d->state) {
	case DEST_NEW:
		if (d->n_pending > 0)
			dest_resolve(d);
		return;
	case DEST_RESOLVING:
		return;
	case DEST_READY:
		break;
	}
	/* Idle connections first. */
	for (struct dest_conn *dc = d->conns; dc != NULL && d->n_pending > 0; dc = dc->next) {
		if (dc->ready && !dc->busy && !dc->closing) {
			struct delivery_txn *t = pending_pop(d);
			uv_timer_stop(&dc->idle);
			dc->busy = true;
			delivery_client_send(dc->client, t);
		}
	}
	while (d->n_pending > d->n_connecting &&
	       d->n_conns < ds->cfg->smtp_out_dest_concurrency &&
	       ds->n_conns < ds->cfg->smtp_out_max_connections) {
		if (!start_conn(d))
			break;
	}
	if (d->n_pending > 0 && d->n_conns == 0) {
		/* Every host failed. */
		bool all_failed = true;
		for (size_t h = 0; h < d->n_hosts; h++)
			if (!d->hosts[h].failed)
				all_failed = false;
		if (all_failed) {
			char *text = x_asprintf("%s", d->last_error != NULL ? d->last_error :
						"no MX host could be reached");
			dead_add(ds, d->domain, text);
			fail_pending(d, DELIVERY_RESULT_TEMP, "4.4.1", text);
			free(text);
			dest_forget_hosts(d);
		}
	}
	dest_free_if_idle(d);
}

static void dests_run_all(struct delivery_dests *ds)
{
	struct dest *d = ds->dests;
	while (d != NULL && ds->n_conns < ds->cfg->smtp_out_max_connections) {
		struct dest *next = d->next;
		if (d->n_pending > d->n_connecting && d->state == DEST_READY)
			dest_run(d);
		d = next;
	}
}

struct delivery_dests *delivery_dests_new(uv_loop_t *loop, const struct config *cfg,
					  struct dns_resolver *dns,
					  const struct delivery_client_params *client,
					  delivery_txn_done_t *done, void *ctx)
{
	struct delivery_dests *ds = x_calloc(1, sizeof(*ds));
	ds->loop = loop;
	ds->cfg = cfg;
	ds->dns = dns;
	ds->client = *client;
	ds->done = done;
	ds->ctx = ctx;
	return ds;
}

void delivery_dests_free(struct delivery_dests **dsp)
{
	struct delivery_dests *ds = *dsp;
	if (ds == NULL)
		return;
	*dsp = NULL;
	delivery_dests_reset_hosts(ds);
	while (ds->dests != NULL) {
		struct dest *d = ds->dests;
		ds->dests = d->next;
		dest_forget_hosts(d);
		free(d->domain);
		free(d->last_error);
		free(d);
	}
	free(ds);
}

void delivery_dests_submit(struct delivery_dests *ds, const char *domain,
			   struct delivery_txn *txn)
{
	ds->n_txns++;
	txn->next = NULL;
	if (ds->shutting_down) {
		txn_fail_all(txn, DELIVERY_RESULT_TEMP, "4.3.2", "the queue process is stopping");
		txn_report(ds, txn);
		return;
	}
	struct dest *d;
	for (d = ds->dests; d != NULL; d = d->next)
		if (strcmp(d->domain, domain) == 0)
			break;
	const struct dead_dest *dead = d == NULL ? dead_find(ds, domain) : NULL;
	if (dead != NULL) {
		txn_fail_all(txn, DELIVERY_RESULT_TEMP, "4.4.1", dead->error);
		txn_report(ds, txn);
		return;
	}
	if (d == NULL) {
		d = x_calloc(1, sizeof(*d));
		d->ds = ds;
		d->domain = x_strdup(domain);
		d->tls = delivery_dest_tls_policy(ds->cfg, domain);
		d->next = ds->dests;
		ds->dests = d;
	}
	if (d->pending_tail != NULL)
		d->pending_tail->next = txn;
	else
		d->pending = txn;
	d->pending_tail = txn;
	d->n_pending++;
	dest_run(d);
}

void delivery_dests_reset_hosts(struct delivery_dests *ds)
{
	while (ds->dead != NULL) {
		struct dead_dest *x = ds->dead;
		ds->dead = x->next;
		dead_free(x);
	}
	for (struct dest *d = ds->dests; d != NULL; d = d->next)
		for (size_t h = 0; h < d->n_hosts; h++)
			d->hosts[h].failed = false;
}

void delivery_dests_reconfigure(struct delivery_dests *ds, const struct config *cfg,
				struct dns_resolver *dns,
				const struct delivery_client_params *client)
{
	ds->cfg = cfg;
	ds->dns = dns;
	ds->client = *client;
	for (struct dest *d = ds->dests; d != NULL; d = d->next)
		d->tls = delivery_dest_tls_policy(cfg, d->domain);
}

void delivery_dests_shutdown(struct delivery_dests *ds)
{
	ds->shutting_down = true;
	struct dest *d = ds->dests;
	while (d != NULL) {
		struct dest *next = d->next;
		fail_pending(d, DELIVERY_RESULT_TEMP, "4.3.2", "the queue process is stopping");
		if (d->state == DEST_RESOLVING)
			dest_forget_hosts(d);
		for (struct dest_conn *dc = d->conns; dc != NULL; dc = dc->next) {
			dc->closing = true;
			delivery_client_abort(dc->client, "the queue process is stopping");
		}
		dest_free_if_idle(d);
		d = next;
	}
}

bool delivery_dests_busy(const struct delivery_dests *ds)
{
	return ds->n_conns > 0 || ds->n_txns > 0;
}
