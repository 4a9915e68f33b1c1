/* store_rebuild.h — rebuilding a user's index from the Maildir (the
 * files are the truth): folders, UIDs (from ",U=" in file names and the
 * per-folder state files), flags, sizes, dates, subscriptions. Keywords
 * and cached strings are lost; UIDVALIDITY is kept when the state file
 * exists. HIGHESTMODSEQ moves forward past any value used before.
 * Blocking: `correu reindex` and the thread pool call it. */
#ifndef CORREU_STORE_REBUILD_H
#define CORREU_STORE_REBUILD_H

/* Builds a fresh index for maildir and replaces the old one (kept as
 * correu-index.sqlite.broken when it was damaged). Returns 0, or -1 with
 * *error_r. Holds the user's index lock while working. */
int store_rebuild(const char *maildir, const char **error_r);

#endif
