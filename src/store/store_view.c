/* store_view.c — a session's view of a selected mailbox: MSN -> UID,
 * \Recent, and the changes since the session last looked, read from the
 * index (new UIDs, the expunged table, messages with a higher modseq).
 * Runs in the workers on the loop. Reads no untrusted input. */
#include "store_private.h"
#include "store_msg.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static uint8_t view_flags(uint32_t flags, uint64_t keywords)
{
	return (uint8_t)((flags & STORE_FLAGS_ALL) | (keywords != 0 ? STORE_VIEW_HAS_KEYWORDS : 0));
}

static void view_push(struct store_view *v, uint32_t uid, uint8_t flags)
{
	if (v->count == v->cap) {
		v->cap = v->cap == 0 ? 64 : v->cap * 2;
		v->uids = x_reallocarray(v->uids, v->cap, sizeof(uint32_t));
		v->flags = x_reallocarray(v->flags, v->cap, 1);
	}
	v->flags[v->count] = flags;
	v->uids[v->count++] = uid;
}

/* A row of STMT_MSG_UIDS. */
static void view_push_row(struct store_view *v, sqlite3_stmt *st)
{
	view_push(v, (uint32_t)sqlite3_column_int64(st, 0),
		  view_flags((uint32_t)sqlite3_column_int64(st, 1),
			     (uint64_t)sqlite3_column_int64(st, 2)));
}

void store_view_add_recent(struct store_view *v, uint32_t lo, uint32_t hi)
{
	if (lo > hi)
		return;
	if (v->n_recent > 0 && v->recent[v->n_recent - 1].hi + 1 >= lo) {
		v->recent[v->n_recent - 1].hi = hi;
		return;
	}
	if (v->n_recent >= 32) {
		/* Bounded: merge into the last range (over-approximates). */
		v->recent[v->n_recent - 1].hi = hi;
		return;
	}
	v->recent = x_reallocarray(v->recent, v->n_recent + 1, sizeof(*v->recent));
	v->recent[v->n_recent].lo = lo;
	v->recent[v->n_recent].hi = hi;
	v->n_recent++;
}

/* Claims \Recent for UIDs >= first in the mailbox (non-readonly views).
 * Looks first without the write lock: usually another session (or the
 * APPEND itself) has claimed them already. */
static void claim_recent(struct store_view *v, uint32_t first, uint32_t last)
{
	struct store_mailbox *mb = v->mb;
	struct store_index *idx = mb->user->idx;
	if (v->readonly)
		return;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MB_BY_ID);
	sqlite3_bind_int64(st, 1, mb->id);
	uint32_t recent_uid = UINT32_MAX;
	if (sqlite3_step(st) == SQLITE_ROW)
		recent_uid = (uint32_t)sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	if (recent_uid > last || store_index_begin_write(idx) < 0)
		return;
	uint32_t from = store_mailbox_claim_recent(mb, last);
	if (store_index_commit(idx) == 0 && from != 0)
		store_view_add_recent(v, from > first ? from : first, last);
}

int store_view_open(struct store_mailbox *mb, bool readonly, struct store_view **view_r)
{
	if (store_mailbox_sync(mb) < 0)
		return -1;
	struct store_view *v = x_calloc(1, sizeof(*v));
	v->mb = mb;
	v->readonly = readonly;
	struct store_index *idx = mb->user->idx;
	if (store_index_begin_read(idx) < 0) {
		free(v);
		return store_fail(mb->user, STORE_ERR_TEMP, "index error");
	}
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MB_COUNTS);
	sqlite3_bind_int64(st, 1, mb->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		v->modseq = (uint64_t)sqlite3_column_int64(st, 5);
	sqlite3_reset(st);
	st = store_index_stmt(idx, STMT_MSG_UIDS);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, 1);
	sqlite3_bind_int64(st, 3, UINT32_MAX);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		view_push_row(v, st);
	sqlite3_reset(st);
	store_index_end_read(idx);
	if (rc != SQLITE_DONE) {
		free(v->uids);
		free(v->flags);
		free(v);
		return store_fail(mb->user, STORE_ERR_TEMP, "index error");
	}
	if (v->count > 0) {
		claim_recent(v, 1, v->uids[v->count - 1]);
		store_hcache_fill(mb);
	}
	*view_r = v;
	return 0;
}

void store_view_close(struct store_view **vp)
{
	struct store_view *v = *vp;
	if (v == NULL)
		return;
	*vp = NULL;
	store_mailbox_close(&v->mb);
	free(v->uids);
	free(v->flags);
	free(v->recent);
	free(v->expunged);
	free(v);
}

uint32_t store_view_msn(const struct store_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->count && v->uids[lo] == uid ? lo + 1 : 0;
}

bool store_view_is_recent(const struct store_view *v, uint32_t uid)
{
	for (uint32_t i = 0; i < v->n_recent; i++)
		if (uid >= v->recent[i].lo && uid <= v->recent[i].hi)
			return true;
	return false;
}

/* Index of the first UID >= uid in the view. */
static uint32_t lower_bound(const struct store_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t store_view_recent_count(const struct store_view *v)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < v->n_recent; i++) {
		uint32_t a = lower_bound(v, v->recent[i].lo);
		uint32_t b = v->recent[i].hi == UINT32_MAX ? v->count :
			lower_bound(v, v->recent[i].hi + 1);
		n += b - a;
	}
	return n;
}

bool store_view_is_expunged(const struct store_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->n_expunged;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v->expunged[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n_expunged && v->expunged[lo] == uid;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void store_view_caught_up(struct store_view *v, uint64_t modseq)
{
	if (modseq > v->modseq)
		v->modseq = modseq;
}

void store_view_set_flags(struct store_view *v, uint32_t uid, uint32_t flags, uint64_t keywords)
{
	uint32_t msn = store_view_msn(v, uid);
	if (msn != 0)
		v->flags[msn - 1] = view_flags(flags, keywords);
}

int store_view_reload_flags(struct store_view *v)
{
	struct store_index *idx = v->mb->user->idx;
	if (v->count == 0)
		return 0;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_UIDS);
	sqlite3_bind_int64(st, 1, v->mb->id);
	sqlite3_bind_int64(st, 2, v->uids[0]);
	sqlite3_bind_int64(st, 3, v->uids[v->count - 1]);
	int rc;
	uint32_t i = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(st, 0);
		while (i < v->count && v->uids[i] < uid)
			i++;
		if (i < v->count && v->uids[i] == uid)
			v->flags[i] = view_flags((uint32_t)sqlite3_column_int64(st, 1),
						 (uint64_t)sqlite3_column_int64(st, 2));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(v->mb->user, STORE_ERR_TEMP, "index error");
	return 0;
}

struct changed_msg {
	uint32_t uid;
	uint32_t flags;
	uint64_t keywords;
	uint64_t modseq;
};

int store_view_update(struct store_view *v, bool allow_expunge,
		      const struct store_view_events *ev, void *ctx)
{
	struct store_mailbox *mb = v->mb;
	struct store_index *idx = mb->user->idx;
	uint64_t modseq;
	if (store_mailbox_sync_modseq(mb, &modseq) < 0)
		return -1;
	sqlite3_stmt *st;
	if (modseq == 0) {
		st = store_index_stmt(idx, STMT_MB_COUNTS);
		sqlite3_bind_int64(st, 1, mb->id);
		int rc = sqlite3_step(st);
		modseq = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 5) : 0;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return store_fail(mb->user, rc == SQLITE_DONE ? STORE_ERR_NONEXISTENT :
					  STORE_ERR_TEMP, rc == SQLITE_DONE ? "Mailbox was deleted" :
					  "index error");
	}

	uint32_t *newuids = NULL;
	uint8_t *newflags = NULL;
	size_t n_new = 0;
	struct changed_msg *changed = NULL;
	size_t n_changed = 0, cap = 0;
	if (modseq != v->modseq) {
		if (store_index_begin_read(idx) < 0)
			return store_fail(mb->user, STORE_ERR_TEMP, "index error");
		/* Re-read inside the snapshot. */
		st = store_index_stmt(idx, STMT_MB_COUNTS);
		sqlite3_bind_int64(st, 1, mb->id);
		if (sqlite3_step(st) == SQLITE_ROW)
			modseq = (uint64_t)sqlite3_column_int64(st, 5);
		sqlite3_reset(st);
		/* 1. Expunged since we last looked, if in view. */
		st = store_index_stmt(idx, STMT_EXP_SINCE);
		sqlite3_bind_int64(st, 1, mb->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)v->modseq);
		bool added = false;
		while (sqlite3_step(st) == SQLITE_ROW) {
			uint32_t uid = (uint32_t)sqlite3_column_int64(st, 0);
			if (store_view_msn(v, uid) == 0 || store_view_is_expunged(v, uid))
				continue;
			v->expunged = x_reallocarray(v->expunged, v->n_expunged + 1, sizeof(uint32_t));
			v->expunged[v->n_expunged++] = uid;
			added = true;
		}
		sqlite3_reset(st);
		if (added)
			qsort(v->expunged, v->n_expunged, sizeof(uint32_t), cmp_u32);
		/* 2. New messages. */
		uint32_t max_uid = v->count > 0 ? v->uids[v->count - 1] : 0;
		st = store_index_stmt(idx, STMT_MSG_UIDS);
		sqlite3_bind_int64(st, 1, mb->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max_uid + 1);
		sqlite3_bind_int64(st, 3, UINT32_MAX);
		size_t new_cap = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n_new == new_cap) {
				new_cap = new_cap == 0 ? 16 : new_cap * 2;
				newuids = x_reallocarray(newuids, new_cap, sizeof(uint32_t));
				newflags = x_reallocarray(newflags, new_cap, 1);
			}
			newflags[n_new] = view_flags((uint32_t)sqlite3_column_int64(st, 1),
						     (uint64_t)sqlite3_column_int64(st, 2));
			newuids[n_new++] = (uint32_t)sqlite3_column_int64(st, 0);
		}
		sqlite3_reset(st);
		/* 3. Flag changes of messages already in view. */
		st = store_index_stmt(idx, STMT_MSG_CHANGED);
		sqlite3_bind_int64(st, 1, mb->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)v->modseq);
		while (sqlite3_step(st) == SQLITE_ROW) {
			uint32_t uid = (uint32_t)sqlite3_column_int64(st, 0);
			if (uid > max_uid)
				continue;
			if (n_changed == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				changed = x_reallocarray(changed, cap, sizeof(*changed));
			}
			struct changed_msg *c = &changed[n_changed++];
			c->uid = uid;
			c->flags = (uint32_t)sqlite3_column_int64(st, 1);
			c->keywords = (uint64_t)sqlite3_column_int64(st, 2);
			c->modseq = (uint64_t)sqlite3_column_int64(st, 3);
		}
		sqlite3_reset(st);
		store_index_end_read(idx);
		v->modseq = modseq;
	}

	/* Expunges first, so later MSNs are the new ones. */
	if (allow_expunge && v->n_expunged > 0) {
		for (uint32_t i = v->n_expunged; i-- > 0;) {
			uint32_t msn = store_view_msn(v, v->expunged[i]);
			if (msn != 0 && ev != NULL && ev->expunge != NULL)
				ev->expunge(ctx, msn, v->expunged[i]);
		}
		uint32_t w = 0;
		for (uint32_t r = 0; r < v->count; r++) {
			if (store_view_is_expunged(v, v->uids[r]))
				continue;
			v->flags[w] = v->flags[r];
			v->uids[w++] = v->uids[r];
		}
		v->count = w;
		free(v->expunged);
		v->expunged = NULL;
		v->n_expunged = 0;
	}
	if (n_new > 0) {
		for (size_t i = 0; i < n_new; i++)
			view_push(v, newuids[i], newflags[i]);
		claim_recent(v, newuids[0], newuids[n_new - 1]);
	}
	for (size_t i = 0; i < n_changed; i++) {
		uint32_t msn = store_view_msn(v, changed[i].uid);
		if (msn == 0)
			continue;
		v->flags[msn - 1] = view_flags(changed[i].flags, changed[i].keywords);
		if (store_view_is_expunged(v, changed[i].uid))
			continue;
		if (ev != NULL && ev->flags != NULL) {
			struct store_msg m;
			memset(&m, 0, sizeof(m));
			m.uid = changed[i].uid;
			m.flags = changed[i].flags;
			m.keywords = changed[i].keywords;
			m.modseq = changed[i].modseq;
			ev->flags(ctx, msn, &m);
		}
	}
	free(newuids);
	free(newflags);
	free(changed);
	return 0;
}
