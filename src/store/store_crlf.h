/* store_crlf.h — message files with bare LF line ends (Dovecot without
 * mail_save_crlf, procmail, mutt and most MDAs write them) made CRLF
 * when the store first finds them in new/ or cur/, so that every reader
 * (IMAP FETCH, BODYSTRUCTURE, SEARCH, sizes, POP3, quota) sees the bytes
 * IMAP must send and the sizes in the index are those of the CRLF form.
 *
 * A file needs looking at unless its name proves it CRLF: ",S=<n>,W=<n>"
 * with both equal to the file size (W= is the CRLF size; correu writes
 * both, as Dovecot with mail_save_crlf = yes). A converted file keeps
 * its unique name, flags and modification time (INTERNALDATE) and gets
 * ",S=,W=" with its new size. Crash-safe: the CRLF copy is written in
 * tmp/ and its data flushed, then atomically exchanged with the
 * original (renameat2 RENAME_EXCHANGE: never a second copy, nothing
 * lost if another tool renamed the file meanwhile), then renamed to its
 * new size fields; a crash between the steps leaves either the old file
 * or the CRLF one under the old name, which the next look takes again.
 * Only files in new/ and cur/ are touched, which the Maildir rules make
 * complete.
 *
 * The converter state is pure; the file functions block (rebuilds,
 * commands, the thread pool); store_crlf_queue runs on a worker loop and
 * does the work in the thread pool. Message files are untrusted. */
#ifndef CORREU_STORE_CRLF_H
#define CORREU_STORE_CRLF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "buf.h"
#include "str.h"
#include "store_maildir.h"

/* Streaming LF -> CRLF: any split of the input gives the same output.
 * A CR not followed by LF stays as it is. */
struct store_crlf {
	bool prev_cr;		/* the last byte fed was CR */
	uint64_t in;		/* octets fed */
	uint64_t bare_lf;	/* LFs without a CR before them */
};

void store_crlf_init(struct store_crlf *c);
/* Counts only. */
void store_crlf_count(struct store_crlf *c, const void *data, size_t len);
/* Appends the CRLF form of data to out (and counts). */
void store_crlf_convert(struct store_crlf *c, const void *data, size_t len, struct buf *out);

/* Whether the name proves the file (of size file_size) has no bare LF. */
bool store_crlf_name_ok(const struct store_maildir_name *n, uint64_t file_size);

/* Looks at the first up to limit bytes of an open file: 1 no bare LF in
 * the whole file (it is no longer than limit), 0 bare LFs or longer
 * than limit, -1 read error. For the loop: one read of a small file. */
int store_crlf_check_small(int fd, uint64_t file_size, size_t limit);

/* Makes folder/subdir/name CRLF (subdir "new" or "cur") and gives it
 * the ,S=,W= of its size; *newname_r gets its name afterwards (in the
 * same subdir; the same name if nothing had to change). 0 done, 1 the
 * file is gone or not a regular file (another process took or renamed
 * it: look again), -1 error with *error_r. Blocking. */
int store_crlf_file(const char *folder, const char *subdir, const char *name,
		    struct buf *newname_r, const char **error_r);

struct store_mailbox;
/* On a loop: converts the files (names relative to mb's folder, such as
 * "new/x") in the thread pool, then makes every session look at the
 * folder again. At most one job per user runs; while it does, further
 * calls are ignored (its end makes sessions sync, which finds the rest).
 * A file that cannot be converted is noted and then taken as it is. */
void store_crlf_queue(struct store_mailbox *mb, const struct strv *files);
/* Whether a conversion of the user's failed for this name (relative as
 * above): take the file without conversion. */
bool store_crlf_failed(const struct store_mailbox *mb, const char *subdir, const char *name);

#endif
