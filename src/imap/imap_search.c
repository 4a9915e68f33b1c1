/* imap_search.c — SEARCH key parsing and evaluation. Runs in the mail
 * workers. Parses client input (keys, dates, sets, strings) with bounds
 * on key count and nesting; evaluates over untrusted message bytes via
 * src/mail's decoders. */
#include "imap_search.h"
#include "mail_base64.h"
#include "mail_charset.h"
#include "mail_date.h"
#include "mail_fold.h"
#include "mail_hcache.h"
#include "mail_header.h"
#include "mail_qp.h"
#include "mail_rfc2047.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parse_ctx {
	const char *charset;
	unsigned keys;
	const char *error;
	bool badcharset;
	struct imap_search *search;
};

static int parse_key(struct parse_ctx *c, const struct imap_arg *args, size_t n, size_t *pos,
		     struct imap_search_key *key, unsigned depth);

static const struct {
	const char *name;
	uint32_t flag;
	bool set;
} flag_keys[] = {
	{ "ANSWERED", STORE_FLAG_ANSWERED, true }, { "UNANSWERED", STORE_FLAG_ANSWERED, false },
	{ "DELETED", STORE_FLAG_DELETED, true }, { "UNDELETED", STORE_FLAG_DELETED, false },
	{ "DRAFT", STORE_FLAG_DRAFT, true }, { "UNDRAFT", STORE_FLAG_DRAFT, false },
	{ "FLAGGED", STORE_FLAG_FLAGGED, true }, { "UNFLAGGED", STORE_FLAG_FLAGGED, false },
	{ "SEEN", STORE_FLAG_SEEN, true }, { "UNSEEN", STORE_FLAG_SEEN, false },
};

static const struct {
	const char *name;
	enum imap_search_type type;
} date_keys[] = {
	{ "BEFORE", IMAP_SK_BEFORE }, { "ON", IMAP_SK_ON }, { "SINCE", IMAP_SK_SINCE },
	{ "SENTBEFORE", IMAP_SK_SENTBEFORE }, { "SENTON", IMAP_SK_SENTON },
	{ "SENTSINCE", IMAP_SK_SENTSINCE }, { "SAVEDBEFORE", IMAP_SK_SAVEDBEFORE },
	{ "SAVEDON", IMAP_SK_SAVEDON }, { "SAVEDSINCE", IMAP_SK_SAVEDSINCE },
};

static const char *const header_keys[] = { "BCC", "CC", "FROM", "TO", "SUBJECT" };

static const char *next_astring(struct parse_ctx *c, const struct imap_arg *args, size_t n,
				size_t *pos)
{
	if (*pos >= n) {
		c->error = "Missing search argument";
		return NULL;
	}
	const char *s = imap_arg_astring(&args[(*pos)++]);
	if (s == NULL)
		c->error = "Invalid search argument";
	return s;
}

static int next_number(struct parse_ctx *c, const struct imap_arg *args, size_t n, size_t *pos,
		       uint64_t *v_r)
{
	const char *s = *pos < n ? imap_arg_atom(&args[*pos]) : NULL;
	if (s == NULL || str_to_uint64(s, v_r) < 0) {
		c->error = "Invalid number";
		return -1;
	}
	(*pos)++;
	return 0;
}

/* Sets key->text (UTF-8) and key->folded from a client string. */
static int set_text(struct parse_ctx *c, struct imap_search_key *key, const char *s)
{
	struct buf b = BUF_INIT;
	if (c->charset != NULL && !mail_charset_is_utf8(c->charset) &&
	    strcasecmp(c->charset, "US-ASCII") != 0) {
		const char *error;
		if (mail_charset_to_utf8(c->charset, s, strlen(s), &b, &error) < 0) {
			buf_free(&b);
			c->badcharset = true;
			return -1;
		}
	} else {
		mail_utf8_append_valid(&b, s, strlen(s));
	}
	key->text = buf_steal(&b);
	key->folded = mail_fold_dup(key->text, strlen(key->text), &key->folded_len);
	return 0;
}

static int64_t day_of(int64_t t, int tz_minutes)
{
	int64_t x = t + (int64_t)tz_minutes * 60;
	return x >= 0 ? x / 86400 : -((-x + 86399) / 86400);
}

static int parse_list(struct parse_ctx *c, const struct imap_arg *args, size_t n,
		      struct imap_search_key *key, unsigned depth)
{
	key->type = IMAP_SK_AND;
	size_t pos = 0;
	while (pos < n) {
		key->kids = x_reallocarray(key->kids, key->n_kids + 1, sizeof(*key->kids));
		struct imap_search_key *k = &key->kids[key->n_kids++];
		memset(k, 0, sizeof(*k));
		if (parse_key(c, args, n, &pos, k, depth + 1) < 0)
			return -1;
	}
	return 0;
}

static int parse_key(struct parse_ctx *c, const struct imap_arg *args, size_t n, size_t *pos,
		     struct imap_search_key *key, unsigned depth)
{
	if (depth > IMAP_SEARCH_MAX_DEPTH) {
		c->error = "Search program nested too deeply";
		return -1;
	}
	if (++c->keys > IMAP_SEARCH_MAX_KEYS) {
		c->error = "Too many search keys";
		return -1;
	}
	if (*pos >= n) {
		c->error = "Missing search key";
		return -1;
	}
	const struct imap_arg *a = &args[(*pos)++];
	const struct imap_arg *list;
	size_t ln;
	if (imap_arg_list(a, &list, &ln)) {
		if (ln == 0) {
			c->error = "Empty search list";
			return -1;
		}
		return parse_list(c, list, ln, key, depth);
	}
	const char *w = imap_arg_atom(a);
	if (w == NULL) {
		c->error = "Invalid search key";
		return -1;
	}
	for (size_t i = 0; i < N_ELEMENTS(flag_keys); i++) {
		if (strcasecmp(w, flag_keys[i].name) == 0) {
			key->type = flag_keys[i].set ? IMAP_SK_FLAGS_SET : IMAP_SK_FLAGS_UNSET;
			key->flags = flag_keys[i].flag;
			return 0;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(date_keys); i++) {
		if (strcasecmp(w, date_keys[i].name) == 0) {
			const char *d = next_astring(c, args, n, pos);
			time_t t;
			if (d == NULL || mail_date_parse_imap_day(d, strlen(d), &t) < 0) {
				c->error = "Invalid search date";
				return -1;
			}
			key->type = date_keys[i].type;
			key->day = day_of((int64_t)t, 0);
			return 0;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(header_keys); i++) {
		if (strcasecmp(w, header_keys[i]) == 0) {
			const char *s = next_astring(c, args, n, pos);
			if (s == NULL)
				return -1;
			key->type = IMAP_SK_HEADER;
			key->field = x_strdup(header_keys[i]);
			return set_text(c, key, s);
		}
	}
	if (strcasecmp(w, "ALL") == 0 || strcasecmp(w, "SAVEDATESUPPORTED") == 0) {
		key->type = IMAP_SK_ALL;
	} else if (strcasecmp(w, "NEW") == 0) {
		key->type = IMAP_SK_NEW;
	} else if (strcasecmp(w, "OLD") == 0) {
		key->type = IMAP_SK_OLD;
	} else if (strcasecmp(w, "RECENT") == 0) {
		key->type = IMAP_SK_RECENT;
	} else if (strcasecmp(w, "KEYWORD") == 0 || strcasecmp(w, "UNKEYWORD") == 0) {
		bool set = w[0] == 'K' || w[0] == 'k';
		const char *s = next_astring(c, args, n, pos);
		if (s == NULL)
			return -1;
		if (strcasecmp(s, "$Forwarded") == 0) {
			key->type = set ? IMAP_SK_FLAGS_SET : IMAP_SK_FLAGS_UNSET;
			key->flags = STORE_FLAG_FORWARDED;
		} else {
			key->type = set ? IMAP_SK_KEYWORD : IMAP_SK_UNKEYWORD;
			key->text = x_strdup(s);
		}
	} else if (strcasecmp(w, "HEADER") == 0) {
		const char *f = next_astring(c, args, n, pos);
		if (f == NULL)
			return -1;
		char *field = x_strdup(f);
		const char *s = next_astring(c, args, n, pos);
		if (s == NULL) {
			free(field);
			return -1;
		}
		key->type = IMAP_SK_HEADER;
		key->field = field;
		return set_text(c, key, s);
	} else if (strcasecmp(w, "BODY") == 0 || strcasecmp(w, "TEXT") == 0) {
		key->type = (w[0] == 'B' || w[0] == 'b') ? IMAP_SK_BODY : IMAP_SK_TEXT;
		const char *s = next_astring(c, args, n, pos);
		return s == NULL ? -1 : set_text(c, key, s);
	} else if (strcasecmp(w, "LARGER") == 0 || strcasecmp(w, "SMALLER") == 0) {
		key->type = (w[0] == 'L' || w[0] == 'l') ? IMAP_SK_LARGER : IMAP_SK_SMALLER;
		return next_number(c, args, n, pos, &key->num);
	} else if (strcasecmp(w, "OLDER") == 0 || strcasecmp(w, "YOUNGER") == 0) {
		key->type = (w[0] == 'O' || w[0] == 'o') ? IMAP_SK_OLDER : IMAP_SK_YOUNGER;
		if (next_number(c, args, n, pos, &key->num) < 0 || key->num == 0) {
			c->error = "Invalid interval";
			return -1;
		}
	} else if (strcasecmp(w, "UID") == 0) {
		const char *s = *pos < n ? imap_arg_atom(&args[*pos]) : NULL;
		(*pos)++;
		if (s != NULL && strcmp(s, "$") == 0) {
			key->type = IMAP_SK_SAVED;
			return 0;
		}
		if (s == NULL || imap_seqset_parse(s, 100000, &key->set) < 0) {
			c->error = "Invalid UID set";
			return -1;
		}
		key->type = IMAP_SK_UIDSET;
	} else if (strcasecmp(w, "NOT") == 0) {
		key->type = IMAP_SK_NOT;
		key->kids = x_calloc(1, sizeof(*key->kids));
		key->n_kids = 1;
		return parse_key(c, args, n, pos, &key->kids[0], depth + 1);
	} else if (strcasecmp(w, "OR") == 0) {
		key->type = IMAP_SK_OR;
		key->kids = x_calloc(2, sizeof(*key->kids));
		key->n_kids = 2;
		if (parse_key(c, args, n, pos, &key->kids[0], depth + 1) < 0)
			return -1;
		return parse_key(c, args, n, pos, &key->kids[1], depth + 1);
	} else if (strcasecmp(w, "MODSEQ") == 0) {
		/* MODSEQ ["/flags/name" all|priv|shared] n */
		if (*pos < n && args[*pos].type == IMAP_ARG_STRING) {
			if (*pos + 1 >= n || imap_arg_atom(&args[*pos + 1]) == NULL) {
				c->error = "Invalid MODSEQ entry";
				return -1;
			}
			*pos += 2;
		}
		key->type = IMAP_SK_MODSEQ;
		c->search->uses_modseq = true;
		return next_number(c, args, n, pos, &key->num);
	} else if (strcasecmp(w, "EMAILID") == 0 || strcasecmp(w, "THREADID") == 0) {
		key->type = (w[0] == 'E' || w[0] == 'e') ? IMAP_SK_EMAILID : IMAP_SK_THREADID;
		const char *s = next_astring(c, args, n, pos);
		if (s == NULL)
			return -1;
		key->text = x_strdup(s);
	} else if (strcmp(w, "$") == 0) {
		key->type = IMAP_SK_SAVED;
	} else if (imap_seqset_parse(w, 100000, &key->set) == 0) {
		key->type = IMAP_SK_SEQSET;
		c->search->uses_seqset = true;
	} else {
		c->error = "Unknown search key";
		return -1;
	}
	return 0;
}

static void key_free(struct imap_search_key *key)
{
	for (size_t i = 0; i < key->n_kids; i++)
		key_free(&key->kids[i]);	/* depth bounded by the parser */
	free(key->kids);
	imap_seqset_free(&key->set);
	free(key->field);
	free(key->text);
	free(key->folded);
}

void imap_search_free(struct imap_search *search)
{
	if (search->saved_owned)
		free((uint32_t *)search->saved);
	key_free(&search->root);
	memset(search, 0, sizeof(*search));
}

/* Cheap keys first: the index row decides most messages, the header
 * cache most of the rest. 0 = index row, 1 = header cache, 2 = other
 * header fields, 3 = body. */
static unsigned key_cost(const struct imap_search_key *k)
{
	switch (k->type) {
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		return 3;
	case IMAP_SK_HEADER:
		return k->field != NULL && mail_hcache_has(k->field) ? 1 : 2;
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		return 1;	/* Date */
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT: {
		unsigned m = 0;
		for (size_t i = 0; i < k->n_kids; i++) {
			unsigned c = key_cost(&k->kids[i]);
			if (c > m)
				m = c;
		}
		return m;
	}
	default:
		return 0;
	}
}

/* Whether a key needs only what a session's view holds: UID, message
 * number, system flags, \Recent, the saved result. */
static bool key_view_only(const struct imap_search_key *k)
{
	switch (k->type) {
	case IMAP_SK_ALL:
	case IMAP_SK_FLAGS_SET:
	case IMAP_SK_FLAGS_UNSET:
	case IMAP_SK_RECENT:
	case IMAP_SK_NEW:
	case IMAP_SK_OLD:
	case IMAP_SK_SEQSET:
	case IMAP_SK_UIDSET:
	case IMAP_SK_SAVED:
		return true;
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		for (size_t i = 0; i < k->n_kids; i++)
			if (!key_view_only(&k->kids[i]))
				return false;
		return true;
	default:
		return false;
	}
}

bool imap_search_view_only(const struct imap_search *search)
{
	return key_view_only(&search->root);
}

enum imap_search_reads imap_search_reads(const struct imap_search *search)
{
	unsigned c = key_cost(&search->root);
	return c == 0 ? IMAP_SEARCH_INDEX : c == 1 ? IMAP_SEARCH_HCACHE : IMAP_SEARCH_FILES;
}

static int cmp_cost(const void *a, const void *b)
{
	unsigned x = key_cost(a), y = key_cost(b);
	return x < y ? -1 : x > y;
}

const char *imap_search_badcharset(void)
{
	/* Common in mail, roughly by use; only those iconv has here. */
	static const char *const common[] = {
		"US-ASCII", "UTF-8", "ISO-8859-1", "WINDOWS-1252", "ISO-8859-15",
		"ISO-8859-2", "WINDOWS-1250", "ISO-8859-5", "WINDOWS-1251", "KOI8-R",
		"KOI8-U", "ISO-8859-7", "ISO-8859-9", "ISO-8859-8", "ISO-2022-JP",
		"SHIFT_JIS", "EUC-JP", "EUC-KR", "GB2312", "GBK", "GB18030", "BIG5",
		"UTF-16", "UTF-7",
	};
	static char *text;
	if (text == NULL) {
		struct buf b = BUF_INIT;
		buf_append_str(&b, "[BADCHARSET (");
		for (size_t i = 0, n = 0; i < N_ELEMENTS(common); i++) {
			if (strcasecmp(common[i], "US-ASCII") != 0 &&
			    !mail_charset_is_known(common[i]))
				continue;
			buf_appendf(&b, "%s%s", n++ > 0 ? " " : "", common[i]);
		}
		buf_append_str(&b, ")] Unsupported charset");
		text = buf_steal(&b);
	}
	return text;
}

int imap_search_parse(const struct imap_arg *args, size_t n, const char *charset,
		      struct imap_search *search_r, const char **error_r, bool *badcharset_r)
{
	memset(search_r, 0, sizeof(*search_r));
	*badcharset_r = false;
	if (charset != NULL && !mail_charset_is_utf8(charset) &&
	    strcasecmp(charset, "US-ASCII") != 0 && !mail_charset_is_known(charset)) {
		*badcharset_r = true;
		return -1;
	}
	struct parse_ctx c = { .charset = charset, .search = search_r };
	if (n == 0) {
		*error_r = "Missing search keys";
		return -1;
	}
	if (parse_list(&c, args, n, &search_r->root, 0) < 0) {
		*error_r = c.error != NULL ? c.error : "Invalid search";
		*badcharset_r = c.badcharset;
		imap_search_free(search_r);
		return -1;
	}
	/* mergesort-like stability is not needed: AND commutes. */
	qsort(search_r->root.kids, search_r->root.n_kids, sizeof(*search_r->root.kids), cmp_cost);
	return 0;
}

/* ---- evaluation ---- */

static bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* Case-insensitive search of an already folded (so lower-case) needle
 * in ASCII text: exact for ASCII text, where folding is lower-casing. */
static bool ascii_contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	if (nlen > hlen)
		return false;
	unsigned char first = (unsigned char)needle[0];
	unsigned char upper = first >= 'a' && first <= 'z' ? (unsigned char)(first - 32) : first;
	for (size_t i = 0; i + nlen <= hlen; i++) {
		unsigned char c = (unsigned char)hay[i];
		if (c != first && c != upper)
			continue;
		size_t j = 1;
		for (; j < nlen; j++) {
			unsigned char h = (unsigned char)hay[i + j];
			if (h >= 'A' && h <= 'Z')
				h += 32;
			if (h != (unsigned char)needle[j])
				break;
		}
		if (j == nlen)
			return true;
	}
	return false;
}

static bool folded_contains(const char *needle, size_t nlen, const char *utf8, size_t len)
{
	if (is_ascii(utf8, len))
		return is_ascii(needle, nlen) && ascii_contains(utf8, len, needle, nlen);
	size_t flen;
	char *f = mail_fold_dup(utf8, len, &flen);
	bool r = mail_fold_contains(f, flen, needle, nlen);
	free(f);
	return r;
}

/* Whether a header field (any occurrence) contains the needle. */
static bool header_match(struct imap_msgdata *md, const struct imap_search_key *k)
{
	const char *h;
	size_t len;
	if (k->field != NULL && mail_hcache_has(k->field)) {
		if (imap_msgdata_fields(md, (const char *const *)&k->field, 1, &h, &len) < 0)
			return false;
	} else if (imap_msgdata_header(md, &h, &len) < 0) {
		return false;
	}
	struct mail_header_iter it;
	struct mail_header_field f;
	mail_header_iter_init(&it, h, len);
	while (mail_header_iter_next(&it, &f)) {
		if (k->field != NULL && !mail_header_name_is(&f, k->field))
			continue;
		if (k->folded_len == 0)
			return true;
		struct buf dec = BUF_INIT;
		if (k->field == NULL) {
			/* TEXT: name and value */
			buf_append(&dec, f.name, f.name_len);
			buf_append(&dec, ": ", 2);
		}
		(void)mail_rfc2047_decode(f.value, f.value_len, &dec);
		bool r = folded_contains(k->folded, k->folded_len, dec.data != NULL ? dec.data : "",
					 dec.len);
		buf_free(&dec);
		if (r)
			return true;
	}
	return false;
}

/* Whether the decoded text of any text/ leaf part contains the needle. */
static bool body_match(struct imap_msgdata *md, const struct imap_search_key *k)
{
	const struct mail_part *root;
	if (imap_msgdata_mime(md, &root) < 0)
		return false;
	if (k->folded_len == 0)
		return true;
	struct mail_fold_matcher *m = NULL;
	bool found = false;
	for (const struct mail_part *p = root; p != NULL && !found; p = mail_part_next_dfs(root, p)) {
		if (p->flags & (MAIL_PART_MULTIPART | MAIL_PART_MESSAGE))
			continue;
		if ((p->flags & MAIL_PART_TEXT) == 0)
			continue;
		struct buf raw = BUF_INIT, dec = BUF_INIT, text = BUF_INIT;
		if (imap_msgdata_read(md, p->body.offset, p->body.size, &raw) == 0) {
			const char *error;
			if (p->cte == MAIL_CTE_BASE64)
				(void)mail_base64_decode(raw.data, raw.len, &dec, &error);
			else if (p->cte == MAIL_CTE_QP)
				(void)mail_qp_decode(raw.data, raw.len, &dec, &error);
			else
				buf_append(&dec, raw.data != NULL ? raw.data : "", raw.len);
			const char *cs = mail_part_charset(p);
			/* 7-bit text means the same in ASCII-compatible charsets
			 * (not UTF-7 or ISO-2022-*); lower-casing is its folding. */
			bool ascii_cs = cs == NULL || (strncasecmp(cs, "utf-7", 5) != 0 &&
						       strcasestr(cs, "2022") == NULL &&
						       strncasecmp(cs, "hz", 2) != 0);
			if (ascii_cs && is_ascii(dec.data != NULL ? dec.data : "", dec.len) &&
			    is_ascii(k->folded, k->folded_len)) {
				found = ascii_contains(dec.data != NULL ? dec.data : "", dec.len,
						       k->folded, k->folded_len);
			} else if (cs == NULL || mail_charset_is_utf8(cs))
				mail_utf8_append_valid(&text, dec.data != NULL ? dec.data : "", dec.len);
			else
				(void)mail_charset_to_utf8(cs, dec.data != NULL ? dec.data : "",
							   dec.len, &text, &error);
			if (!found && text.len > 0) {
				if (m == NULL)
					m = mail_fold_matcher_new(k->text);
				mail_fold_matcher_reset(m);
				if (mail_fold_matcher_more(m, text.data, text.len) ||
				    mail_fold_matcher_finish(m))
					found = true;
			}
		}
		buf_free(&raw);
		buf_free(&dec);
		buf_free(&text);
	}
	if (m != NULL)
		mail_fold_matcher_free(&m);
	return found;
}

static bool sent_day(struct imap_msgdata *md, int64_t *day_r)
{
	char *d = imap_msgdata_header_get(md, "Date");
	if (d == NULL)
		return false;
	time_t t;
	int tz;
	bool ok = mail_date_parse(d, strlen(d), &t, &tz) == 0;
	free(d);
	if (ok)
		*day_r = day_of((int64_t)t, tz);
	return ok;
}

static bool uid_in(const uint32_t *v, size_t n, uint32_t x)
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

static bool eval(struct imap_search *s, struct imap_search_key *k, struct imap_msgdata *md,
		 uint32_t msn, bool recent, const struct strv *kw)
{
	int64_t day;
	switch (k->type) {
	case IMAP_SK_ALL:
		return true;
	case IMAP_SK_AND:
		for (size_t i = 0; i < k->n_kids; i++)
			if (!eval(s, &k->kids[i], md, msn, recent, kw))
				return false;
		return true;
	case IMAP_SK_OR:
		return eval(s, &k->kids[0], md, msn, recent, kw) ||
		       eval(s, &k->kids[1], md, msn, recent, kw);
	case IMAP_SK_NOT:
		return !eval(s, &k->kids[0], md, msn, recent, kw);
	case IMAP_SK_FLAGS_SET:
		return (md->flags & k->flags) == k->flags;
	case IMAP_SK_FLAGS_UNSET:
		return (md->flags & k->flags) == 0;
	case IMAP_SK_KEYWORD:
	case IMAP_SK_UNKEYWORD: {
		bool has = false;
		for (size_t i = 0; i < kw->n && i < 64; i++)
			if (strcasecmp(kw->v[i], k->text) == 0)
				has = (md->keywords & (1ULL << i)) != 0;
		return k->type == IMAP_SK_KEYWORD ? has : !has;
	}
	case IMAP_SK_RECENT:
		return recent;
	case IMAP_SK_NEW:
		return recent && (md->flags & STORE_FLAG_SEEN) == 0;
	case IMAP_SK_OLD:
		return !recent;
	case IMAP_SK_SEQSET:
		return imap_seqset_contains(&k->set, msn);
	case IMAP_SK_UIDSET:
		return imap_seqset_contains(&k->set, md->uid);
	case IMAP_SK_SAVED:
		return uid_in(s->saved, s->n_saved, md->uid);
	case IMAP_SK_LARGER:
		return md->size > k->num;
	case IMAP_SK_SMALLER:
		return md->size < k->num;
	case IMAP_SK_BEFORE:
		return day_of(md->idate, md->itz) < k->day;
	case IMAP_SK_ON:
		return day_of(md->idate, md->itz) == k->day;
	case IMAP_SK_SINCE:
		return day_of(md->idate, md->itz) >= k->day;
	case IMAP_SK_SAVEDBEFORE:
		return day_of(md->sdate, 0) < k->day;
	case IMAP_SK_SAVEDON:
		return day_of(md->sdate, 0) == k->day;
	case IMAP_SK_SAVEDSINCE:
		return day_of(md->sdate, 0) >= k->day;
	case IMAP_SK_SENTBEFORE:
		return sent_day(md, &day) && day < k->day;
	case IMAP_SK_SENTON:
		return sent_day(md, &day) && day == k->day;
	case IMAP_SK_SENTSINCE:
		return sent_day(md, &day) && day >= k->day;
	case IMAP_SK_OLDER:
		return md->idate <= (int64_t)s->now - (int64_t)k->num;
	case IMAP_SK_YOUNGER:
		return md->idate >= (int64_t)s->now - (int64_t)k->num;
	case IMAP_SK_MODSEQ:
		return md->modseq >= k->num;
	case IMAP_SK_EMAILID: {
		struct store_maildir_name n;
		char id[26];
		size_t ulen = store_maildir_name_parse(md->name, &n) ? n.unique_len : strlen(md->name);
		store_maildir_emailid(md->name, ulen, id);
		return strcmp(id, k->text) == 0;
	}
	case IMAP_SK_THREADID:
		return false;
	case IMAP_SK_HEADER:
		return header_match(md, k);
	case IMAP_SK_BODY:
		return body_match(md, k);
	case IMAP_SK_TEXT: {
		struct imap_search_key any = *k;
		any.field = NULL;
		return header_match(md, &any) || body_match(md, k);
	}
	}
	return false;
}

static void prepare(struct imap_search *s, struct imap_search_key *k)
{
	for (size_t i = 0; i < k->n_kids; i++)
		prepare(s, &k->kids[i]);	/* depth bounded by the parser */
	if (k->type == IMAP_SK_SEQSET)
		imap_seqset_normalize(&k->set, s->count);
	else if (k->type == IMAP_SK_UIDSET)
		imap_seqset_normalize(&k->set, s->max_uid);
}

void imap_search_prepare(struct imap_search *search)
{
	prepare(search, &search->root);
}

bool imap_search_match(struct imap_search *search, struct imap_msgdata *md, uint32_t msn,
		       bool recent, const struct strv *keywords)
{
	return eval(search, &search->root, md, msn, recent, keywords);
}
