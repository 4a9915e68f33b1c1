/* mail_hcache.h — the header cache kept in the index for each message:
 * the raw lines of the fields SORT, THREAD, SEARCH and mail lists use
 * (Date, From, To, Cc, Subject, Message-ID, References, In-Reply-To), in
 * their original order, as mail_header_filter() writes them. Any header
 * question about these fields has the same answer from the cache as from
 * the whole header: filtering, look-up and iteration by name see the
 * same fields with the same bytes. Pure functions; used by the store
 * (APPEND, background fill) and IMAP. Parses untrusted headers. */
#ifndef CORREU_MAIL_HCACHE_H
#define CORREU_MAIL_HCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Headers longer than this are not cached (the file is read instead). */
#define MAIL_HCACHE_HEADER_MAX (256 * 1024)

/* Whether the field called name[0..len) is in the cache (ASCII case-
 * insensitive). */
bool mail_hcache_has_field(const char *name, size_t len);
/* The same for a NUL-terminated name. */
bool mail_hcache_has(const char *name);
/* Whether every name of names[0..n) is in the cache. */
bool mail_hcache_has_all(const char *const *names, size_t n);

/* Appends the cache of the header section hdr[0..len) (the whole
 * header; the end of input counts as its end). The result is never
 * empty: at least the closing "\r\n". */
void mail_hcache_build(const void *hdr, size_t len, struct buf *out);

/* Collects the beginning of a message fed in pieces until its header
 * section is complete (or too long to cache). */
struct mail_hcache_collector {
	struct buf header;
	bool done;		/* header complete, or given up */
	bool too_long;
	size_t scan, pos;	/* line start and byte to look on from */
};
void mail_hcache_collector_init(struct mail_hcache_collector *c);
void mail_hcache_collector_feed(struct mail_hcache_collector *c, const void *data, size_t len);
/* Appends the cache to out and returns true, or false when the header
 * was too long to cache. The end of input ends the header. */
bool mail_hcache_collector_finish(struct mail_hcache_collector *c, struct buf *out);
void mail_hcache_collector_free(struct mail_hcache_collector *c);

#endif
