/* mail_fold.h — Unicode case folding for IMAP SEARCH (libunistring:
 * full case folding plus NFKC normalization, i;unicode-casemap of
 * RFC 5051) and a case-insensitive substring matcher over folded UTF-8,
 * also usable on text fed in chunks. Pure functions. Folds untrusted
 * input (invalid UTF-8 is replaced, never trusted). */
#ifndef CORREU_MAIL_FOLD_H
#define CORREU_MAIL_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Appends the folded form of UTF-8 text s[0..len). Invalid sequences are
 * replaced with U+FFFD first. */
void mail_fold_append(struct buf *out, const void *s, size_t len);
/* As above, as a new string (caller frees); *len_r may be NULL. */
char *mail_fold_dup(const void *s, size_t len, size_t *len_r);

/* Whether folded needle occurs in folded haystack (both from mail_fold_*).
 * An empty needle always matches. */
bool mail_fold_contains(const char *haystack, size_t hlen,
			const char *needle, size_t nlen);

/* Streaming matcher: searches for a needle in UTF-8 text given in chunks
 * of any size (cut anywhere). Memory is bounded by the needle length and
 * the longest run of text without whitespace, capped at 64 KiB. */
struct mail_fold_matcher;

/* needle is UTF-8 (not yet folded). */
struct mail_fold_matcher *mail_fold_matcher_new(const char *needle);
/* Feeds text; returns true once the needle has been found (then further
 * input is ignored). */
bool mail_fold_matcher_more(struct mail_fold_matcher *m, const void *text,
			    size_t len);
/* Ends the input; returns whether the needle was found. */
bool mail_fold_matcher_finish(struct mail_fold_matcher *m);
/* Forgets the text seen so far, keeping the needle. */
void mail_fold_matcher_reset(struct mail_fold_matcher *m);
void mail_fold_matcher_free(struct mail_fold_matcher **m);

#endif
