/* store_dovecot.h — Dovecot's Maildir control files that a migration
 * brings along: a folder's dovecot-uidlist (UIDVALIDITY, the next UID,
 * the mailbox GUID and each file's UID) and the account's subscriptions
 * file. Read when an index is built from a Maildir (store_rebuild.c),
 * never written. Push parsers (bytes in, any split, the same result):
 * the files are untrusted (another program wrote them), so every line is
 * checked and a bad one is skipped, never trusted halfway. Pure apart
 * from the *_read helpers, which read the file (blocking). */
#ifndef CORREU_STORE_DOVECOT_H
#define CORREU_STORE_DOVECOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "str.h"

#define STORE_DOVECOT_UIDLIST_FILE "dovecot-uidlist"
#define STORE_DOVECOT_SUBSCRIPTIONS_FILE "subscriptions"
/* Longest line kept; longer ones (no file name is that long) are skipped. */
#define STORE_DOVECOT_LINE_MAX 8192

/* dovecot-uidlist, versions 1 ("1 <uidvalidity> <nextuid>", then
 * "<uid> <file name>") and 3 ("3 V<uidvalidity> N<nextuid> G<guid> ...",
 * then "<uid> [<ext>...] :<file name>", ext = an upper-case letter and a
 * value, such as S<size> or W<vsize>). Files are matched on their unique
 * part (the name up to the first ',' or ':'), which Maildir tools keep
 * when they change flags or add fields. */
struct store_uidlist_entry {
	uint32_t uid;
	uint32_t name_ofs;	/* unique part in names, NUL-terminated */
	uint32_t name_len;
};

struct store_uidlist {
	/* Results, valid after store_uidlist_finish() returned true. */
	unsigned version;	/* 1 or 3 */
	uint32_t uidvalidity;	/* never 0 */
	uint32_t nextuid;	/* above every UID listed (raised if the file is behind) */
	char guid[33];		/* 32 lower-case hex digits, or "" */
	uint32_t max_uid;	/* highest UID listed, 0 if none */
	size_t n_entries;	/* lines kept */
	size_t n_skipped;	/* lines that did not parse (or repeated a UID) */

	/* Parser state. */
	struct buf line;
	bool discard;		/* inside an over-long line */
	bool header_done;
	bool header_bad;	/* no usable header: the file is ignored */
	struct buf names;
	struct store_uidlist_entry *entries;
	size_t cap;
	uint32_t *table;	/* hash of unique parts -> entry index + 1 */
	size_t table_size;
};

void store_uidlist_init(struct store_uidlist *ul);
/* Feeds bytes of the file; any split gives the same result. */
void store_uidlist_feed(struct store_uidlist *ul, const void *data, size_t len);
/* Ends the input (a last line without LF is ignored: Dovecot writes whole
 * lines and renames the file into place). false if the header is missing
 * or unusable, then the file says nothing. */
bool store_uidlist_finish(struct store_uidlist *ul);
/* The UID listed for a file whose unique part is name[0..len), 0 if none. */
uint32_t store_uidlist_lookup(const struct store_uidlist *ul, const char *name, size_t len);
void store_uidlist_free(struct store_uidlist *ul);

/* Reads dir/dovecot-uidlist (up to 64 MiB). 1 parsed (ul filled, free it),
 * 0 no file or nothing usable in it (ul freed), -1 unreadable (errno). */
int store_uidlist_read(const char *dir, struct store_uidlist *ul);

/* Dovecot's subscriptions file: version 2 starts with "V\t2\n\n" and
 * lists one name a line with the hierarchy levels separated by TABs and
 * TAB, CR, LF and \001 escaped as \001 followed by 't', 'r', 'n', '1';
 * version 1 (no header) lists names with the separator itself. Names
 * are in modified UTF-7 as Dovecot stores them; they come out in UTF-8
 * with '.' between levels (a level that is not valid modified UTF-7 is
 * taken as it is when it is valid UTF-8, else the name is skipped). */
struct store_subs_parser {
	struct buf line;
	bool discard;
	unsigned lineno;	/* lines seen */
	unsigned version;	/* 1 or 2 once the first line is seen */
	struct strv *names;	/* results, appended in file order */
	size_t n_skipped;
};

void store_subs_init(struct store_subs_parser *p, struct strv *names);
void store_subs_feed(struct store_subs_parser *p, const void *data, size_t len);
/* A last line without LF counts (Dovecot's reader returns it too). */
void store_subs_finish(struct store_subs_parser *p);

/* Reads maildir/subscriptions into names (UTF-8). 1 read, 0 no file,
 * -1 unreadable (errno). */
int store_subs_read(const char *maildir, struct strv *names);

#endif
