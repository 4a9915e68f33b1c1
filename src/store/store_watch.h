/* store_watch.h — change notification for IDLE: inotify (libuv
 * uv_fs_event) on the mailbox's new/ and cur/ and on the user's change
 * file, which every process touches after committing to the index. No
 * polling. Events are coalesced for 20 ms, then each watcher's callback
 * runs from the loop; it should then call store_view_update(). */
#ifndef CORREU_STORE_WATCH_H
#define CORREU_STORE_WATCH_H

struct store_mailbox;
struct store_watch;

typedef void store_watch_cb(void *ctx);

/* Starts watching mb (which must outlive the watch). NULL if the store
 * was opened without a loop. */
struct store_watch *store_watch_start(struct store_mailbox *mb, store_watch_cb *cb, void *ctx);
void store_watch_stop(struct store_watch **w);

#endif
