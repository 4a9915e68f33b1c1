/* web_session.c — webmail sessions: random ids in a hash table, the
 * cookie that names them (HttpOnly, Secure, SameSite=Strict), CSRF
 * tokens, idle expiry, event streams and uploads held per session.
 * Runs in the web process. Reads the untrusted Cookie header. */
#include "web_private.h"
#include "web_list.h"
#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define COOKIE_NAME "correu_session"

struct web_sse {
	struct web_sse *next;
	struct web_req *req;
};

static void random_hex(char out[65])
{
	unsigned char raw[32];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0)
			log_fatal("getrandom failed");
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static size_t bucket_of(const struct web *w, const char *id)
{
	/* Ids are random: their first bytes are a fine hash. */
	size_t h = 0;
	for (int i = 0; i < 12; i++)
		h = h * 16 + (size_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	return h % w->n_buckets;
}

void web_sessions_init(struct web *w)
{
	w->n_buckets = 4096;
	w->buckets = x_calloc(w->n_buckets, sizeof(*w->buckets));
}

static void session_free(struct web_session *s)
{
	while (s->uploads != NULL) {
		struct web_upload *u = s->uploads;
		s->uploads = u->next;
		free(u->filename);
		free(u->type);
		buf_free(&u->data);
		free(u);
	}
	web_list_cache_free(&s->cache);
	if (s->folders != NULL)
		json_decref(s->folders);
	free(s->user);
	free(s);
}

void web_session_ref(struct web_session *s)
{
	s->refs++;
}

void web_session_unref(struct web_session **sp)
{
	struct web_session *s = *sp;
	if (s == NULL)
		return;
	*sp = NULL;
	i_assert(s->refs > 0);
	if (--s->refs == 0)
		session_free(s);
}

static void imap_changed(void *ctx, const char *mailbox, bool messages)
{
	struct web_session *s = ctx;
	/* Flags alone leave a sorted list as it is (re-sorting a large
	 * folder for every message someone reads elsewhere is costly). */
	if (messages)
		web_session_cache_clear(s);
	else
		web_session_flags_changed(s);
	json_t *o = json_pack("{s:s}", "folder", mailbox);
	char *js = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	web_session_notify(s, "change", js);
	free(js);
}

static void imap_lost(void *ctx, const char *reason)
{
	struct web_session *s = ctx;
	web_session_end(s, reason);
}

static const struct web_imap_events imap_events = {
	.on_change = imap_changed,
	.on_lost = imap_lost,
};

const struct web_imap_events *web_session_imap_events(void);
const struct web_imap_events *web_session_imap_events(void)
{
	return &imap_events;
}

struct web_session *web_session_new(struct web *w, const char *user, struct web_imap *imap)
{
	struct web_session *s = x_calloc(1, sizeof(*s));
	s->w = w;
	random_hex(s->id);
	random_hex(s->csrf);
	s->user = x_strdup(user);
	s->imap = imap;
	s->last_used = uv_now(w->loop);
	s->refs = 1;	/* the table's */
	size_t b = bucket_of(w, s->id);
	s->next = w->buckets[b];
	w->buckets[b] = s;
	w->n_sessions++;
	return s;
}

struct web_session *web_session_lookup(struct web *w, const struct http_request *req)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		if (strcmp(req->headers[i].name, "cookie") != 0)
			continue;
		const char *p = req->headers[i].value;
		while (*p != '\0') {
			while (*p == ' ' || *p == ';')
				p++;
			const char *e = strchr(p, ';');
			size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
			size_t nlen = strlen(COOKIE_NAME);
			if (len == nlen + 1 + 64 && strncmp(p, COOKIE_NAME "=", nlen + 1) == 0) {
				const char *id = p + nlen + 1;
				bool hex = strspn(id, "0123456789abcdef") >= 64;
				if (hex) {
					for (struct web_session *s = w->buckets[bucket_of(w, id)];
					     s != NULL; s = s->next) {
						if (!s->dead && mem_equal_ct(s->id, id, 64)) {
							s->last_used = uv_now(w->loop);
							return s;
						}
					}
				}
			}
			p += len;
		}
	}
	return NULL;
}

char *web_session_cookie(const struct web_session *s)
{
	return x_asprintf("Set-Cookie: " COOKIE_NAME "=%s; Path=/; Secure; HttpOnly; "
			  "SameSite=Strict\r\n", s->id);
}

const char *web_session_clear_cookie(void)
{
	return "Set-Cookie: " COOKIE_NAME "=; Path=/; Secure; HttpOnly; SameSite=Strict; "
		"Max-Age=0\r\n";
}

void web_session_end(struct web_session *s, const char *why)
{
	if (s->dead)
		return;
	s->dead = true;
	log_info("session of %s ended (%s)", s->user, why);
	struct web *w = s->w;
	struct web_session **pp = &w->buckets[bucket_of(w, s->id)];
	while (*pp != NULL && *pp != s)
		pp = &(*pp)->next;
	if (*pp == s) {
		*pp = s->next;
		w->n_sessions--;
	}
	while (s->streams != NULL) {
		struct web_sse *st = s->streams;
		s->streams = st->next;
		if (!web_req_gone(st->req)) {
			static const char bye[] = "event: logout\ndata: {}\n\n";
			web_stream_write(st->req, bye, sizeof(bye) - 1);
			web_stream_end(st->req);
		} else {
			web_req_abandon(st->req);
		}
		free(st);
	}
	/* Callbacks of pending IMAP commands run now and see s->dead. */
	web_imap_free(&s->imap);
	web_session_unref(&s);
}

static void drop_gone_streams(struct web_session *s)
{
	struct web_sse **pp = &s->streams;
	while (*pp != NULL) {
		struct web_sse *st = *pp;
		if (web_req_gone(st->req)) {
			*pp = st->next;
			web_req_abandon(st->req);
			free(st);
		} else {
			pp = &st->next;
		}
	}
	if (s->imap != NULL)
		web_imap_set_watch(s->imap, s->streams != NULL);
}

void web_session_notify(struct web_session *s, const char *event, const char *data_json)
{
	struct buf b = BUF_INIT;
	buf_appendf(&b, "event: %s\ndata: %s\n\n", event, data_json);
	for (struct web_sse *st = s->streams; st != NULL; st = st->next)
		web_stream_write(st->req, b.data, b.len);
	buf_free(&b);
	drop_gone_streams(s);
}

void web_session_add_stream(struct web_session *s, struct web_req *r)
{
	struct web_sse *st = x_calloc(1, sizeof(*st));
	st->req = r;
	st->next = s->streams;
	s->streams = st;
	if (s->imap != NULL)
		web_imap_set_watch(s->imap, true);
}

void web_sessions_sweep(struct web *w)
{
	uint64_t now = uv_now(w->loop);
	for (size_t b = 0; b < w->n_buckets; b++) {
		struct web_session *s = w->buckets[b];
		while (s != NULL) {
			struct web_session *next = s->next;
			/* An open event stream keeps the page alive, but
			 * not beyond the idle timeout of user actions. */
			if (now - s->last_used > w->session_timeout_ms) {
				web_session_end(s, "idle timeout");
			} else {
				static const char ping[] = ": ping\n\n";
				for (struct web_sse *st = s->streams; st != NULL; st = st->next)
					web_stream_write(st->req, ping, sizeof(ping) - 1);
				drop_gone_streams(s);
			}
			s = next;
		}
	}
}

void web_sessions_free(struct web *w)
{
	for (size_t b = 0; b < w->n_buckets; b++)
		while (w->buckets[b] != NULL)
			web_session_end(w->buckets[b], "shutdown");
	x_free(&w->buckets);
}

void web_session_cache_clear(struct web_session *s)
{
	web_list_cache_free(&s->cache);
}

void web_session_flags_changed(struct web_session *s)
{
	web_list_cache_flags_changed(&s->cache);
}
