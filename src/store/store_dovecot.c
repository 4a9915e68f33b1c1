/* store_dovecot.c — parsers for Dovecot's dovecot-uidlist and
 * subscriptions files, found in Maildirs migrated from Dovecot. Runs in
 * index rebuilds (`correu reindex`, thread-pool jobs of the workers).
 * Parses untrusted input: files written by another program. */
#include "store_dovecot.h"
#include "store_mutf7.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UIDLIST_READ_MAX (64u * 1024 * 1024)
#define SUBS_READ_MAX (4u * 1024 * 1024)

/* Splits input into lines (LF, an optional CR before it dropped) and
 * calls fn for each; a line longer than STORE_DOVECOT_LINE_MAX is not
 * kept: fn gets NULL for it. */
static void feed_lines(struct buf *line, bool *discard, const void *data, size_t len,
		       void (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	const char *p = data, *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (!*discard) {
			if (line->len + n > STORE_DOVECOT_LINE_MAX) {
				*discard = true;
				buf_reset(line);
			} else {
				buf_append(line, p, n);
			}
		}
		if (nl == NULL)
			return;
		if (!*discard) {
			size_t l = line->len;
			if (l > 0 && line->data[l - 1] == '\r')
				l--;
			fn(ctx, line->data != NULL ? line->data : "", l);
		} else {
			fn(ctx, NULL, 0);
		}
		*discard = false;
		buf_reset(line);
		p = nl + 1;
	}
}

/* A decimal number of 1..max in s[0..len), nothing else. */
static bool parse_u32(const char *s, size_t len, uint32_t max, uint32_t *r)
{
	if (len == 0 || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > max)
		return false;
	*r = (uint32_t)v;
	return true;
}

/* Length of a Maildir file name's unique part. */
static size_t unique_len(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && s[i] != ',' && s[i] != ':')
		i++;
	return i;
}

static uint64_t hash_name(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

void store_uidlist_init(struct store_uidlist *ul)
{
	memset(ul, 0, sizeof(*ul));
	buf_init(&ul->line);
	buf_init(&ul->names);
}

/* "1 <uidvalidity> <nextuid>" or "3 V.. N.. G.. ...". */
static void uidlist_header(struct store_uidlist *ul, const char *s, size_t len)
{
	ul->header_done = true;
	ul->header_bad = true;
	if (len < 2 || (s[0] != '1' && s[0] != '3') || s[1] != ' ')
		return;
	ul->version = (unsigned)(s[0] - '0');
	uint32_t uidvalidity = 0, nextuid = 0;
	size_t i = 2;
	unsigned field = 0;
	while (i < len) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		const char *tok = s + start;
		size_t tlen = i - start;
		if (ul->version == 1) {
			/* Two numbers, then nothing Dovecot reads. */
			if (field == 0 && !parse_u32(tok, tlen, UINT32_MAX, &uidvalidity))
				return;
			if (field == 1 && !parse_u32(tok, tlen, UINT32_MAX, &nextuid))
				return;
			field++;
			continue;
		}
		switch (tok[0]) {
		case 'V':
			if (!parse_u32(tok + 1, tlen - 1, UINT32_MAX, &uidvalidity))
				return;
			break;
		case 'N':
			if (!parse_u32(tok + 1, tlen - 1, UINT32_MAX, &nextuid))
				return;
			break;
		case 'G':
			/* The mailbox GUID; an odd one is not used, as the rest. */
			if (tlen == 33) {
				char g[33];
				bool ok = true;
				for (size_t k = 0; k < 32 && ok; k++) {
					char c = tok[1 + k];
					if (c >= 'A' && c <= 'F')
						c = (char)(c - 'A' + 'a');
					ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
					g[k] = c;
				}
				g[32] = '\0';
				if (ok)
					memcpy(ul->guid, g, 33);
			}
			break;
		default:
			break;	/* other header extensions */
		}
	}
	if (uidvalidity == 0 || nextuid == 0)
		return;
	ul->uidvalidity = uidvalidity;
	ul->nextuid = nextuid;
	ul->header_bad = false;
}

/* "<uid> <name>" (v1) or "<uid> [<ext> ...] :<name>" (v3). */
static bool uidlist_record(struct store_uidlist *ul, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	uint32_t uid;
	/* UINT32_MAX is not a UID (UIDNEXT could not follow it). */
	if (!parse_u32(s, i, UINT32_MAX - 1, &uid) || i >= len || s[i] != ' ')
		return false;
	while (i < len && s[i] == ' ')
		i++;
	if (ul->version == 3) {
		/* Extensions up to the token that starts with ':'. */
		for (;;) {
			if (i >= len)
				return false;
			if (s[i] == ':') {
				i++;
				break;
			}
			while (i < len && s[i] != ' ')
				i++;
			while (i < len && s[i] == ' ')
				i++;
		}
	}
	const char *name = s + i;
	size_t nlen = len - i;
	if (nlen == 0 || memchr(name, '/', nlen) != NULL || memchr(name, '\0', nlen) != NULL)
		return false;
	size_t ulen = unique_len(name, nlen);
	if (ulen == 0 || name[0] == '.' || ul->names.len > UINT32_MAX - STORE_DOVECOT_LINE_MAX)
		return false;
	if (ul->n_entries == ul->cap) {
		ul->cap = ul->cap == 0 ? 64 : ul->cap * 2;
		ul->entries = x_reallocarray(ul->entries, ul->cap, sizeof(*ul->entries));
	}
	struct store_uidlist_entry *e = &ul->entries[ul->n_entries++];
	e->uid = uid;
	e->name_ofs = (uint32_t)ul->names.len;
	e->name_len = (uint32_t)ulen;
	buf_append(&ul->names, name, ulen);
	buf_append_char(&ul->names, '\0');
	if (uid > ul->max_uid)
		ul->max_uid = uid;
	return true;
}

static void uidlist_line(void *ctx, const char *s, size_t len)
{
	struct store_uidlist *ul = ctx;
	if (!ul->header_done) {
		if (s != NULL) {
			uidlist_header(ul, s, len);
		} else {
			ul->header_done = true;
			ul->header_bad = true;
		}
		return;
	}
	if (ul->header_bad || (s != NULL && len == 0))
		return;
	if (s == NULL || !uidlist_record(ul, s, len))
		ul->n_skipped++;
}

void store_uidlist_feed(struct store_uidlist *ul, const void *data, size_t len)
{
	if (ul->header_bad)
		return;
	feed_lines(&ul->line, &ul->discard, data, len, uidlist_line, ul);
}

static const char *entry_name(const struct store_uidlist *ul, const struct store_uidlist_entry *e)
{
	return ul->names.data + e->name_ofs;
}

bool store_uidlist_finish(struct store_uidlist *ul)
{
	buf_free(&ul->line);
	if (!ul->header_done || ul->header_bad)
		return false;
	if (ul->max_uid >= ul->nextuid)
		ul->nextuid = ul->max_uid + 1;
	/* Open addressing, load at most one half. A name listed twice
	 * takes the later line's UID, as Dovecot does. */
	ul->table_size = 16;
	while (ul->table_size < ul->n_entries * 2)
		ul->table_size *= 2;
	ul->table = x_calloc(ul->table_size, sizeof(*ul->table));
	for (size_t i = 0; i < ul->n_entries; i++) {
		const struct store_uidlist_entry *e = &ul->entries[i];
		const char *name = entry_name(ul, e);
		size_t h = hash_name(name, e->name_len) & (ul->table_size - 1);
		for (;; h = (h + 1) & (ul->table_size - 1)) {
			uint32_t t = ul->table[h];
			if (t == 0) {
				ul->table[h] = (uint32_t)i + 1;
				break;
			}
			const struct store_uidlist_entry *o = &ul->entries[t - 1];
			if (o->name_len == e->name_len &&
			    memcmp(entry_name(ul, o), name, e->name_len) == 0) {
				ul->table[h] = (uint32_t)i + 1;
				break;
			}
		}
	}
	return true;
}

uint32_t store_uidlist_lookup(const struct store_uidlist *ul, const char *name, size_t len)
{
	if (ul->table == NULL)
		return 0;
	len = unique_len(name, len);
	size_t h = hash_name(name, len) & (ul->table_size - 1);
	for (; ul->table[h] != 0; h = (h + 1) & (ul->table_size - 1)) {
		const struct store_uidlist_entry *e = &ul->entries[ul->table[h] - 1];
		if (e->name_len == len && memcmp(entry_name(ul, e), name, len) == 0)
			return e->uid;
	}
	return 0;
}

void store_uidlist_free(struct store_uidlist *ul)
{
	buf_free(&ul->line);
	buf_free(&ul->names);
	free(ul->entries);
	free(ul->table);
	memset(ul, 0, sizeof(*ul));
}

/* Feeds a whole file to a parser in chunks. 1 read, 0 missing, -1 error. */
static int read_into(const char *path, size_t limit, void (*feed)(void *p, const void *d, size_t n),
		     void *p)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	char *chunk = x_malloc(65536);
	size_t total = 0;
	int ret = 1;
	for (;;) {
		ssize_t n = read(fd, chunk, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > limit) {
			errno = EFBIG;
			ret = -1;
			break;
		}
		feed(p, chunk, (size_t)n);
	}
	int err = errno;
	free(chunk);
	close(fd);
	errno = err;
	return ret;
}

static void uidlist_feed_cb(void *p, const void *d, size_t n)
{
	store_uidlist_feed(p, d, n);
}

int store_uidlist_read(const char *dir, struct store_uidlist *ul)
{
	char *path = x_asprintf("%s/" STORE_DOVECOT_UIDLIST_FILE, dir);
	store_uidlist_init(ul);
	int r = read_into(path, UIDLIST_READ_MAX, uidlist_feed_cb, ul);
	free(path);
	if (r <= 0 || !store_uidlist_finish(ul)) {
		int err = errno;
		store_uidlist_free(ul);
		errno = err;
		return r < 0 ? -1 : 0;
	}
	return 1;
}

void store_subs_init(struct store_subs_parser *p, struct strv *names)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->line);
	p->names = names;
}

/* Appends the UTF-8 form of one level: modified UTF-7, else UTF-8 as
 * it is. false if neither. */
static bool subs_level(const char *s, size_t len, struct buf *out)
{
	size_t old = out->len;
	if (store_mutf7_to_utf8(s, len, out) == 0)
		return true;
	out->len = old;
	if (out->data != NULL)
		out->data[old] = '\0';
	if (!store_utf8_valid(s, len))
		return false;
	buf_append(out, s, len);
	return true;
}

/* Decodes a version 2 line: TAB-separated levels, \001 escapes. */
static bool subs_v2_name(const char *s, size_t len, struct buf *out)
{
	struct buf level = BUF_INIT;
	bool ok = true;
	for (size_t i = 0; ok; i++) {
		if (i == len || s[i] == '\t') {
			/* '.' inside a level would make two levels of it. */
			ok = level.len > 0 && memchr(level.data, '.', level.len) == NULL;
			if (ok && out->len > 0)
				buf_append_char(out, '.');
			ok = ok && subs_level(level.data, level.len, out);
			buf_reset(&level);
			if (i == len)
				break;
		} else if (s[i] == '\001') {
			if (++i == len)
				ok = false;
			else if (s[i] == '1')
				buf_append_char(&level, '\001');
			else if (s[i] == 't')
				buf_append_char(&level, '\t');
			else if (s[i] == 'r')
				buf_append_char(&level, '\r');
			else if (s[i] == 'n')
				buf_append_char(&level, '\n');
			else
				ok = false;
		} else {
			buf_append_char(&level, s[i]);
		}
	}
	buf_free(&level);
	return ok;
}

static void subs_name(struct store_subs_parser *p, const char *s, size_t len)
{
	if (len == 0)
		return;
	struct buf out = BUF_INIT;
	bool ok = p->version == 2 ? subs_v2_name(s, len, &out) :
		  memchr(s, '\0', len) == NULL && subs_level(s, len, &out);
	if (ok && out.len > 0 && memchr(out.data, '\0', out.len) == NULL)
		strv_push(p->names, out.data);
	else
		p->n_skipped++;
	buf_free(&out);
}

static void subs_line(void *ctx, const char *s, size_t len)
{
	struct store_subs_parser *p = ctx;
	p->lineno++;
	if (s == NULL) {
		if (p->lineno == 1 || (p->lineno == 2 && p->version == 2))
			p->version = 1;
		p->n_skipped++;
		return;
	}
	if (p->lineno == 1) {
		if (len == 3 && memcmp(s, "V\t2", 3) == 0) {
			p->version = 2;	/* if the next line is empty */
			return;
		}
		p->version = 1;
	} else if (p->lineno == 2 && p->version == 2 && len != 0) {
		/* Not Dovecot's header after all: version 1, and its first
		 * line ("V<TAB>2") was a name (that no check accepts). */
		p->version = 1;
		p->n_skipped++;
	}
	subs_name(p, s, len);
}

void store_subs_feed(struct store_subs_parser *p, const void *data, size_t len)
{
	feed_lines(&p->line, &p->discard, data, len, subs_line, p);
}

void store_subs_finish(struct store_subs_parser *p)
{
	if (p->discard) {
		subs_line(p, NULL, 0);
	} else if (p->line.len > 0) {
		size_t l = p->line.len;
		if (p->line.data[l - 1] == '\r')
			l--;
		subs_line(p, p->line.data, l);
	}
	buf_free(&p->line);
	p->discard = false;
}

static void subs_feed_cb(void *p, const void *d, size_t n)
{
	store_subs_feed(p, d, n);
}

int store_subs_read(const char *maildir, struct strv *names)
{
	char *path = x_asprintf("%s/" STORE_DOVECOT_SUBSCRIPTIONS_FILE, maildir);
	struct store_subs_parser p;
	store_subs_init(&p, names);
	int r = read_into(path, SUBS_READ_MAX, subs_feed_cb, &p);
	int err = errno;
	store_subs_finish(&p);
	free(path);
	errno = err;
	return r;
}
