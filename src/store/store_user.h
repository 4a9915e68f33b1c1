/* store_user.h — opening a user's mail store. A user's store is shared
 * by every session of that user in the process (reference counted), so
 * sessions in one worker see each other's changes at once; other
 * processes learn of them through the change file (store_watch.h).
 * Runs in the workers. */
#ifndef CORREU_STORE_USER_H
#define CORREU_STORE_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "store_error.h"

struct store_user;
struct store_open_req;

/* error is NULL on success; then user holds one reference for the
 * caller (release with store_user_unref). */
typedef void store_user_open_cb(struct store_user *user, const char *error, void *ctx);

/* Opens the store of address whose Maildir++ root is maildir. A missing
 * Maildir is created; a missing or damaged index is rebuilt (with a log
 * line). Every index gets Drafts, Sent, Trash, Junk and Archive (SPECIAL-
 * USE, subscribed) once, when it is made (store_special.c). The slow
 * part runs in the thread pool; cb runs from the loop, never before
 * this returns. quota_bytes 0 = no limit. */
struct store_open_req *store_user_open(uv_loop_t *loop, const char *address,
				       const char *maildir, uint64_t quota_bytes,
				       store_user_open_cb *cb, void *ctx);
/* The caller went away: cb will not be called (the open completes and
 * the reference is dropped). */
void store_open_req_cancel(struct store_open_req *req);

/* Blocking open, for commands and tests. loop may be NULL (no change
 * notification then). */
int store_user_open_sync(uv_loop_t *loop, const char *address, const char *maildir,
			 uint64_t quota_bytes, struct store_user **user_r,
			 const char **error_r);

void store_user_ref(struct store_user *user);
/* Drops a reference. A user left without sessions stays open on its
 * loop for a while (the next login is cheaper), without inotify watches
 * and without keeping the loop alive. */
void store_user_unref(struct store_user **user);
/* Closes the users of loop that are open without references now. */
void store_users_release_idle(uv_loop_t *loop);

const char *store_user_address(const struct store_user *user);
const char *store_user_maildir(const struct store_user *user);
/* Storage limit in bytes (0 = none); may be changed while open. */
uint64_t store_user_quota(const struct store_user *user);
void store_user_set_quota(struct store_user *user, uint64_t bytes);
/* Bytes and messages in all mailboxes, from the index. */
int store_user_usage(struct store_user *user, uint64_t *bytes_r, uint64_t *messages_r);

/* Why the last failed call on this user failed. */
enum store_error store_user_error(const struct store_user *user);
const char *store_user_error_text(const struct store_user *user);

/* Whether the index hit corruption; the next open rebuilds it. */
bool store_user_index_broken(const struct store_user *user);

#endif
