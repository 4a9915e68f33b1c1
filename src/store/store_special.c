/* store_special.c — every account's special-use folders (RFC 6154):
 * Drafts, Sent, Trash, Junk and Archive, made when the index is made
 * (a new account, an index built from a Maildir that mail reached
 * first, a migration, a rebuild) and once in an index made before this
 * existed. A folder the Maildir already has under a usual name (Sent
 * Messages, Spam, Deleted Items...) gets the use instead of a second
 * folder; Dovecot keeps its special uses in its configuration, which
 * correu cannot see, so names are all there is. Runs where the index is
 * opened or rebuilt (thread pool, commands), holding the index lock.
 * Reads no untrusted input beyond folder names (already checked). */
#include "store_private.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Set once an index has been given its special-use folders; after
 * that a folder the user deleted stays deleted. */
#define META_KEY "special_folders"

static const struct {
	unsigned special;
	const char *name;		/* created with this name */
	const char *aliases[5];		/* names taken instead, in order */
} uses[] = {
	{ STORE_SPECIAL_DRAFTS, "Drafts", { "Drafts", "Draft" } },
	{ STORE_SPECIAL_SENT, "Sent", { "Sent", "Sent Messages", "Sent Items", "Sent Mail" } },
	{ STORE_SPECIAL_TRASH, "Trash", { "Trash", "Deleted Messages", "Deleted Items" } },
	{ STORE_SPECIAL_JUNK, "Junk", { "Junk", "Spam", "Junk E-mail", "Junk Email" } },
	{ STORE_SPECIAL_ARCHIVE, "Archive", { "Archive", "Archives" } },
};

static int set_special(struct store_user *user, int64_t id, unsigned special)
{
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MB_SET_SPECIAL);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, (int)special);
	return store_index_exec_stmt(user->idx, st);
}

static int64_t mailbox_id(struct store_user *user, const char *name, unsigned *special_r)
{
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MB_BY_NAME);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int64_t id = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		*special_r = (unsigned)sqlite3_column_int(st, 7);
	}
	sqlite3_reset(st);
	return id;
}

int store_special_folders(struct store_user *user)
{
	if (store_index_meta_get(user->idx, META_KEY, 0) != 0)
		return 0;
	struct store_mailbox_info *list;
	size_t n;
	if (store_mailbox_list(user, &list, &n) < 0)
		return -1;
	unsigned have = 0;
	for (size_t i = 0; i < n; i++)
		have |= list[i].special;
	int ret = 0;
	for (size_t u = 0; u < N_ELEMENTS(uses) && ret == 0; u++) {
		if (have & uses[u].special)
			continue;
		/* A top-level folder with a usual name and no use yet. */
		const struct store_mailbox_info *found = NULL;
		for (size_t a = 0; a < N_ELEMENTS(uses[u].aliases) && found == NULL; a++)
			for (size_t i = 0; i < n && found == NULL && uses[u].aliases[a] != NULL; i++)
				if (list[i].special == 0 &&
				    strcasecmp(list[i].name, uses[u].aliases[a]) == 0)
					found = &list[i];
		if (found != NULL) {
			unsigned special;
			int64_t id = mailbox_id(user, found->name, &special);
			if (id < 0 || set_special(user, id, special | uses[u].special) < 0)
				ret = store_fail(user, STORE_ERR_TEMP, "index error");
			else
				log_info("store %s: %s is the %s folder", user->address,
					 found->name, uses[u].name);
			continue;
		}
		if (store_mailbox_create(user, uses[u].name, uses[u].special) < 0) {
			unsigned special;
			int64_t id;
			/* The name is taken by a folder with another use. */
			if (user->last_error != STORE_ERR_EXISTS ||
			    (id = mailbox_id(user, uses[u].name, &special)) < 0 ||
			    set_special(user, id, special | uses[u].special) < 0) {
				log_warn("store %s: cannot create %s: %s", user->address,
					 uses[u].name, store_user_error_text(user));
				ret = -1;
			}
			continue;
		}
		(void)store_subscribe(user, uses[u].name, true);
	}
	store_mailbox_info_free(list, n);
	if (ret == 0 && store_index_meta_set(user->idx, META_KEY, 1) < 0)
		ret = store_fail(user, STORE_ERR_TEMP, "index error");
	if (ret == 0)
		store_user_changed(user);
	return ret;
}
