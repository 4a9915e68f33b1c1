/* store_mailbox.h — a user's mailboxes: Maildir++ folders (INBOX is the
 * root, "a.b" is the directory ".a.b", '.' separates hierarchy levels)
 * and their rows in the index. Names are UTF-8 here; the directories use
 * modified UTF-7 like Dovecot's Maildir++ layout. Runs in the workers on
 * the loop (fast file system and index calls). */
#ifndef CORREU_STORE_MAILBOX_H
#define CORREU_STORE_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "str.h"
#include "store_error.h"

struct store_user;
struct store_mailbox;

#define STORE_HIERARCHY_SEP '.'
#define STORE_MAILBOX_NAME_MAX 200	/* bytes of UTF-8 */

/* RFC 6154 special uses. */
enum store_special {
	STORE_SPECIAL_DRAFTS = 1 << 0,
	STORE_SPECIAL_SENT = 1 << 1,
	STORE_SPECIAL_TRASH = 1 << 2,
	STORE_SPECIAL_JUNK = 1 << 3,
	STORE_SPECIAL_ARCHIVE = 1 << 4,
};

struct store_mailbox_info {
	char *name;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t unseen;
	uint32_t deleted;
	uint32_t recent;	/* not yet claimed by any session */
	uint64_t size;		/* bytes (RFC 8438 STATUS SIZE) */
	unsigned special;	/* enum store_special bits */
	char guid[33];		/* MAILBOXID (RFC 8474) */
};

/* Checks a UTF-8 name and returns its canonical form ("inbox" -> "INBOX")
 * in *canon_r (caller frees), or -1 with *error_r. */
int store_mailbox_name_check(const char *name, char **canon_r, const char **error_r);

/* Every mailbox, sorted by name; caller frees with
 * store_mailbox_info_free. Counters come from the index as last synced. */
int store_mailbox_list(struct store_user *user, struct store_mailbox_info **list_r,
		       size_t *count_r);
void store_mailbox_info_free(struct store_mailbox_info *list, size_t count);

/* Creates a mailbox (and missing parents). special: enum store_special. */
int store_mailbox_create(struct store_user *user, const char *name, unsigned special);
/* Deletes a mailbox and its messages. INBOX and mailboxes with children
 * cannot be deleted (STORE_ERR_NOTPERMITTED). */
int store_mailbox_delete(struct store_user *user, const char *name);
/* Renames a mailbox and its children. Renaming INBOX moves its messages
 * into a new mailbox and leaves INBOX empty (RFC 3501 6.3.5). */
int store_mailbox_rename(struct store_user *user, const char *from, const char *to);

/* Subscriptions (names need not exist). */
int store_subscriptions(struct store_user *user, struct strv *names_r);
int store_subscribe(struct store_user *user, const char *name, bool subscribe);

/* Syncs the mailbox with its Maildir and returns its counters. */
int store_mailbox_status(struct store_user *user, const char *name,
			 struct store_mailbox_info *info_r);

/* An open mailbox. Holds a reference to user. */
int store_mailbox_open(struct store_user *user, const char *name,
		       struct store_mailbox **mb_r);
void store_mailbox_close(struct store_mailbox **mb);

const char *store_mailbox_name(const struct store_mailbox *mb);
struct store_user *store_mailbox_user(const struct store_mailbox *mb);
uint32_t store_mailbox_uidvalidity(const struct store_mailbox *mb);
const char *store_mailbox_guid(const struct store_mailbox *mb);
/* Current counters (no sync). */
int store_mailbox_info_get(struct store_mailbox *mb, struct store_mailbox_info *info_r);

/* Brings the index up to date with the Maildir: files that appeared in
 * new/ get UIDs and move to cur/, files renamed or removed by other
 * Maildir tools update flags or become expunged. Cheap when nothing
 * changed (two stat calls and an empty new/). */
int store_mailbox_sync(struct store_mailbox *mb);

/* UID of the first message without \Seen, 0 if none. */
int store_mailbox_first_unseen(struct store_mailbox *mb, uint32_t *uid_r);
/* UIDs expunged after modseq, ascending (caller frees). *complete_r is
 * false when the history does not reach back that far (after a rebuild):
 * any UID below UIDNEXT that is not in the mailbox may be gone. */
int store_mailbox_expunged_since(struct store_mailbox *mb, uint64_t modseq,
				 uint32_t **uids_r, size_t *n_r, bool *complete_r);

/* Keywords defined in the mailbox (bit i of a message's keyword mask is
 * names->v[i]). The vector is owned by mb. */
const struct strv *store_mailbox_keywords(struct store_mailbox *mb);
/* Looks up (and with create, adds) a keyword; returns its bit index, or
 * -1 (unknown, or limit of 64 reached: STORE_ERR_LIMIT). */
int store_mailbox_keyword_index(struct store_mailbox *mb, const char *keyword, bool create);

#endif
