/* mail_fold.c — Unicode case folding (full folding + NFKC through
 * libunistring) and substring matching for IMAP SEARCH, one-shot or over
 * text in chunks. Pure functions; runs in the mail workers. Folds
 * untrusted input: invalid UTF-8 is replaced first. */
#include "mail_fold.h"
#include "mail_charset.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

#define MATCHER_MAX_PENDING (64 * 1024)

void mail_fold_append(struct buf *out, const void *s, size_t len)
{
	struct buf valid = BUF_INIT;
	const uint8_t *in = s;
	if (!mail_utf8_is_valid(s, len)) {
		mail_utf8_append_valid(&valid, s, len);
		in = (const uint8_t *)valid.data;
		len = valid.len;
	}
	if (len == 0) {
		buf_free(&valid);
		return;
	}
	size_t flen = 0;
	uint8_t *f = u8_casefold(in, len, NULL, UNINORM_NFKC, NULL, &flen);
	if (f == NULL) {
		/* ENOMEM: out of memory is fatal everywhere else too */
		x_malloc((size_t)-1);
	}
	buf_append(out, f, flen);
	free(f);
	buf_free(&valid);
}

char *mail_fold_dup(const void *s, size_t len, size_t *len_r)
{
	struct buf b = BUF_INIT;
	mail_fold_append(&b, s, len);
	if (len_r != NULL)
		*len_r = b.len;
	return buf_steal(&b);
}

bool mail_fold_contains(const char *haystack, size_t hlen,
			const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	return memmem(haystack, hlen, needle, nlen) != NULL;
}

struct mail_fold_matcher {
	char *needle;		/* folded */
	size_t nlen;
	struct buf pending;	/* raw text not yet folded */
	struct buf window;	/* folded text: tail of the last fold + new */
	bool found;
};

struct mail_fold_matcher *mail_fold_matcher_new(const char *needle)
{
	struct mail_fold_matcher *m = x_calloc(1, sizeof(*m));
	m->needle = mail_fold_dup(needle, strlen(needle), &m->nlen);
	m->found = m->nlen == 0;
	return m;
}

/* Folds pending[0..cut) and searches it joined to the kept tail. */
static void fold_upto(struct mail_fold_matcher *m, size_t cut)
{
	mail_fold_append(&m->window, m->pending.data, cut);
	buf_consume(&m->pending, cut);
	if (mail_fold_contains(m->window.data, m->window.len, m->needle, m->nlen)) {
		m->found = true;
		return;
	}
	/* keep only what could still be the start of a match */
	if (m->window.len >= m->nlen)
		buf_consume(&m->window, m->window.len - (m->nlen - 1));
}

bool mail_fold_matcher_more(struct mail_fold_matcher *m, const void *text,
			    size_t len)
{
	if (m->found)
		return true;
	buf_append(&m->pending, text, len);
	/* Fold up to the last whitespace: folding and normalization never
	 * join characters across it. */
	size_t cut = m->pending.len;
	while (cut > 0) {
		char c = m->pending.data[cut - 1];
		if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
			break;
		cut--;
	}
	if (cut == 0 && m->pending.len > MATCHER_MAX_PENDING) {
		/* no whitespace at all: cut at a character boundary */
		cut = m->pending.len;
		while (cut > 0 && ((unsigned char)m->pending.data[cut - 1] & 0xC0) == 0x80)
			cut--;
		if (cut > 0)
			cut--;
	}
	if (cut > 0)
		fold_upto(m, cut);
	return m->found;
}

bool mail_fold_matcher_finish(struct mail_fold_matcher *m)
{
	if (!m->found && m->pending.len > 0)
		fold_upto(m, m->pending.len);
	return m->found;
}

void mail_fold_matcher_reset(struct mail_fold_matcher *m)
{
	buf_reset(&m->pending);
	buf_reset(&m->window);
	m->found = m->nlen == 0;
}

void mail_fold_matcher_free(struct mail_fold_matcher **mp)
{
	struct mail_fold_matcher *m = *mp;
	*mp = NULL;
	if (m == NULL)
		return;
	free(m->needle);
	buf_free(&m->pending);
	buf_free(&m->window);
	free(m);
}
