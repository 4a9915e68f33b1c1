/* store_maildir.h — Maildir file names: the unique base, the standard
 * ":2,<flags>" suffix shared with other Maildir tools, the ",S=<size>"
 * and ",U=<uid>" fields correu adds, IMAP system flags, and keywords as
 * the letters a-z the way Dovecot writes them (letter i = line i of the
 * folder's dovecot-keywords file), so they survive a rebuild. Pure
 * functions; used by the store in workers and by `correu reindex`.
 * Parses names found on disk (may be written by other tools). */
#ifndef CORREU_STORE_MAILDIR_H
#define CORREU_STORE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

/* IMAP system flags as stored in the index (\Recent is per session). */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,	/* Maildir 'S' */
	STORE_FLAG_ANSWERED = 1 << 1,	/* 'R' */
	STORE_FLAG_FLAGGED = 1 << 2,	/* 'F' */
	STORE_FLAG_DELETED = 1 << 3,	/* 'T' */
	STORE_FLAG_DRAFT = 1 << 4,	/* 'D' */
	STORE_FLAG_FORWARDED = 1 << 5,	/* 'P' ($Forwarded keyword in IMAP) */
};
#define STORE_FLAGS_ALL 0x3fu

/* Keywords that have a letter (a-z) in file names: the first 26. */
#define STORE_MAILDIR_KEYWORDS 26
#define STORE_MAILDIR_KEYWORD_MASK ((1ULL << STORE_MAILDIR_KEYWORDS) - 1)
/* The per-folder file naming the keyword letters (Dovecot's format:
 * "<index> <keyword>" per line). */
#define STORE_KEYWORDS_FILE "dovecot-keywords"

/* A parsed file name. Pointers point into the name given. */
struct store_maildir_name {
	const char *base;	/* before ":2," (the unique part + fields) */
	size_t base_len;
	size_t unique_len;	/* up to the first ',' or ':' */
	uint32_t flags;		/* enum store_flag bits from the suffix */
	uint32_t keywords;	/* bit i: letter 'a' + i in the suffix */
	uint64_t size;		/* S= */
	uint64_t vsize;		/* W= (the size with CRLF line ends) */
	uint32_t uid;		/* U= */
	bool has_info;		/* ":2," was present */
	bool has_size;
	bool has_vsize;
	bool has_uid;
};

/* Parses name; false if it cannot be a message file (dot files, empty,
 * '/' or NUL in it). */
bool store_maildir_name_parse(const char *name, struct store_maildir_name *r);

/* Appends "<base>:2,<letters>" with letters in ASCII order: the system
 * flags, then a letter for each of the first 26 keyword bits. */
void store_maildir_name_build(struct buf *out, const char *base, size_t base_len,
			      uint32_t flags, uint64_t keywords);

/* Appends the base of a name with ",U=<uid>" set (replacing an existing
 * U= field), for a message stored under that UID. */
void store_maildir_base_with_uid(struct buf *out, const struct store_maildir_name *n,
				 uint32_t uid);
/* Appends the base of a name with ",S=<size>,W=<size>" set (replacing
 * existing S= and W= fields), for a file whose CRLF size is size. */
void store_maildir_base_with_size(struct buf *out, const struct store_maildir_name *n,
				  uint64_t size);

/* Maildir letter <-> flag bits. Unknown letters give 0. */
uint32_t store_maildir_flag_from_letter(char c);
/* Appends the letters of flags, in ASCII order. */
void store_maildir_flags_letters(struct buf *out, uint32_t flags);

/* A stable object id (RFC 8474 EMAILID) for a message, computed from the
 * unique part of its name, which copies and moves keep: "M" + 24 hex. */
void store_maildir_emailid(const char *unique, size_t len, char out[26]);

#endif
