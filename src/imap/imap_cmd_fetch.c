/* imap_cmd_fetch.c — IMAP FETCH and UID FETCH (RFC 9051 6.4.5) with
 * CONDSTORE CHANGEDSINCE and QRESYNC VANISHED (RFC 7162 3.1.4, 3.2.6).
 * Responses are produced message by message while the output queue is
 * short; big literals are streamed from the file in chunks as the
 * socket drains, so memory stays bounded whatever the message size.
 * Runs in the mail workers. Parses client input; message files are
 * untrusted and go through src/mail. */
#include "imap_commands.h"
#include "imap_fetch.h"
#include "imap_msgdata.h"
#include "imap_seqset.h"
#include "mail_base64.h"
#include "mail_date.h"
#include "mail_hcache.h"
#include "mail_header.h"
#include "mail_qp.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FETCH_BATCH 256
#define FETCH_OUTPUT_HIGH (256 * 1024)
#define FETCH_INLINE_MAX (64 * 1024)
#define FETCH_CHUNK (64 * 1024)

struct cache_write {
	uint32_t uid;
	char *envelope, *bodystructure, *body;
	char *hcache;		/* header cache made here, or NULL */
	size_t hcache_len;
};

struct fetch_state {
	struct imap_fetch f;
	uint32_t *uids;
	size_t n, pos;
	uint64_t changedsince;
	bool has_changedsince;
	bool needs_cache;		/* ENVELOPE/BODY/BODYSTRUCTURE asked */
	bool needs_hcache;		/* header fields the header cache has */
	bool from_view;			/* only UID and FLAGS: from the session's view */
	uint32_t view_pos;		/* cursor in the view (from_view) */
	/* UIDs whose \Seen this FETCH set (FLAGS must be reported). */
	uint32_t *seen_set;
	size_t n_seen_set;
	/* Rows of the current batch. */
	struct imap_msgdata *batch;
	size_t batch_n, batch_pos;
	/* The message being written. */
	bool in_msg;
	size_t item;
	bool need_space;
	/* A literal being streamed from the file. */
	bool streaming;
	uint64_t st_off, st_left;
	bool expunged;
	const char *fail_code;
	struct cache_write *cache;
	size_t n_cache;
	struct buf out;
};

static void flush_cache(struct imap_cmd *cmd, struct fetch_state *st)
{
	if (st->n_cache == 0)
		return;
	struct store_mailbox *mb = cmd->s->view->mb;
	bool tx = store_msg_cache_begin(mb) == 0;
	for (size_t i = 0; i < st->n_cache; i++) {
		struct cache_write *c = &st->cache[i];
		if (c->envelope != NULL || c->bodystructure != NULL || c->body != NULL)
			(void)store_msg_set_cache(mb, c->uid, c->envelope, c->bodystructure,
						  c->body);
		if (c->hcache != NULL)
			(void)store_msg_set_headers(mb, c->uid, c->hcache, c->hcache_len);
		free(c->envelope);
		free(c->bodystructure);
		free(c->body);
		free(c->hcache);
	}
	if (tx)
		(void)store_msg_cache_end(mb);
	st->n_cache = 0;
}

/* Releases a message, keeping what it computed for the index. */
static void release_md(struct fetch_state *st, struct imap_msgdata *md)
{
	if (md->cache_dirty || md->hcache_dirty) {
		st->cache = x_reallocarray(st->cache, st->n_cache + 1, sizeof(*st->cache));
		struct cache_write *c = &st->cache[st->n_cache++];
		memset(c, 0, sizeof(*c));
		c->uid = md->uid;
		if (md->cache_dirty) {
			c->envelope = md->envelope;
			c->bodystructure = md->bodystructure;
			c->body = md->body;
			md->envelope = md->bodystructure = md->body = NULL;
			md->cache_dirty = false;
		}
		if (md->hcache_dirty) {
			c->hcache = md->hcache;
			c->hcache_len = md->hcache_len;
			md->hcache = NULL;
			md->hcache_dirty = false;
		}
	}
	imap_msgdata_deinit(md);
}

static void fetch_free(struct imap_cmd *cmd)
{
	struct fetch_state *st = cmd->ctx;
	for (size_t i = st->batch_pos; i < st->batch_n; i++)
		release_md(st, &st->batch[i]);
	if (cmd->s->view != NULL)
		flush_cache(cmd, st);
	else
		for (size_t i = 0; i < st->n_cache; i++) {
			free(st->cache[i].envelope);
			free(st->cache[i].bodystructure);
			free(st->cache[i].body);
			free(st->cache[i].hcache);
		}
	free(st->cache);
	free(st->batch);
	free(st->uids);
	free(st->seen_set);
	imap_fetch_free(&st->f);
	buf_free(&st->out);
	free(st);
}

static bool in_sorted(const uint32_t *v, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == x;
}

/* Loads the index rows of the next batch of requested UIDs. */
static int load_batch(struct imap_cmd *cmd, struct fetch_state *st)
{
	struct store_view *v = cmd->s->view;
	size_t end = st->pos + FETCH_BATCH < st->n ? st->pos + FETCH_BATCH : st->n;
	free(st->batch);
	st->batch = x_calloc(end - st->pos, sizeof(*st->batch));
	st->batch_n = st->batch_pos = 0;
	struct store_msg_iter it;
	struct store_msg m;
	size_t k = st->pos;
	if (st->needs_cache)
		store_msg_iter_init(&it, v->mb, st->uids[st->pos], st->uids[end - 1]);
	else if (st->needs_hcache)
		store_msg_iter_init_headers(&it, v->mb, st->uids[st->pos], st->uids[end - 1]);
	else
		store_msg_iter_init_light(&it, v->mb, st->uids[st->pos], st->uids[end - 1]);
	while (k < end && store_msg_iter_next(&it, &m)) {
		while (k < end && st->uids[k] < m.uid) {
			st->expunged = true;	/* in view, gone from the index */
			k++;
		}
		if (k == end || st->uids[k] != m.uid)
			continue;
		k++;
		if (st->has_changedsince && m.modseq <= st->changedsince)
			continue;
		imap_msgdata_init(&st->batch[st->batch_n++], v->mb, &m);
	}
	int ret = store_msg_iter_deinit(&it);
	if (k < end)
		st->expunged = true;
	st->pos = end;
	return ret;
}

static void append_literal_header(struct buf *out, uint64_t size, bool literal8)
{
	buf_appendf(out, "%s{%llu}\r\n", literal8 ? "~" : "", (unsigned long long)size);
}

/* Writes bytes as a literal, applying the partial range. */
static void write_literal_mem(struct fetch_state *st, const struct imap_fetch_item *it,
			      const char *data, size_t len, bool binary)
{
	uint64_t off = 0, n = len;
	if (it->partial) {
		off = it->p_off < len ? it->p_off : len;
		n = len - off < it->p_len ? len - off : it->p_len;
	}
	bool lit8 = binary && memchr(data + off, '\0', (size_t)n) != NULL;
	append_literal_header(&st->out, n, lit8);
	buf_append(&st->out, data + off, (size_t)n);
}

/* Locates a section's byte range in the file; false = no such part. */
static int section_range(struct imap_msgdata *md, const struct imap_fetch_item *it,
			 struct mail_section_range *r, bool *found_r)
{
	const struct mail_section *sec = &it->sec;
	*found_r = true;
	if (sec->nparts == 0 && sec->kind != MAIL_SECTION_MIME) {
		const char *h;
		size_t hlen;
		switch (sec->kind) {
		case MAIL_SECTION_ALL:
			r->offset = 0;
			r->size = md->size;
			r->part = NULL;
			return 0;
		case MAIL_SECTION_HEADER:
		case MAIL_SECTION_HEADER_FIELDS:
		case MAIL_SECTION_HEADER_FIELDS_NOT:
		case MAIL_SECTION_TEXT:
			if (imap_msgdata_header(md, &h, &hlen) < 0)
				return -1;
			if (sec->kind == MAIL_SECTION_TEXT) {
				r->offset = hlen;
				r->size = md->size > hlen ? md->size - hlen : 0;
			} else {
				r->offset = 0;
				r->size = hlen;
			}
			r->part = NULL;
			return 0;
		default:
			break;
		}
	}
	const struct mail_part *root;
	if (imap_msgdata_mime(md, &root) < 0)
		return -1;
	*found_r = mail_section_locate(root, sec, r);
	return 0;
}

/* Decodes a part's body for BINARY. -1 = unknown encoding. */
static int binary_decode(struct imap_msgdata *md, const struct mail_section_range *r,
			 struct buf *out)
{
	struct buf raw = BUF_INIT;
	if (imap_msgdata_read(md, r->offset, r->size, &raw) < 0) {
		buf_free(&raw);
		return -2;
	}
	enum mail_cte cte = r->part != NULL ? r->part->cte : MAIL_CTE_7BIT;
	int ret = 0;
	const char *error;
	switch (cte) {
	case MAIL_CTE_BASE64:
		(void)mail_base64_decode(raw.data, raw.len, out, &error);
		break;
	case MAIL_CTE_QP:
		(void)mail_qp_decode(raw.data, raw.len, out, &error);
		break;
	case MAIL_CTE_UNKNOWN:
		ret = -1;
		break;
	default:
		buf_append(out, raw.data != NULL ? raw.data : "", raw.len);
		break;
	}
	buf_free(&raw);
	return ret;
}

/* Emits one item. Returns 0 when written, 1 when a literal stream was
 * started, -1 when the message cannot be read. */
static int emit_item(struct imap_cmd *cmd, struct fetch_state *st, struct imap_msgdata *md,
		     const struct imap_fetch_item *it)
{
	struct imap_session *s = cmd->s;
	struct buf *o = &st->out;
	const char *str;
	switch (it->kind) {
	case IMAP_FETCH_UID:
		buf_appendf(o, "UID %u", md->uid);
		return 0;
	case IMAP_FETCH_FLAGS:
		buf_append_str(o, "FLAGS ");
		imap_append_flags(s, o, md->flags, md->keywords,
				  store_view_is_recent(s->view, md->uid));
		return 0;
	case IMAP_FETCH_INTERNALDATE:
		buf_append_str(o, "INTERNALDATE \"");
		mail_date_format_imap((time_t)md->idate, md->itz, o);
		buf_append_char(o, '"');
		return 0;
	case IMAP_FETCH_RFC822_SIZE:
		buf_appendf(o, "RFC822.SIZE %llu", (unsigned long long)md->size);
		return 0;
	case IMAP_FETCH_MODSEQ:
		buf_appendf(o, "MODSEQ (%llu)", (unsigned long long)md->modseq);
		return 0;
	case IMAP_FETCH_SAVEDATE:
		buf_append_str(o, "SAVEDATE \"");
		mail_date_format_imap((time_t)md->sdate, 0, o);
		buf_append_char(o, '"');
		return 0;
	case IMAP_FETCH_EMAILID: {
		struct store_maildir_name n;
		char id[26];
		size_t ulen = store_maildir_name_parse(md->name, &n) ? n.unique_len : strlen(md->name);
		store_maildir_emailid(md->name, ulen, id);
		buf_appendf(o, "EMAILID (%s)", id);
		return 0;
	}
	case IMAP_FETCH_THREADID:
		buf_append_str(o, "THREADID NIL");
		return 0;
	case IMAP_FETCH_ENVELOPE:
		if (imap_msgdata_envelope_str(md, &str) < 0)
			return -1;
		buf_appendf(o, "ENVELOPE %s", str);
		return 0;
	case IMAP_FETCH_BODY:
	case IMAP_FETCH_BODYSTRUCTURE:
		if (imap_msgdata_bodystructure_str(md, it->kind == IMAP_FETCH_BODYSTRUCTURE, &str) < 0)
			return -1;
		buf_appendf(o, "%s %s", it->kind == IMAP_FETCH_BODY ? "BODY" : "BODYSTRUCTURE", str);
		return 0;
	case IMAP_FETCH_SECTION:
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		break;
	}
	if (it->kind == IMAP_FETCH_SECTION && it->sec.nparts == 0 &&
	    it->sec.kind == MAIL_SECTION_HEADER_FIELDS) {
		/* Whole-message header fields: from the header cache when it
		 * has them all (no file read), else from the header section. */
		const char *h;
		size_t hlen;
		const char *const *names = (const char *const *)it->sec.fields.v;
		if (imap_msgdata_fields(md, names, it->sec.fields.n, &h, &hlen) < 0)
			return -1;
		struct buf filtered = BUF_INIT;
		mail_header_filter(h, hlen, names, it->sec.fields.n, false, &filtered);
		buf_append_str(o, it->label);
		if (it->partial)
			buf_appendf(o, "<%llu>", (unsigned long long)it->p_off);
		buf_append_char(o, ' ');
		write_literal_mem(st, it, filtered.data != NULL ? filtered.data : "", filtered.len,
				  false);
		buf_free(&filtered);
		return 0;
	}
	struct mail_section_range r;
	bool found;
	if (section_range(md, it, &r, &found) < 0)
		return -1;
	buf_append_str(o, it->label);
	if (it->partial)
		buf_appendf(o, "<%llu>", (unsigned long long)it->p_off);
	buf_append_char(o, ' ');
	if (!found) {
		buf_append_str(o, it->kind == IMAP_FETCH_BINARY_SIZE ? "0" : "NIL");
		return 0;
	}
	if (it->kind != IMAP_FETCH_SECTION) {
		struct buf dec = BUF_INIT;
		int d = binary_decode(md, &r, &dec);
		if (d == -2) {
			buf_free(&dec);
			return -1;
		}
		if (d == -1) {
			st->fail_code = "UNKNOWN-CTE";
			buf_append_str(o, it->kind == IMAP_FETCH_BINARY_SIZE ? "0" : "NIL");
		} else if (it->kind == IMAP_FETCH_BINARY_SIZE) {
			buf_appendf(o, "%zu", dec.len);
		} else {
			write_literal_mem(st, it, dec.data != NULL ? dec.data : "", dec.len, true);
		}
		buf_free(&dec);
		return 0;
	}
	if (it->sec.kind == MAIL_SECTION_HEADER_FIELDS ||
	    it->sec.kind == MAIL_SECTION_HEADER_FIELDS_NOT) {
		struct buf hdr = BUF_INIT, filtered = BUF_INIT;
		if (imap_msgdata_read(md, r.offset, r.size, &hdr) < 0) {
			buf_free(&hdr);
			return -1;
		}
		mail_header_filter(hdr.data != NULL ? hdr.data : "", hdr.len,
				   (const char *const *)it->sec.fields.v, it->sec.fields.n,
				   it->sec.kind == MAIL_SECTION_HEADER_FIELDS_NOT, &filtered);
		write_literal_mem(st, it, filtered.data != NULL ? filtered.data : "", filtered.len,
				  false);
		buf_free(&hdr);
		buf_free(&filtered);
		return 0;
	}
	uint64_t off = r.offset, len = r.size;
	if (it->partial) {
		uint64_t skip = it->p_off < len ? it->p_off : len;
		off += skip;
		len -= skip;
		if (len > it->p_len)
			len = it->p_len;
	}
	if (len <= FETCH_INLINE_MAX) {
		struct buf data = BUF_INIT;
		if (imap_msgdata_read(md, off, len, &data) < 0) {
			buf_free(&data);
			return -1;
		}
		/* A file shorter than the index says: pad to the size sent. */
		while (data.len < len)
			buf_append_char(&data, ' ');
		append_literal_header(o, len, false);
		buf_append(o, data.data != NULL ? data.data : "", data.len);
		buf_free(&data);
		return 0;
	}
	append_literal_header(o, len, false);
	st->streaming = true;
	st->st_off = off;
	st->st_left = len;
	return 1;
}

static void out_flush(struct imap_session *s, struct fetch_state *st)
{
	if (st->out.len > 0) {
		imap_write(s, st->out.data, st->out.len);
		buf_reset(&st->out);
	}
}

/* Streams the next chunk of the current literal. */
static int stream_chunk(struct imap_cmd *cmd, struct fetch_state *st)
{
	struct imap_msgdata *md = &st->batch[st->batch_pos];
	size_t want = st->st_left > FETCH_CHUNK ? FETCH_CHUNK : (size_t)st->st_left;
	size_t before = st->out.len;
	if (imap_msgdata_read(md, st->st_off, want, &st->out) < 0) {
		/* The literal size is promised: fill it. */
		st->out.len = before;
	}
	size_t got = st->out.len - before;
	if (got < want) {
		char *w = buf_reserve(&st->out, want - got);
		memset(w, ' ', want - got);
		buf_commit(&st->out, want - got);
	}
	st->st_off += want;
	st->st_left -= want;
	if (st->st_left == 0)
		st->streaming = false;
	out_flush(cmd->s, st);
	return 0;
}

static void start_message(struct imap_cmd *cmd, struct fetch_state *st, struct imap_msgdata *md)
{
	struct imap_session *s = cmd->s;
	buf_appendf(&st->out, "* %u FETCH (", store_view_msn(s->view, md->uid));
	st->need_space = false;
	/* UID FETCH always returns UID; CHANGEDSINCE always MODSEQ; a FETCH
	 * that set \Seen reports the new FLAGS. */
	if (cmd->uid && !st->f.has_uid) {
		buf_appendf(&st->out, "UID %u", md->uid);
		st->need_space = true;
	}
	if ((st->has_changedsince || (imap_session_condstore(s) && st->f.sets_seen)) &&
	    !st->f.has_modseq) {
		buf_appendf(&st->out, "%sMODSEQ (%llu)", st->need_space ? " " : "",
			    (unsigned long long)md->modseq);
		st->need_space = true;
	}
	if (!st->f.has_flags && in_sorted(st->seen_set, st->n_seen_set, md->uid)) {
		if (st->need_space)
			buf_append_char(&st->out, ' ');
		buf_append_str(&st->out, "FLAGS ");
		imap_append_flags(s, &st->out, md->flags, md->keywords,
				  store_view_is_recent(s->view, md->uid));
		st->need_space = true;
	}
	st->in_msg = true;
	st->item = 0;
}

static enum imap_cmd_result fetch_finish(struct imap_cmd *cmd)
{
	struct fetch_state *st = cmd->ctx;
	flush_cache(cmd, st);
	if (st->fail_code != NULL)
		return imap_cmd_no(cmd, "[%s] Unknown Content-Transfer-Encoding", st->fail_code);
	if (st->expunged)
		return imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the requested messages no longer exist");
	return imap_cmd_ok(cmd, "FETCH completed");
}

/* FETCH of UID and FLAGS only: from the view's flags, without the index
 * (but for the keyword masks of messages that have keywords). */
static enum imap_cmd_result fetch_view_continue(struct imap_cmd *cmd)
{
	struct fetch_state *st = cmd->ctx;
	struct imap_session *s = cmd->s;
	struct store_view *v = s->view;
	while (st->pos < st->n) {
		if (s->closing)
			return IMAP_CMD_DONE;
		if (imap_output_pending(s) > FETCH_OUTPUT_HIGH) {
			cmd->on_drain = fetch_view_continue;
			return IMAP_CMD_ASYNC;
		}
		size_t end = st->pos + FETCH_BATCH * 4 < st->n ? st->pos + FETCH_BATCH * 4 : st->n;
		for (; st->pos < end; st->pos++) {
			uint32_t uid = st->uids[st->pos];
			while (st->view_pos < v->count && v->uids[st->view_pos] < uid)
				st->view_pos++;
			if (st->view_pos == v->count || v->uids[st->view_pos] != uid) {
				st->expunged = true;
				continue;
			}
			uint8_t vf = v->flags[st->view_pos];
			uint64_t keywords = 0;
			if (vf & STORE_VIEW_HAS_KEYWORDS) {
				if (store_msg_keywords(v->mb, uid, &keywords) <= 0) {
					st->expunged = true;
					continue;
				}
			}
			struct buf *o = &st->out;
			buf_append_str(o, "* ");
			buf_append_u32(o, st->view_pos + 1);
			buf_append_str(o, " FETCH (");
			bool space = false;
			if (cmd->uid && !st->f.has_uid) {
				buf_append_str(o, "UID ");
				buf_append_u32(o, uid);
				space = true;
			}
			for (size_t i = 0; i < st->f.n; i++) {
				if (space)
					buf_append_char(o, ' ');
				space = true;
				if (st->f.items[i].kind == IMAP_FETCH_UID) {
					buf_append_str(o, "UID ");
					buf_append_u32(o, uid);
				} else {
					buf_append_str(o, "FLAGS ");
					imap_append_flags(s, o, vf & STORE_FLAGS_ALL, keywords,
							  store_view_is_recent(v, uid));
				}
			}
			buf_append_str(o, ")\r\n");
		}
		out_flush(s, st);
	}
	return fetch_finish(cmd);
}

static enum imap_cmd_result fetch_continue(struct imap_cmd *cmd)
{
	struct fetch_state *st = cmd->ctx;
	struct imap_session *s = cmd->s;
	for (;;) {
		if (s->closing)
			return IMAP_CMD_DONE;
		if (imap_output_pending(s) > FETCH_OUTPUT_HIGH) {
			flush_cache(cmd, st);
			cmd->on_drain = fetch_continue;
			return IMAP_CMD_ASYNC;
		}
		if (st->streaming) {
			(void)stream_chunk(cmd, st);
			if (!st->streaming)
				st->item++;
			continue;
		}
		if (st->batch_pos >= st->batch_n) {
			if (st->pos >= st->n)
				break;
			if (load_batch(cmd, st) < 0)
				return imap_cmd_store_error(cmd);
			continue;
		}
		struct imap_msgdata *md = &st->batch[st->batch_pos];
		if (!st->in_msg)
			start_message(cmd, st, md);
		bool failed = false;
		while (st->item < st->f.n) {
			if (st->need_space)
				buf_append_char(&st->out, ' ');
			st->need_space = true;
			size_t mark = st->out.len;
			int r = emit_item(cmd, st, md, &st->f.items[st->item]);
			if (r < 0) {
				st->out.len = mark;
				failed = true;
				break;
			}
			if (r == 1)
				break;	/* streaming; the item ends when it does */
			st->item++;
			if (st->out.len > FETCH_INLINE_MAX)
				out_flush(s, st);
		}
		if (failed) {
			/* Expunged under us: drop this message's response. */
			st->expunged = true;
			buf_reset(&st->out);
			st->in_msg = false;
			release_md(st, md);
			st->batch_pos++;
			continue;
		}
		if (st->streaming) {
			out_flush(s, st);
			continue;
		}
		buf_append_str(&st->out, ")\r\n");
		out_flush(s, st);
		st->in_msg = false;
		release_md(st, md);
		st->batch_pos++;
	}
	return fetch_finish(cmd);
}

struct seen_ctx {
	struct fetch_state *st;
	struct store_view *view;
	uint64_t max;
};

/* Records UIDs whose \Seen was set by this FETCH (ascending). */
static void seen_cb(void *ctx, uint32_t uid, uint32_t flags, uint64_t keywords,
		    uint64_t modseq, bool changed, bool failed)
{
	struct seen_ctx *sc = ctx;
	(void)failed;
	if (!changed)
		return;
	store_view_set_flags(sc->view, uid, flags, keywords);
	struct fetch_state *st = sc->st;
	st->seen_set = x_reallocarray(st->seen_set, st->n_seen_set + 1, sizeof(uint32_t));
	st->seen_set[st->n_seen_set++] = uid;
	if (modseq > sc->max)
		sc->max = modseq;
}

enum imap_cmd_result imap_cmd_fetch(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 2 && cmd->n_args != 3)
		return imap_cmd_bad(cmd, "FETCH needs a message set and items");
	struct fetch_state *st = x_calloc(1, sizeof(*st));
	buf_init(&st->out);
	cmd->ctx = st;
	cmd->ctx_free = fetch_free;
	bool vanished = false;
	if (cmd->n_args == 3) {
		const struct imap_arg *l;
		size_t ln;
		if (!imap_arg_list(&cmd->args[2], &l, &ln))
			return imap_cmd_bad(cmd, "Invalid FETCH modifiers");
		for (size_t i = 0; i < ln; i++) {
			if (imap_arg_atom_is(&l[i], "CHANGEDSINCE") && i + 1 < ln &&
			    imap_arg_atom(&l[i + 1]) != NULL &&
			    str_to_uint64(l[i + 1].str, &st->changedsince) == 0) {
				st->has_changedsince = true;
				s->condstore_used = true;
				i++;
			} else if (imap_arg_atom_is(&l[i], "VANISHED")) {
				vanished = true;
			} else {
				return imap_cmd_bad(cmd, "Invalid FETCH modifier");
			}
		}
		if (vanished && (!cmd->uid || !st->has_changedsince ||
				 (s->enabled & IMAP_ENABLED_QRESYNC) == 0))
			return imap_cmd_bad(cmd, "VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC");
	}
	if (imap_fetch_parse(cmd, &cmd->args[1], &st->f) < 0)
		return IMAP_CMD_DONE;
	if (st->f.has_modseq)
		s->condstore_used = true;
	for (size_t i = 0; i < st->f.n; i++) {
		enum imap_fetch_kind k = st->f.items[i].kind;
		if (k == IMAP_FETCH_ENVELOPE || k == IMAP_FETCH_BODY || k == IMAP_FETCH_BODYSTRUCTURE)
			st->needs_cache = true;
		const struct mail_section *sec = &st->f.items[i].sec;
		if (k == IMAP_FETCH_SECTION && sec->nparts == 0 &&
		    sec->kind == MAIL_SECTION_HEADER_FIELDS &&
		    mail_hcache_has_all((const char *const *)sec->fields.v, sec->fields.n))
			st->needs_hcache = true;
	}
	if (imap_cmd_uidset(cmd, imap_arg_atom(&cmd->args[0]), cmd->uid, &st->uids, &st->n) < 0)
		return IMAP_CMD_DONE;
	st->from_view = !st->has_changedsince && !st->f.sets_seen;
	for (size_t i = 0; i < st->f.n && st->from_view; i++)
		st->from_view = st->f.items[i].kind == IMAP_FETCH_UID ||
				st->f.items[i].kind == IMAP_FETCH_FLAGS;
	if (vanished) {
		uint32_t *gone;
		size_t n_gone;
		bool complete;
		if (store_mailbox_expunged_since(s->view->mb, st->changedsince, &gone, &n_gone,
						 &complete) == 0) {
			struct imap_seqset set;
			const char *arg = imap_arg_atom(&cmd->args[0]);
			uint32_t *out = x_calloc(n_gone + 1, sizeof(uint32_t));
			size_t n_out = 0;
			if (imap_seqset_parse(arg, 100000, &set) == 0) {
				imap_seqset_normalize(&set, UINT32_MAX - 1);
				for (size_t i = 0; i < n_gone; i++)
					if (imap_seqset_contains(&set, gone[i]))
						out[n_out++] = gone[i];
				imap_seqset_free(&set);
			}
			if (n_out > 0) {
				struct buf b = BUF_INIT;
				buf_append_str(&b, "* VANISHED (EARLIER) ");
				imap_seqset_write(&b, out, n_out);
				buf_append_str(&b, "\r\n");
				imap_write(s, b.data, b.len);
				buf_free(&b);
			}
			free(out);
			free(gone);
		}
	}
	/* Messages pending expunge cannot be fetched. */
	size_t w = 0;
	for (size_t i = 0; i < st->n; i++) {
		if (store_view_is_expunged(s->view, st->uids[i]))
			st->expunged = true;
		else
			st->uids[w++] = st->uids[i];
	}
	st->n = w;
	/* Non-peek body items set \Seen first, so FLAGS are right. */
	if (st->f.sets_seen && !s->view->readonly && st->n > 0) {
		struct seen_ctx sc = { st, s->view, 0 };
		imap_session_update(s, cmd->uid);
		uint64_t before = s->view->modseq;
		struct store_flag_change ch = { STORE_MODIFY_ADD, STORE_FLAG_SEEN, NULL, 0, 0 };
		int r = store_msg_update_flags(s->view->mb, st->uids, st->n, &ch, seen_cb, &sc);
		if (r == 0 && sc.max == before + 1)
			store_view_caught_up(s->view, sc.max);
		else if (r < 0 && sc.max != 0)
			(void)store_view_reload_flags(s->view);
	}
	if (st->from_view)
		return fetch_view_continue(cmd);
	return fetch_continue(cmd);
}
