/* store_maildir.c — Maildir file name parsing and building.
 * Runs in workers and `correu reindex`. Parses names found on disk,
 * which other Maildir tools may have written: never trusts them to be
 * well formed. */
#include "store_maildir.h"

#include <string.h>

static const struct {
	char letter;
	uint32_t flag;
} letters[] = {	/* ASCII order, as the Maildir spec asks */
	{ 'D', STORE_FLAG_DRAFT },
	{ 'F', STORE_FLAG_FLAGGED },
	{ 'P', STORE_FLAG_FORWARDED },
	{ 'R', STORE_FLAG_ANSWERED },
	{ 'S', STORE_FLAG_SEEN },
	{ 'T', STORE_FLAG_DELETED },
};

uint32_t store_maildir_flag_from_letter(char c)
{
	for (size_t i = 0; i < N_ELEMENTS(letters); i++)
		if (letters[i].letter == c)
			return letters[i].flag;
	return 0;
}

void store_maildir_flags_letters(struct buf *out, uint32_t flags)
{
	for (size_t i = 0; i < N_ELEMENTS(letters); i++)
		if (flags & letters[i].flag)
			buf_append_char(out, letters[i].letter);
}

/* Parses the decimal value of a ",X=" field starting at p (after '='). */
static bool parse_field_num(const char *p, const char *end, uint64_t max, uint64_t *val_r)
{
	uint64_t v = 0;
	if (p >= end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p < end && *p != ',')
		return false;
	*val_r = v;
	return true;
}

bool store_maildir_name_parse(const char *name, struct store_maildir_name *r)
{
	memset(r, 0, sizeof(*r));
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
		return false;
	const char *colon = strstr(name, ":2,");
	size_t base_len = colon != NULL ? (size_t)(colon - name) : strlen(name);
	if (colon == NULL) {
		/* ":1," and other experimental infos: keep the whole name. */
		const char *c = strchr(name, ':');
		if (c != NULL)
			base_len = (size_t)(c - name);
	}
	if (base_len == 0)
		return false;
	r->base = name;
	r->base_len = base_len;
	const char *end = name + base_len;
	const char *comma = memchr(name, ',', base_len);
	r->unique_len = comma != NULL ? (size_t)(comma - name) : base_len;
	for (const char *p = comma; p != NULL && p < end;) {
		p++;
		if (end - p >= 2 && p[0] == 'S' && p[1] == '=') {
			uint64_t v;
			if (parse_field_num(p + 2, end, UINT64_MAX, &v)) {
				r->size = v;
				r->has_size = true;
			}
		} else if (end - p >= 2 && p[0] == 'W' && p[1] == '=') {
			uint64_t v;
			if (parse_field_num(p + 2, end, UINT64_MAX, &v)) {
				r->vsize = v;
				r->has_vsize = true;
			}
		} else if (end - p >= 2 && p[0] == 'U' && p[1] == '=') {
			uint64_t v;
			if (parse_field_num(p + 2, end, UINT32_MAX, &v) && v > 0) {
				r->uid = (uint32_t)v;
				r->has_uid = true;
			}
		}
		p = memchr(p, ',', (size_t)(end - p));
	}
	if (colon != NULL) {
		r->has_info = true;
		for (const char *p = colon + 3; *p != '\0'; p++) {
			if (*p >= 'a' && *p <= 'z')
				r->keywords |= 1u << (*p - 'a');
			else
				r->flags |= store_maildir_flag_from_letter(*p);
		}
	}
	return true;
}

void store_maildir_name_build(struct buf *out, const char *base, size_t base_len,
			      uint32_t flags, uint64_t keywords)
{
	buf_append(out, base, base_len);
	buf_append(out, ":2,", 3);
	store_maildir_flags_letters(out, flags);
	for (unsigned i = 0; i < STORE_MAILDIR_KEYWORDS; i++)
		if (keywords & (1ULL << i))
			buf_append_char(out, (char)('a' + i));
}

/* Appends the base without its fields named by the letters in drop
 * ("U" drops ",U=..."). */
static void base_without(struct buf *out, const struct store_maildir_name *n, const char *drop)
{
	const char *p = n->base, *end = n->base + n->base_len;
	const char *comma = memchr(p, ',', n->base_len);
	if (comma == NULL) {
		buf_append(out, p, n->base_len);
		return;
	}
	buf_append(out, p, (size_t)(comma - p));
	while (comma != NULL && comma < end) {
		const char *next = memchr(comma + 1, ',', (size_t)(end - comma - 1));
		const char *fend = next != NULL ? next : end;
		if (!(fend - comma >= 3 && comma[1] != '\0' && strchr(drop, comma[1]) != NULL &&
		      comma[2] == '='))
			buf_append(out, comma, (size_t)(fend - comma));
		comma = next;
	}
}

void store_maildir_base_with_uid(struct buf *out, const struct store_maildir_name *n,
				 uint32_t uid)
{
	base_without(out, n, "U");
	buf_appendf(out, ",U=%u", uid);
}

void store_maildir_base_with_size(struct buf *out, const struct store_maildir_name *n,
				  uint64_t size)
{
	base_without(out, n, "SW");
	buf_appendf(out, ",S=%llu,W=%llu", (unsigned long long)size, (unsigned long long)size);
}

void store_maildir_emailid(const char *unique, size_t len, char out[26])
{
	/* Two FNV-1a variants give 96 bits; plenty for one account. */
	uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x84222325cbf29ce4ULL;
	for (size_t i = 0; i < len; i++) {
		h1 = (h1 ^ (unsigned char)unique[i]) * 0x100000001b3ULL;
		h2 = (h2 ^ (unsigned char)unique[len - 1 - i]) * 0x100000001b3ULL;
	}
	static const char hex[] = "0123456789abcdef";
	out[0] = 'M';
	for (int i = 0; i < 16; i++)
		out[1 + i] = hex[(h1 >> (60 - 4 * i)) & 15];
	for (int i = 0; i < 8; i++)
		out[17 + i] = hex[(h2 >> (60 - 4 * i)) & 15];
	out[25] = '\0';
}
