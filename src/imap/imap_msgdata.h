/* imap_msgdata.h — lazy access to one message for FETCH, SEARCH, SORT
 * and THREAD: its index row, file, header section, MIME structure and
 * envelope, each loaded only when first asked for. Internal to
 * src/imap; runs in the mail workers. The message bytes are untrusted
 * (parsed with src/mail). */
#ifndef CORREU_IMAP_MSGDATA_H
#define CORREU_IMAP_MSGDATA_H

#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "mail_envelope.h"
#include "mail_mime.h"
#include "store.h"

#define IMAP_HEADER_MAX (4 * 1024 * 1024)

struct imap_msgdata {
	struct store_mailbox *mb;
	/* Copy of the index row (strings owned). */
	uint32_t uid;
	uint32_t flags;
	uint64_t keywords;
	int64_t idate;
	int32_t itz;
	int64_t sdate;
	uint64_t size;
	uint64_t modseq;
	char *name;
	char *envelope;		/* cached strings, may be NULL */
	char *bodystructure;
	char *body;
	bool cache_dirty;	/* computed strings to store back */
	bool name_borrowed;
	/* The header cache (mail_hcache.h): NULL = not made yet, length 0 =
	 * header too long to cache. hcache_dirty: made here; a caller that
 * wants it stored takes it (deinit does not write it). */
	char *hcache;
	size_t hcache_len;
	bool hcache_known;	/* the row's cache was read (else not made) */
	bool hcache_borrowed;	/* points into the row (not NUL-terminated) */
	bool hcache_dirty;

	int fd;
	bool failed;		/* the file could not be read */
	struct buf header;	/* header section incl. the empty line */
	bool have_header;
	struct mail_part *mime;
	struct mail_envelope env;
	bool have_env;
};

/* Copies what is needed from an index row. */
void imap_msgdata_init(struct imap_msgdata *md, struct store_mailbox *mb,
		       const struct store_msg *m);
/* The same, borrowing the row's file name and header cache instead of
 * copying them: md must be deinitialised before the row's iterator
 * moves on. */
void imap_msgdata_init_borrow(struct imap_msgdata *md, struct store_mailbox *mb,
			      const struct store_msg *m);
/* Writes computed ENVELOPE/BODYSTRUCTURE to the index, frees. */
void imap_msgdata_deinit(struct imap_msgdata *md);

/* Each returns 0, or -1 if the message file is gone or unreadable (the
 * store error says which). */
int imap_msgdata_fd(struct imap_msgdata *md, int *fd_r);
int imap_msgdata_header(struct imap_msgdata *md, const char **data_r, size_t *len_r);
int imap_msgdata_mime(struct imap_msgdata *md, const struct mail_part **root_r);
int imap_msgdata_envelope(struct imap_msgdata *md, const struct mail_envelope **env_r);
/* Reads len bytes at offset into out (appending). */
int imap_msgdata_read(struct imap_msgdata *md, uint64_t offset, uint64_t len, struct buf *out);
/* Cached or computed strings (without the item name). */
int imap_msgdata_envelope_str(struct imap_msgdata *md, const char **str_r);
int imap_msgdata_bodystructure_str(struct imap_msgdata *md, bool extended, const char **str_r);
/* The unfolded value of a header field (first occurrence), or NULL;
 * caller frees. */
char *imap_msgdata_header_get(struct imap_msgdata *md, const char *name);
/* Header bytes to answer questions about the fields names[0..n): the
 * header cache when it holds them all, else the whole header section
 * (whose cache is then made, to be stored). */
int imap_msgdata_fields(struct imap_msgdata *md, const char *const *names, size_t n,
			const char **data_r, size_t *len_r);
/* Whether the answer for names needs no file (the cache has them). */
bool imap_msgdata_fields_cached(const struct imap_msgdata *md, const char *const *names,
				size_t n);

#endif
