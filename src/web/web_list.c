/* web_list.c — GET /api/messages: one page of a folder's message list,
 * sorted (SORT when offered, else SEARCH order), threaded (THREAD when
 * offered), filtered by search criteria. The full ordered UID list is
 * cached per session so paging through 100,000 messages costs one FETCH
 * of the visible rows. Runs in the web process. Reads untrusted server
 * data and request parameters. */
#include "web_list.h"
#include "web_action.h"
#include "web_json.h"
#include "log.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PAGE 500

struct web_list_cache {
	char *key;
	uint32_t uidvalidity;
	uint32_t *uids;
	uint8_t *depth;
	size_t n;
	size_t cap;
	bool by_flags;		/* an UNSEEN or FLAGGED filter chose the UIDs */
};

struct list_op {
	struct web_req *r;
	char *folder;
	char *key;
	size_t offset, limit;
	bool reverse;		/* reverse the server's order */
	bool thread;
	bool by_flags;
};

void web_list_cache_free(struct web_list_cache **cp)
{
	struct web_list_cache *c = *cp;
	if (c == NULL)
		return;
	free(c->key);
	free(c->uids);
	free(c->depth);
	free(c);
	*cp = NULL;
}

void web_list_cache_flags_changed(struct web_list_cache **cp)
{
	if (*cp != NULL && (*cp)->by_flags)
		web_list_cache_free(cp);
}

static void cache_add(struct web_list_cache *c, uint32_t uid, unsigned depth)
{
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 1024 : c->cap * 2;
		c->uids = x_reallocarray(c->uids, c->cap, sizeof(*c->uids));
		c->depth = x_reallocarray(c->depth, c->cap, sizeof(*c->depth));
	}
	c->uids[c->n] = uid;
	c->depth[c->n] = (uint8_t)(depth > 30 ? 30 : depth);
	c->n++;
}

static void op_free(struct list_op *op)
{
	free(op->folder);
	free(op->key);
	free(op);
}

static bool op_session_ok(struct list_op *op)
{
	struct web_req *r = op->r;
	if (r->session->dead || r->session->imap == NULL) {
		web_respond_error(r, 401, "session ended");
		op_free(op);
		return false;
	}
	return true;
}

static void fail_reply(struct list_op *op, const struct web_imap_reply *rep)
{
	web_respond_error(op->r, rep->status == WEB_IMAP_FAIL ? 502 : 400, rep->text);
	op_free(op);
}

/* Date "2024-03-05" to IMAP "5-Mar-2024"; false if malformed. */
static bool imap_day(const char *s, char *out, size_t size)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int y, m, d;
	char junk;
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &junk) != 3 || m < 1 || m > 12 || d < 1 ||
	    d > 31 || y < 1900 || y > 9999)
		return false;
	snprintf(out, size, "%d-%s-%d", d, mon[m - 1], y);
	return true;
}

/* Appends search criteria from the request parameters; returns -1 for
 * malformed ones. */
static int add_criteria(struct web_req *r, struct web_imap_cmd *cmd, struct buf *key,
			bool *by_flags_r)
{
	static const struct {
		const char *param;
		const char *imap;
	} text_keys[] = {
		{ "q", "TEXT" }, { "from", "FROM" }, { "to", "TO" }, { "subject", "SUBJECT" },
		{ "body", "BODY" },
	};
	bool any = false;
	for (size_t i = 0; i < N_ELEMENTS(text_keys); i++) {
		const char *v = web_param(r, text_keys[i].param);
		if (v == NULL || v[0] == '\0')
			continue;
		web_imap_cmd_printf(cmd, " %s ", text_keys[i].imap);
		web_imap_cmd_astring(cmd, v, strlen(v));
		buf_appendf(key, "|%s=%s", text_keys[i].param, v);
		any = true;
	}
	const char *since = web_param(r, "since"), *before = web_param(r, "before");
	char day[32];
	if (since != NULL && since[0] != '\0') {
		if (!imap_day(since, day, sizeof(day)))
			return -1;
		web_imap_cmd_printf(cmd, " SINCE %s", day);
		buf_appendf(key, "|since=%s", day);
		any = true;
	}
	if (before != NULL && before[0] != '\0') {
		if (!imap_day(before, day, sizeof(day)))
			return -1;
		web_imap_cmd_printf(cmd, " BEFORE %s", day);
		buf_appendf(key, "|before=%s", day);
		any = true;
	}
	/* Without UIDPLUS the webmail leaves what it moves or deletes
	 * \Deleted rather than expunge others' (web_action.h): hide all
	 * \Deleted messages there, which makes the list depend on flags. */
	if (web_removal(r->session->imap, false) == WEB_REMOVE_HIDE) {
		web_imap_cmd_printf(cmd, " UNDELETED");
		buf_append_str(key, "|undeleted");
		*by_flags_r = true;
		any = true;
	}
	const char *flag = web_param(r, "filter");
	if (flag != NULL && strcmp(flag, "unseen") == 0) {
		web_imap_cmd_printf(cmd, " UNSEEN");
		buf_append_str(key, "|unseen");
		*by_flags_r = true;
		any = true;
	} else if (flag != NULL && strcmp(flag, "flagged") == 0) {
		web_imap_cmd_printf(cmd, " FLAGGED");
		buf_append_str(key, "|flagged");
		*by_flags_r = true;
		any = true;
	}
	if (!any)
		web_imap_cmd_printf(cmd, " ALL");
	return 0;
}

static void thread_walk(struct web_list_cache *c, const struct imap_node *list, unsigned depth,
			int level)
{
	if (level > 200)
		return;
	for (size_t i = 0; i < list->n; i++) {
		const struct imap_node *n = &list->items[i];
		uint64_t uid;
		if (n->type == IMAP_NODE_LIST) {
			thread_walk(c, n, depth, level + 1);
		} else if (imap_node_uint(n, &uid) && uid > 0 && uid <= UINT32_MAX) {
			cache_add(c, (uint32_t)uid, depth);
			depth++;
		}
	}
}

static void reverse_threads(struct web_list_cache *c)
{
	/* Reverse thread order but keep each thread's rows in order. */
	uint32_t *u = x_reallocarray(NULL, c->n + 1, sizeof(*u));
	uint8_t *d = x_reallocarray(NULL, c->n + 1, sizeof(*d));
	size_t out = 0, end = c->n;
	while (end > 0) {
		size_t start = end - 1;
		while (start > 0 && c->depth[start] != 0)
			start--;
		for (size_t i = start; i < end; i++) {
			u[out] = c->uids[i];
			d[out++] = c->depth[i];
		}
		end = start;
	}
	free(c->uids);
	free(c->depth);
	c->uids = u;
	c->depth = d;
	c->cap = c->n + 1;
}

static void send_page(struct list_op *op);

static void order_done(const struct web_imap_reply *rep, void *ctx)
{
	struct list_op *op = ctx;
	if (!op_session_ok(op))
		return;
	if (rep->status != WEB_IMAP_OK) {
		fail_reply(op, rep);
		return;
	}
	struct web_session *s = op->r->session;
	web_list_cache_free(&s->cache);
	struct web_list_cache *c = x_calloc(1, sizeof(*c));
	c->key = x_strdup(op->key);
	c->by_flags = op->by_flags;
	c->uidvalidity = web_imap_uidvalidity(s->imap);
	for (size_t i = 0; i < rep->n_untagged; i++) {
		const struct imap_response *u = &rep->untagged[i];
		if (strcmp(u->keyword, "THREAD") == 0) {
			for (size_t t = 0; t < u->args.n; t++)
				if (u->args.items[t].type == IMAP_NODE_LIST)
					thread_walk(c, &u->args.items[t], 0, 0);
		} else if (strcmp(u->keyword, "SORT") == 0 || strcmp(u->keyword, "SEARCH") == 0) {
			for (size_t t = 0; t < u->args.n; t++) {
				uint64_t uid;
				if (imap_node_uint(&u->args.items[t], &uid) && uid > 0 &&
				    uid <= UINT32_MAX)
					cache_add(c, (uint32_t)uid, 0);
			}
		}
	}
	if (op->reverse) {
		if (op->thread) {
			reverse_threads(c);
		} else {
			for (size_t i = 0; i < c->n / 2; i++) {
				uint32_t t = c->uids[i];
				c->uids[i] = c->uids[c->n - 1 - i];
				c->uids[c->n - 1 - i] = t;
			}
		}
	}
	s->cache = c;
	send_page(op);
}

static void fetch_done(const struct web_imap_reply *rep, void *ctx)
{
	struct list_op *op = ctx;
	if (!op_session_ok(op))
		return;
	if (rep->status != WEB_IMAP_OK) {
		fail_reply(op, rep);
		return;
	}
	struct web_session *s = op->r->session;
	struct web_list_cache *c = s->cache;
	size_t end = op->offset + op->limit;
	if (c == NULL || end > c->n)
		end = c != NULL ? c->n : 0;
	json_t *rows = json_array();
	for (size_t i = op->offset; c != NULL && i < end; i++) {
		const struct imap_node *attrs = NULL;
		for (size_t k = 0; k < rep->n_untagged; k++) {
			const struct imap_response *u = &rep->untagged[k];
			uint64_t uid;
			if (strcmp(u->keyword, "FETCH") != 0 || u->args.n != 1)
				continue;
			if (imap_node_uint(imap_fetch_attr(&u->args.items[0], "UID"), &uid) &&
			    uid == c->uids[i]) {
				attrs = &u->args.items[0];
				break;
			}
		}
		if (attrs == NULL)
			continue;	/* expunged meanwhile */
		json_t *env = web_json_envelope(imap_fetch_attr(attrs, "ENVELOPE"));
		json_object_set_new(env, "uid", json_integer(c->uids[i]));
		json_object_set_new(env, "depth", json_integer(c->depth[i]));
		json_object_set_new(env, "flags", web_json_flags(imap_fetch_attr(attrs, "FLAGS")));
		uint64_t size = 0;
		(void)imap_node_uint(imap_fetch_attr(attrs, "RFC822.SIZE"), &size);
		json_object_set_new(env, "size", json_integer((json_int_t)size));
		const char *idate = imap_node_str(imap_fetch_attr(attrs, "INTERNALDATE"));
		json_object_set_new(env, "internal_date", json_string(idate != NULL ? idate : ""));
		const struct imap_node *bs = imap_fetch_attr(attrs, "BODYSTRUCTURE");
		bool attach = false;
		if (bs != NULL) {
			struct web_parts parts;
			web_parts_from_bodystructure(bs, &parts);
			for (size_t p = 0; p < parts.n && !attach; p++)
				attach = (parts.v[p].disposition != NULL &&
					  strcmp(parts.v[p].disposition, "attachment") == 0) ||
					(parts.v[p].filename != NULL &&
					 strcmp(parts.v[p].type, "text") != 0);
			web_parts_free(&parts);
		}
		json_object_set_new(env, "attachment", json_boolean(attach));
		json_array_append_new(rows, env);
	}
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:o, s:b}", "folder", op->folder,
			      "total", (json_int_t)(c != NULL ? c->n : 0),
			      "offset", (json_int_t)op->offset,
			      "uidvalidity", (json_int_t)(c != NULL ? c->uidvalidity : 0),
			      "messages", rows, "threaded", op->thread);
	web_respond_json(op->r, 200, o);
	op_free(op);
}

static void send_page(struct list_op *op)
{
	struct web_session *s = op->r->session;
	struct web_list_cache *c = s->cache;
	if (op->offset >= c->n) {
		struct web_imap_reply empty = { WEB_IMAP_OK, "", NULL, NULL, 0 };
		fetch_done(&empty, op);
		return;
	}
	size_t end = op->offset + op->limit;
	if (end > c->n)
		end = c->n;
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "UID FETCH ");
	for (size_t i = op->offset; i < end; i++)
		web_imap_cmd_printf(&cmd, "%s%u", i > op->offset ? "," : "", c->uids[i]);
	web_imap_cmd_printf(&cmd, " (UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE BODYSTRUCTURE)");
	web_imap_run(s->imap, op->folder, &cmd, fetch_done, op);
}

static const char *sort_key(const char *sort)
{
	if (sort == NULL || strcmp(sort, "date") == 0)
		return "DATE";
	if (strcmp(sort, "arrival") == 0)
		return "ARRIVAL";
	if (strcmp(sort, "from") == 0)
		return "FROM";
	if (strcmp(sort, "subject") == 0)
		return "SUBJECT";
	if (strcmp(sort, "size") == 0)
		return "SIZE";
	return NULL;
}

void web_api_messages(struct web_req *r)
{
	struct web_session *s = r->session;
	const char *folder = web_param(r, "folder");
	const char *off = web_param(r, "offset"), *lim = web_param(r, "limit");
	const char *order = web_param(r, "order");
	const char *skey = sort_key(web_param(r, "sort"));
	const char *thread = web_param(r, "thread");
	uint64_t offset = 0, limit = 50;
	if (folder == NULL || folder[0] == '\0' || skey == NULL ||
	    (off != NULL && str_to_uint64(off, &offset) < 0) ||
	    (lim != NULL && str_to_uint64(lim, &limit) < 0) || limit == 0) {
		web_respond_error(r, 400, "bad parameters");
		return;
	}
	if (limit > MAX_PAGE)
		limit = MAX_PAGE;
	bool desc = order == NULL || strcmp(order, "asc") != 0;
	struct list_op *op = x_calloc(1, sizeof(*op));
	op->r = r;
	op->folder = x_strdup(folder);
	op->offset = (size_t)offset;
	op->limit = (size_t)limit;
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	struct buf key = BUF_INIT;
	const char *thr = NULL;
	if (thread != NULL && strcmp(thread, "1") == 0) {
		if (web_imap_has_cap(s->imap, "THREAD=REFERENCES"))
			thr = "REFERENCES";
		else if (web_imap_has_cap(s->imap, "THREAD=ORDEREDSUBJECT"))
			thr = "ORDEREDSUBJECT";
	}
	bool server_sort = web_imap_has_cap(s->imap, "SORT");
	if (thr != NULL) {
		op->thread = true;
		op->reverse = desc;
		web_imap_cmd_printf(&cmd, "UID THREAD %s UTF-8", thr);
	} else if (server_sort) {
		web_imap_cmd_printf(&cmd, "UID SORT (%s%s) UTF-8", desc ? "REVERSE " : "", skey);
	} else {
		/* SEARCH gives arrival order; other orders need SORT. */
		op->reverse = desc;
		web_imap_cmd_printf(&cmd, "UID SEARCH CHARSET UTF-8");
	}
	buf_appendf(&key, "%s|%s|%s|%d", folder, buf_cstr(&cmd.text), skey, desc);
	if (add_criteria(r, &cmd, &key, &op->by_flags) < 0) {
		web_imap_cmd_free(&cmd);
		buf_free(&key);
		op_free(op);
		web_respond_error(r, 400, "dates must look like 2024-12-31");
		return;
	}
	op->key = buf_steal(&key);
	struct web_list_cache *c = s->cache;
	const char *sel = web_imap_selected(s->imap);
	if (c != NULL && strcmp(c->key, op->key) == 0 && sel != NULL &&
	    strcmp(sel, folder) == 0 && c->uidvalidity == web_imap_uidvalidity(s->imap)) {
		web_imap_cmd_free(&cmd);
		send_page(op);
		return;
	}
	web_imap_run(s->imap, folder, &cmd, order_done, op);
}
