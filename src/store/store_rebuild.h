/* store_rebuild.h — rebuilding a user's index from the Maildir (the
 * files are the truth), also one that Dovecot or another tool kept:
 * folders; UIDVALIDITY, UIDNEXT and MAILBOXID from the per-folder state
 * files, else from Dovecot's dovecot-uidlist; UIDs from ",U=" in file
 * names, else from dovecot-uidlist; flags; the first 26 keywords of each
 * folder (dovecot-keywords; those past them are lost); sizes and dates;
 * subscriptions (correu's file, else Dovecot's); special uses (the old
 * index, else by name; missing special-use folders are made). Files
 * with bare LFs are made CRLF (store_crlf.h). Cached strings are lost;
 * HIGHESTMODSEQ moves forward past any value used before. Blocking:
 * `correu reindex` and the thread pool call it. */
#ifndef CORREU_STORE_REBUILD_H
#define CORREU_STORE_REBUILD_H

/* Builds a fresh index for maildir and replaces the old one, which is
 * kept as correu-index.sqlite.broken (damaged or not: `correu reindex`
 * replaces a sound one too). Returns 0, or -1 with *error_r. Holds the
 * user's index lock while working. */
int store_rebuild(const char *maildir, const char **error_r);

#endif
