/* store_watch.c — change notification: inotify watches (uv_fs_event) on
 * the user's change file and on new/ and cur/ of watched mailboxes,
 * shared by all sessions of the user in the process, coalesced by a
 * short timer. Runs in the workers on the loop. Reads no untrusted
 * input. */
#include "store_private.h"
#include "store_watch.h"
#include "log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOTIFY_COALESCE_MS 20

struct store_dirwatch {
	struct store_dirwatch *next;
	int64_t mailbox_id;
	unsigned refs;
	uv_fs_event_t *ev[2];	/* new/, cur/ */
};

struct store_watch {
	struct store_watch *next;
	struct store_user *user;
	struct store_dirwatch *dw;
	store_watch_cb *cb;
	void *ctx;
	bool dead;
};

static unsigned dispatching;

static void close_free_cb(uv_handle_t *h)
{
	free(h);
}

static void timer_cb(uv_timer_t *t)
{
	struct store_user *user = t->data;
	user->notify_pending = false;
	/* A callback may release the last session reference. */
	store_user_ref(user);
	dispatching++;
	for (struct store_watch *w = user->watches; w != NULL; w = w->next)
		if (!w->dead)
			w->cb(w->ctx);
	dispatching--;
	if (dispatching > 0) {
		store_user_unref(&user);
		return;
	}
	/* Free watches stopped during the callbacks. */
	for (struct store_watch **pp = &user->watches; *pp != NULL;) {
		struct store_watch *w = *pp;
		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
	store_user_unref(&user);
}

static void fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct store_user *user = h->data;
	(void)filename;
	(void)events;
	(void)status;
	if (user == NULL || user->notify_timer == NULL || user->notify_pending)
		return;
	user->notify_pending = true;
	uv_timer_start(user->notify_timer, timer_cb, NOTIFY_COALESCE_MS, 0);
}

static uv_fs_event_t *start_event(struct store_user *user, const char *path)
{
	uv_fs_event_t *ev = x_calloc(1, sizeof(*ev));
	uv_fs_event_init(user->loop, ev);
	ev->data = user;
	int r = uv_fs_event_start(ev, fs_event_cb, path, 0);
	if (r != 0) {
		log_warn("store %s: cannot watch %s: %s", user->address, path, uv_strerror(r));
		uv_close((uv_handle_t *)ev, close_free_cb);
		return NULL;
	}
	return ev;
}

static void stop_event(uv_fs_event_t **evp)
{
	if (*evp == NULL)
		return;
	uv_fs_event_stop(*evp);
	(*evp)->data = NULL;
	uv_close((uv_handle_t *)*evp, close_free_cb);
	*evp = NULL;
}

static void user_watch_init(struct store_user *user)
{
	if (user->notify_timer != NULL)
		return;
	user->notify_timer = x_calloc(1, sizeof(uv_timer_t));
	uv_timer_init(user->loop, user->notify_timer);
	user->notify_timer->data = user;
	char *path = x_asprintf("%s/" STORE_NOTIFY_FILE, user->maildir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	user->notify_ev = start_event(user, path);
	free(path);
}

struct store_watch *store_watch_start(struct store_mailbox *mb, store_watch_cb *cb, void *ctx)
{
	struct store_user *user = mb->user;
	if (user->loop == NULL)
		return NULL;
	user_watch_init(user);
	struct store_dirwatch *dw;
	for (dw = user->dirwatches; dw != NULL; dw = dw->next)
		if (dw->mailbox_id == mb->id)
			break;
	if (dw == NULL) {
		dw = x_calloc(1, sizeof(*dw));
		dw->mailbox_id = mb->id;
		char *p = x_asprintf("%s/new", mb->path);
		dw->ev[0] = start_event(user, p);
		free(p);
		p = x_asprintf("%s/cur", mb->path);
		dw->ev[1] = start_event(user, p);
		free(p);
		dw->next = user->dirwatches;
		user->dirwatches = dw;
	}
	dw->refs++;
	struct store_watch *w = x_calloc(1, sizeof(*w));
	w->user = user;
	w->dw = dw;
	w->cb = cb;
	w->ctx = ctx;
	w->next = user->watches;
	user->watches = w;
	return w;
}

static void dirwatch_unref(struct store_user *user, struct store_dirwatch *dw)
{
	if (--dw->refs > 0)
		return;
	for (struct store_dirwatch **pp = &user->dirwatches; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == dw) {
			*pp = dw->next;
			break;
		}
	}
	stop_event(&dw->ev[0]);
	stop_event(&dw->ev[1]);
	free(dw);
}

void store_watch_stop(struct store_watch **wp)
{
	struct store_watch *w = *wp;
	if (w == NULL)
		return;
	*wp = NULL;
	struct store_user *user = w->user;
	dirwatch_unref(user, w->dw);
	w->dw = NULL;
	if (dispatching > 0) {
		w->dead = true;
		return;
	}
	for (struct store_watch **pp = &user->watches; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	free(w);
}

void store_watch_user_free(struct store_user *user)
{
	/* Sessions stop their watches before releasing the user. */
	while (user->watches != NULL) {
		struct store_watch *w = user->watches;
		user->watches = w->next;
		if (w->dw != NULL)
			dirwatch_unref(user, w->dw);
		free(w);
	}
	stop_event(&user->notify_ev);
	if (user->notify_timer != NULL) {
		uv_timer_stop(user->notify_timer);
		user->notify_timer->data = NULL;
		uv_close((uv_handle_t *)user->notify_timer, close_free_cb);
		user->notify_timer = NULL;
	}
}
