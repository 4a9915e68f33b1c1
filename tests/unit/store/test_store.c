/* test_store.c — the store: account creation, Maildir sync, flags,
 * expunge, copy/move, append, views, rename/delete, rebuild, watches. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "store.h"
#include "store_rebuild.h"
#include "fsutil.h"

#define FIXTURE_NAME "store"
#define FIXTURE_USER "alice"
#include "store_fixture.h"

static struct store_user *open_user(void)
{
	struct store_user *u;
	const char *error = NULL;
	if (store_user_open_sync(NULL, "alice@example.org", maildir, 0, &u, &error) < 0)
		fail_msg("open: %s", error);
	return u;
}

/* Drops a message into <folder>/new/ the way a delivery agent does. */
static void deliver(const char *folder, const char *name, const char *content)
{
	char path[600], tmp[600];
	const char *dir = folder == NULL ? maildir : folder;
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
	snprintf(path, sizeof(path), "%s/new/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, content, strlen(content)), 0);
	close(fd);
	assert_int_equal(rename(tmp, path), 0);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_new_account(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	struct store_mailbox_info *list;
	size_t n;
	assert_int_equal(store_mailbox_list(u, &list, &n), 0);
	assert_int_equal(n, 6);
	const char *expect[] = { "Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash" };
	for (size_t i = 0; i < n; i++)
		assert_string_equal(list[i].name, expect[i]);
	assert_int_equal(list[4].special, STORE_SPECIAL_SENT);
	assert_int_equal(list[2].special, 0);
	assert_true(list[0].uidvalidity > 0);
	assert_int_equal(list[0].uidnext, 1);
	assert_int_equal(strlen(list[0].guid), 32);
	store_mailbox_info_free(list, n);
	struct strv subs;
	strv_init(&subs);
	assert_int_equal(store_subscriptions(u, &subs), 0);
	assert_int_equal(subs.n, 6);
	strv_free(&subs);
	char p[600];
	snprintf(p, sizeof(p), "%s/.Sent/cur", maildir);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	store_user_unref(&u);
	/* Reopening keeps the same mailboxes and UIDVALIDITY. */
	u = open_user();
	struct store_mailbox_info info;
	assert_int_equal(store_mailbox_status(u, "inbox", &info), 0);
	assert_string_equal(info.name, "INBOX");
	free(info.name);
	store_user_unref(&u);
}

struct flag_result {
	uint32_t uids[16];
	uint32_t flags[16];
	uint64_t modseq[16];
	bool failed[16];
	size_t n;
};

static void flags_cb(void *ctx, uint32_t uid, uint32_t flags, uint64_t keywords,
		     uint64_t modseq, bool changed, bool failed)
{
	struct flag_result *r = ctx;
	(void)keywords;
	(void)changed;
	r->uids[r->n] = uid;
	r->flags[r->n] = flags;
	r->modseq[r->n] = modseq;
	r->failed[r->n] = failed;
	r->n++;
}

static void test_sync_flags_expunge(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	deliver(NULL, "100.M1P1Q1.host,S=20,W=21", "Subject: a\r\n\r\nhello\r\n");
	deliver(NULL, "100.M1P1Q2.host,S=20,W=21", "Subject: b\r\n\r\nworld\r\n");
	struct store_mailbox *mb;
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/new", maildir);
	assert_int_equal(count_files(dir), 0);
	snprintf(dir, sizeof(dir), "%s/cur", maildir);
	assert_int_equal(count_files(dir), 2);
	struct store_mailbox_info info;
	assert_int_equal(store_mailbox_info_get(mb, &info), 0);
	assert_int_equal(info.messages, 2);
	assert_int_equal(info.unseen, 2);
	assert_int_equal(info.uidnext, 3);
	assert_int_equal(info.recent, 2);
	assert_int_equal(info.size, 2 * strlen("Subject: a\r\n\r\nhello\r\n"));
	uint64_t modseq0 = info.highestmodseq;
	free(info.name);

	struct store_msg m;
	assert_int_equal(store_msg_get(mb, 1, &m), 1);
	assert_non_null(strstr(m.name, ",U=1:2,"));
	int fd;
	assert_int_equal(store_msg_open(mb, 1, m.name, &fd), 0);
	char buf[64] = "";
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, "Subject: a\r\n\r\nhello\r\n");

	/* Flags go to the file name. */
	uint32_t uids[] = { 1, 2 };
	const char *kw[] = { "$Label1" };
	struct store_flag_change ch = { STORE_MODIFY_ADD, STORE_FLAG_SEEN | STORE_FLAG_DELETED,
					kw, 1, 0 };
	struct flag_result r = { 0 };
	assert_int_equal(store_msg_update_flags(mb, uids, 1, &ch, flags_cb, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.flags[0], STORE_FLAG_SEEN | STORE_FLAG_DELETED);
	assert_true(r.modseq[0] > modseq0);
	assert_int_equal(store_msg_get(mb, 1, &m), 1);
	assert_non_null(strstr(m.name, ":2,ST"));
	assert_int_equal(m.keywords, 1);
	const struct strv *kws = store_mailbox_keywords(mb);
	assert_int_equal(kws->n, 1);
	assert_string_equal(kws->v[0], "$Label1");

	/* UNCHANGEDSINCE refuses messages changed later. */
	struct store_flag_change ch2 = { STORE_MODIFY_REMOVE, STORE_FLAG_SEEN, NULL, 0, modseq0 };
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_msg_update_flags(mb, uids, 2, &ch2, flags_cb, &r), 0);
	assert_int_equal(r.n, 2);
	assert_true(r.failed[0]);
	assert_false(r.failed[1]);

	/* Another Maildir tool renames a file: flags follow. */
	assert_int_equal(store_msg_get(mb, 2, &m), 1);
	char from[700], to[700];
	snprintf(from, sizeof(from), "%s/cur/%s", maildir, m.name);
	snprintf(to, sizeof(to), "%s/cur/%.*sF", maildir, (int)strlen(m.name), m.name);
	assert_int_equal(rename(from, to), 0);
	/* Make sure the directory mtime differs from the recorded one. */
	struct timespec ts[2] = { { 0, UTIME_NOW }, { 12345, 0 } };
	snprintf(dir, sizeof(dir), "%s/cur", maildir);
	utimensat(AT_FDCWD, dir, ts, 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	assert_int_equal(store_msg_get(mb, 2, &m), 1);
	assert_int_equal(m.flags, STORE_FLAG_FLAGGED);

	/* Expunge only \Deleted. */
	assert_int_equal(store_msg_expunge(mb, uids, 2, true, NULL, NULL), 0);
	assert_int_equal(store_msg_get(mb, 1, &m), 0);
	assert_int_equal(store_msg_get(mb, 2, &m), 1);
	snprintf(dir, sizeof(dir), "%s/cur", maildir);
	assert_int_equal(count_files(dir), 1);

	/* A file removed behind our back is expunged by the next sync. */
	assert_int_equal(store_msg_get(mb, 2, &m), 1);
	snprintf(from, sizeof(from), "%s/cur/%s", maildir, m.name);
	assert_int_equal(unlink(from), 0);
	utimensat(AT_FDCWD, dir, ts, 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	assert_int_equal(store_msg_get(mb, 2, &m), 0);
	assert_int_equal(store_mailbox_info_get(mb, &info), 0);
	assert_int_equal(info.messages, 0);
	assert_int_equal(info.uidnext, 3);
	free(info.name);
	store_mailbox_close(&mb);
	store_user_unref(&u);
}

struct copy_result {
	uint32_t src[8], dst[8];
	size_t n;
	enum store_error error;
	bool called;
};

static void copy_cb(void *ctx, const uint32_t *src, const uint32_t *dst, size_t n,
		    enum store_error error)
{
	struct copy_result *r = ctx;
	r->called = true;
	r->n = n;
	r->error = error;
	memcpy(r->src, src, n * sizeof(uint32_t));
	memcpy(r->dst, dst, n * sizeof(uint32_t));
}

struct save_result {
	uint32_t uid, uidvalidity;
	enum store_error error;
	bool called;
};

static void save_cb(void *ctx, uint32_t uidvalidity, uint32_t uid, enum store_error error)
{
	struct save_result *r = ctx;
	r->called = true;
	r->uid = uid;
	r->uidvalidity = uidvalidity;
	r->error = error;
}

static void test_append_copy_move(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	struct store_mailbox *inbox, *sent;
	assert_int_equal(store_mailbox_open(u, "INBOX", &inbox), 0);
	assert_int_equal(store_mailbox_open(u, "Sent", &sent), 0);
	struct store_save *s = store_save_begin(sent);
	assert_non_null(s);
	assert_int_equal(store_save_write(s, "From: a@b\r\n\r\n", 13), 0);
	assert_int_equal(store_save_write(s, "body\r\n", 6), 0);
	struct save_result sr = { 0 };
	const char *kw[] = { "work" };
	store_save_finish(s, STORE_FLAG_SEEN, kw, 1, 1600000000, 120, save_cb, &sr);
	assert_true(sr.called);
	assert_int_equal(sr.error, STORE_ERR_NONE);
	assert_int_equal(sr.uid, 1);
	assert_int_equal(sr.uidvalidity, store_mailbox_uidvalidity(sent));
	struct store_msg m;
	assert_int_equal(store_msg_get(sent, 1, &m), 1);
	assert_int_equal(m.size, 19);
	assert_int_equal(m.idate, 1600000000);
	assert_int_equal(m.itz, 120);
	assert_int_equal(m.flags, STORE_FLAG_SEEN);
	assert_int_equal(m.keywords, 1);
	assert_non_null(strstr(m.name, ",S=19,W=19,U=1:2,S"));
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/.Sent/tmp", maildir);
	assert_int_equal(count_files(dir), 0);

	/* Copy to INBOX keeps flags and keywords (by name). */
	uint32_t uids[] = { 1 };
	struct copy_result cr = { 0 };
	store_msg_copy(sent, uids, 1, inbox, false, copy_cb, &cr);
	assert_true(cr.called);
	assert_int_equal(cr.error, STORE_ERR_NONE);
	assert_int_equal(cr.n, 1);
	assert_int_equal(cr.src[0], 1);
	uint32_t new_uid = cr.dst[0];
	assert_int_equal(store_msg_get(inbox, new_uid, &m), 1);
	assert_int_equal(m.flags, STORE_FLAG_SEEN);
	assert_int_equal(m.idate, 1600000000);
	int bit = store_mailbox_keyword_index(inbox, "work", false);
	assert_true(bit >= 0);
	assert_int_equal(m.keywords, 1ULL << bit);

	/* Move to Trash removes the original. */
	struct store_mailbox *trash;
	assert_int_equal(store_mailbox_open(u, "Trash", &trash), 0);
	memset(&cr, 0, sizeof(cr));
	uids[0] = new_uid;
	store_msg_copy(inbox, uids, 1, trash, true, copy_cb, &cr);
	assert_true(cr.called);
	assert_int_equal(cr.n, 1);
	assert_int_equal(store_msg_get(inbox, new_uid, &m), 0);
	assert_int_equal(store_msg_get(trash, cr.dst[0], &m), 1);
	assert_int_equal(m.size, 19);

	/* Quota. */
	store_user_set_quota(u, 30);
	s = store_save_begin(sent);
	assert_int_equal(store_save_write(s, "0123456789abcdef\r\n", 18), 0);
	memset(&sr, 0, sizeof(sr));
	store_save_finish(s, 0, NULL, 0, 0, 0, save_cb, &sr);
	assert_true(sr.called);
	assert_int_equal(sr.error, STORE_ERR_OVERQUOTA);
	store_user_set_quota(u, 0);
	uint64_t bytes, msgs;
	assert_int_equal(store_user_usage(u, &bytes, &msgs), 0);
	assert_int_equal(bytes, 38);
	assert_int_equal(msgs, 2);

	store_mailbox_close(&trash);
	store_mailbox_close(&inbox);
	store_mailbox_close(&sent);
	store_user_unref(&u);
}

struct view_events {
	uint32_t expunged_msn[16];
	size_t n_expunged;
	uint32_t flag_msn[16];
	size_t n_flags;
};

static void ev_expunge(void *ctx, uint32_t msn, uint32_t uid)
{
	struct view_events *e = ctx;
	(void)uid;
	e->expunged_msn[e->n_expunged++] = msn;
}

static void ev_flags(void *ctx, uint32_t msn, const struct store_msg *m)
{
	struct view_events *e = ctx;
	(void)m;
	e->flag_msn[e->n_flags++] = msn;
}

static const struct store_view_events events = { ev_expunge, ev_flags };

static void test_views(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	for (int i = 0; i < 5; i++) {
		char name[64];
		snprintf(name, sizeof(name), "200.M%dP1Q1.host", i);
		deliver(NULL, name, "Subject: x\r\n\r\nx\r\n");
	}
	struct store_mailbox *mb1, *mb2;
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb1), 0);
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb2), 0);
	struct store_view *v1, *v2;
	assert_int_equal(store_view_open(mb1, false, &v1), 0);
	assert_int_equal(store_view_open(mb2, true, &v2), 0);
	assert_int_equal(v1->count, 5);
	assert_int_equal(v2->count, 5);
	/* The first non-readonly view claims \Recent. */
	assert_int_equal(store_view_recent_count(v1), 5);
	assert_int_equal(store_view_recent_count(v2), 0);
	assert_int_equal(store_view_msn(v1, v1->uids[2]), 3);

	/* Session 1 flags and expunges; session 2 sees it at the right time. */
	uint32_t uids[] = { v1->uids[1], v1->uids[3] };
	struct store_flag_change ch = { STORE_MODIFY_ADD, STORE_FLAG_DELETED, NULL, 0, 0 };
	struct flag_result r = { 0 };
	assert_int_equal(store_msg_update_flags(mb1, uids, 2, &ch, flags_cb, &r), 0);
	store_view_caught_up(v1, r.modseq[0]);
	struct view_events e = { 0 };
	assert_int_equal(store_view_update(v2, false, &events, &e), 0);
	assert_int_equal(e.n_flags, 2);
	assert_int_equal(e.flag_msn[0] + e.flag_msn[1], 2 + 4);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_view_update(v1, true, &events, &e), 0);
	assert_int_equal(e.n_flags, 0);

	assert_int_equal(store_msg_expunge(mb1, uids, 2, true, NULL, NULL), 0);
	memset(&e, 0, sizeof(e));
	/* Not allowed to expunge yet (e.g. during FETCH): kept pending. */
	assert_int_equal(store_view_update(v2, false, &events, &e), 0);
	assert_int_equal(e.n_expunged, 0);
	assert_int_equal(v2->count, 5);
	assert_true(store_view_is_expunged(v2, uids[0]));
	/* A new message arrives meanwhile. */
	deliver(NULL, "300.M9P1Q1.host", "Subject: y\r\n\r\ny\r\n");
	assert_int_equal(store_view_update(v2, true, &events, &e), 0);
	assert_int_equal(e.n_expunged, 2);
	assert_int_equal(e.expunged_msn[0], 4);	/* descending */
	assert_int_equal(e.expunged_msn[1], 2);
	assert_int_equal(v2->count, 4);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_view_update(v1, true, &events, &e), 0);
	assert_int_equal(e.n_expunged, 2);
	assert_int_equal(v1->count, 4);
	/* Session 2 is read-only: the new message is \Recent for v1. */
	assert_int_equal(store_view_recent_count(v1), 4);
	assert_int_equal(store_view_recent_count(v2), 0);
	store_view_close(&v1);
	store_view_close(&v2);
	store_user_unref(&u);
}

static void test_rename_delete(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	assert_int_equal(store_mailbox_create(u, "Work.Projects.Big", 0), 0);
	assert_int_equal(store_mailbox_create(u, "Work", 0), -1);
	assert_int_equal(store_user_error(u), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(u, "bad..name", 0), -1);
	assert_int_equal(store_user_error(u), STORE_ERR_INVALID);
	assert_int_equal(store_mailbox_create(u, "Entw\xc3\xbcrfe", 0), 0);
	char p[600];
	struct stat st;
	snprintf(p, sizeof(p), "%s/.Entw&APw-rfe/cur", maildir);
	assert_int_equal(stat(p, &st), 0);
	deliver(NULL, "400.M1P1Q1.host", "Subject: z\r\n\r\nz\r\n");
	struct store_mailbox_info info;
	assert_int_equal(store_mailbox_status(u, "Work.Projects", &info), 0);
	uint32_t uv = info.uidvalidity;
	free(info.name);
	assert_int_equal(store_mailbox_delete(u, "Work"), -1);
	assert_int_equal(store_user_error(u), STORE_ERR_NOTPERMITTED);
	assert_int_equal(store_mailbox_rename(u, "Work", "Job"), 0);
	assert_int_equal(store_mailbox_status(u, "Job.Projects", &info), 0);
	assert_int_equal(info.uidvalidity, uv);
	free(info.name);
	snprintf(p, sizeof(p), "%s/.Job.Projects.Big/cur", maildir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(store_mailbox_status(u, "Work", &info), -1);
	assert_int_equal(store_user_error(u), STORE_ERR_NONEXISTENT);
	assert_int_equal(store_mailbox_rename(u, "Job", "Job.Sub"), -1);
	assert_int_equal(store_mailbox_delete(u, "Job.Projects.Big"), 0);
	snprintf(p, sizeof(p), "%s/.Job.Projects.Big", maildir);
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(store_mailbox_delete(u, "INBOX"), -1);

	/* INBOX rename moves the messages and leaves INBOX empty. */
	struct store_mailbox_info before;
	assert_int_equal(store_mailbox_status(u, "INBOX", &before), 0);
	assert_true(before.messages > 0);
	assert_int_equal(store_mailbox_rename(u, "INBOX", "Old"), 0);
	assert_int_equal(store_mailbox_status(u, "Old", &info), 0);
	assert_int_equal(info.messages, before.messages);
	assert_int_equal(info.uidnext, before.uidnext);
	free(info.name);
	assert_int_equal(store_mailbox_status(u, "INBOX", &info), 0);
	assert_int_equal(info.messages, 0);
	assert_int_equal(info.uidvalidity, before.uidvalidity);
	assert_int_equal(info.uidnext, before.uidnext);
	free(info.name);
	free(before.name);
	store_user_unref(&u);
}

static void test_rebuild(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	struct store_mailbox_info before_old, before_inbox;
	assert_int_equal(store_mailbox_status(u, "Old", &before_old), 0);
	deliver(NULL, "500.M1P1Q1.host", "Subject: r\r\n\r\nr\r\n");
	deliver(NULL, "500.M1P1Q2.host", "Subject: r\r\n\r\nr\r\n");
	assert_int_equal(store_mailbox_status(u, "INBOX", &before_inbox), 0);
	/* Expunge the highest UID: a rebuild must not reuse it. */
	struct store_mailbox *mb;
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	uint32_t last = before_inbox.uidnext - 1;
	struct flag_result r = { 0 };
	struct store_flag_change ch = { STORE_MODIFY_ADD, STORE_FLAG_DELETED | STORE_FLAG_ANSWERED,
					NULL, 0, 0 };
	assert_int_equal(store_msg_update_flags(mb, &last, 1, &ch, flags_cb, &r), 0);
	assert_int_equal(store_msg_expunge(mb, &last, 1, true, NULL, NULL), 0);
	uint32_t keep = last - 1;
	ch.flags = STORE_FLAG_FLAGGED;
	assert_int_equal(store_msg_update_flags(mb, &keep, 1, &ch, flags_cb, &r), 0);
	store_mailbox_close(&mb);
	store_user_unref(&u);

	/* Damage the index. */
	char p[600];
	snprintf(p, sizeof(p), "%s/correu-index.sqlite", maildir);
	int fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage garbage garbage garbage garbage", 39, 0), 39);
	close(fd);
	snprintf(p, sizeof(p), "%s/correu-index.sqlite-wal", maildir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/correu-index.sqlite-shm", maildir);
	unlink(p);

	u = open_user();
	struct store_mailbox_info info;
	assert_int_equal(store_mailbox_status(u, "INBOX", &info), 0);
	assert_int_equal(info.uidvalidity, before_inbox.uidvalidity);
	assert_int_equal(info.messages, before_inbox.messages - 1);
	assert_int_equal(info.uidnext, before_inbox.uidnext);
	assert_true(info.highestmodseq > before_inbox.highestmodseq);
	assert_string_equal(info.guid, before_inbox.guid);
	free(info.name);
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	struct store_msg m;
	assert_int_equal(store_msg_get(mb, keep, &m), 1);
	assert_int_equal(m.flags, STORE_FLAG_FLAGGED);
	store_mailbox_close(&mb);
	assert_int_equal(store_mailbox_status(u, "Old", &info), 0);
	assert_int_equal(info.uidvalidity, before_old.uidvalidity);
	assert_int_equal(info.messages, before_old.messages);
	free(info.name);
	assert_int_equal(store_mailbox_status(u, "Sent", &info), 0);
	assert_int_equal(info.special, STORE_SPECIAL_SENT);
	free(info.name);
	assert_int_equal(store_mailbox_status(u, "Entw\xc3\xbcrfe", &info), 0);
	free(info.name);
	free(before_old.name);
	free(before_inbox.name);
	store_user_unref(&u);

	/* Missing index: rebuilt too; explicit rebuild works. */
	snprintf(p, sizeof(p), "%s/correu-index.sqlite", maildir);
	unlink(p);
	u = open_user();
	assert_int_equal(store_mailbox_status(u, "INBOX", &info), 0);
	assert_int_equal(info.messages, 1);
	free(info.name);
	store_user_unref(&u);
	const char *error;
	assert_int_equal(store_rebuild(maildir, &error), 0);
}

/* new/ is listed only when its mtime moved since a settled listing. */
static void test_sync_new_mtime(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	struct store_mailbox *mb;
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	struct store_mailbox_info before;
	assert_int_equal(store_mailbox_info_get(mb, &before), 0);
	char newdir[600];
	snprintf(newdir, sizeof(newdir), "%s/new", maildir);
	/* Old enough to be trusted: recorded by the next sync. */
	struct timespec old[2] = { { time(NULL) - 60, 0 }, { time(NULL) - 60, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, newdir, old, 0), 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	/* A delivery moves the mtime: seen at once. */
	deliver(NULL, "800.M1P1Q1.host", "Subject: m\r\n\r\nm\r\n");
	assert_int_equal(store_mailbox_sync(mb), 0);
	struct store_mailbox_info after;
	assert_int_equal(store_mailbox_info_get(mb, &after), 0);
	assert_int_equal(after.messages, before.messages + 1);
	/* Recent mtimes are never trusted: two deliveries in one tick. */
	deliver(NULL, "800.M1P1Q2.host", "Subject: m\r\n\r\nm\r\n");
	assert_int_equal(store_mailbox_sync(mb), 0);
	deliver(NULL, "800.M1P1Q3.host", "Subject: m\r\n\r\nm\r\n");
	struct stat st;
	assert_int_equal(stat(newdir, &st), 0);
	struct timespec same[2] = { st.st_atim, st.st_mtim };
	assert_int_equal(utimensat(AT_FDCWD, newdir, same, 0), 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	free(after.name);
	assert_int_equal(store_mailbox_info_get(mb, &after), 0);
	assert_int_equal(after.messages, before.messages + 3);
	free(before.name);
	free(after.name);
	store_mailbox_close(&mb);
	store_user_unref(&u);
}

static const char *keyword_of(struct store_mailbox *mb, uint64_t mask, size_t i)
{
	const struct strv *kw = store_mailbox_keywords(mb);
	size_t n = 0;
	for (size_t b = 0; b < kw->n; b++)
		if ((mask & (1ULL << b)) && n++ == i)
			return kw->v[b];
	return NULL;
}

/* Keywords live in the file names as Dovecot's letters, named by the
 * folder's dovecot-keywords file: a rebuild keeps them, and a Maildir
 * written by Dovecot brings its keywords along. */
static void test_keywords_in_names(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	assert_int_equal(store_mailbox_create(u, "Kw", 0), 0);
	struct store_mailbox *mb;
	assert_int_equal(store_mailbox_open(u, "Kw", &mb), 0);
	struct store_save *s = store_save_begin(mb);
	assert_int_equal(store_save_write(s, "Subject: k\r\n\r\nk\r\n", 17), 0);
	struct save_result sr = { 0 };
	const char *kw[] = { "work", "$Label1" };
	store_save_finish(s, STORE_FLAG_SEEN, kw, 2, 0, 0, save_cb, &sr);
	assert_int_equal(sr.error, STORE_ERR_NONE);
	uint32_t uid = sr.uid;
	const char *more[] = { "urgent" };
	struct store_flag_change ch = { STORE_MODIFY_ADD, 0, more, 1, 0 };
	struct flag_result fr = { 0 };
	assert_int_equal(store_msg_update_flags(mb, &uid, 1, &ch, flags_cb, &fr), 0);
	struct store_msg m;
	assert_int_equal(store_msg_get(mb, uid, &m), 1);
	assert_non_null(strstr(m.name, ":2,Sabc"));
	char p[700];
	snprintf(p, sizeof(p), "%s/.Kw/dovecot-keywords", maildir);
	struct buf b = BUF_INIT;
	assert_int_equal(read_file(p, &b, 4096), 0);
	assert_string_equal(buf_cstr(&b), "0 work\n1 $Label1\n2 urgent\n");
	buf_free(&b);
	/* Removing one renames the file too. */
	ch.mode = STORE_MODIFY_REMOVE;
	ch.keywords = kw;
	ch.n_keywords = 1;
	assert_int_equal(store_msg_update_flags(mb, &uid, 1, &ch, flags_cb, &fr), 0);
	assert_int_equal(store_msg_get(mb, uid, &m), 1);
	assert_non_null(strstr(m.name, ":2,Sbc"));
	store_mailbox_close(&mb);
	store_user_unref(&u);

	/* A folder from Dovecot: its keyword file and letters. */
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/.FromDovecot", maildir);
	const char *subs[] = { "", "/cur", "/new", "/tmp" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", dir, subs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	snprintf(p, sizeof(p), "%s/dovecot-keywords", dir);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	const char *kwfile = "0 $Junk\n1 project\n3 after-a-gap\n";
	assert_int_equal(write_full(fd, kwfile, strlen(kwfile)), 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/cur/1600000000.M1P1.dove,S=10:2,Sbd", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write_full(fd, "Subject: d\r\n\r\n", 15), 0);
	close(fd);

	/* Rebuild: the index is lost. */
	snprintf(p, sizeof(p), "%s/correu-index.sqlite", maildir);
	unlink(p);
	u = open_user();
	assert_int_equal(store_mailbox_open(u, "Kw", &mb), 0);
	assert_int_equal(store_msg_get(mb, uid, &m), 1);
	assert_int_equal(m.flags, STORE_FLAG_SEEN);
	assert_string_equal(keyword_of(mb, m.keywords, 0), "$Label1");
	assert_string_equal(keyword_of(mb, m.keywords, 1), "urgent");
	assert_null(keyword_of(mb, m.keywords, 2));
	store_mailbox_close(&mb);
	assert_int_equal(store_mailbox_open(u, "FromDovecot", &mb), 0);
	assert_int_equal(store_msg_get(mb, 1, &m), 1);
	assert_string_equal(keyword_of(mb, m.keywords, 0), "project");
	assert_null(keyword_of(mb, m.keywords, 1));	/* d: after the gap */
	assert_int_equal(store_mailbox_keywords(mb)->n, 2);
	/* Another tool sets a letter: the sync takes it. */
	char from[700], to[700];
	snprintf(from, sizeof(from), "%s/cur/%s", dir, m.name);
	/* (The same base: the name correu gave it, with ",S=,W=" of its
	 * size and its UID; only the flags change.) */
	assert_non_null(strstr(m.name, "1600000000.M1P1.dove,S=15,W=15,U=1:2,S"));
	snprintf(to, sizeof(to), "%s/cur/1600000000.M1P1.dove,S=15,W=15,U=1:2,Sab", dir);
	assert_int_equal(rename(from, to), 0);
	snprintf(p, sizeof(p), "%s/cur", dir);
	struct timespec later[2] = { { time(NULL) + 5, 0 }, { time(NULL) + 5, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, later, 0), 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	assert_int_equal(store_msg_get(mb, 1, &m), 1);
	assert_string_equal(keyword_of(mb, m.keywords, 0), "$Junk");
	assert_string_equal(keyword_of(mb, m.keywords, 1), "project");
	store_mailbox_close(&mb);
	store_user_unref(&u);
}

static void test_lock(void **state)
{
	(void)state;
	struct store_user *u = open_user();
	struct store_lock *l1, *l2;
	assert_int_equal(store_maildrop_lock(u, &l1), 0);
	assert_int_equal(store_maildrop_lock(u, &l2), -1);
	assert_int_equal(store_user_error(u), STORE_ERR_INUSE);
	store_maildrop_unlock(&l1);
	assert_int_equal(store_maildrop_lock(u, &l2), 0);
	store_maildrop_unlock(&l2);
	store_user_unref(&u);
}

/* Async open, a watch, and a delivery seen through inotify. */
struct async_state {
	uv_loop_t *loop;
	struct store_user *user;
	struct store_mailbox *mb;
	struct store_view *view;
	struct store_watch *watch;
	uint32_t seen;
	uv_timer_t timeout;
	bool timed_out;
};

static void watch_cb(void *ctx)
{
	struct async_state *s = ctx;
	assert_int_equal(store_view_update(s->view, true, NULL, NULL), 0);
	if (s->view->count > s->seen) {
		s->seen = s->view->count;
		store_watch_stop(&s->watch);
		uv_timer_stop(&s->timeout);
		uv_close((uv_handle_t *)&s->timeout, NULL);
		/* Releasing the user closes its inotify handles: the loop ends. */
		store_view_close(&s->view);
		store_user_unref(&s->user);
	}
}

static void timeout_cb(uv_timer_t *t)
{
	struct async_state *s = t->data;
	s->timed_out = true;
	store_watch_stop(&s->watch);
	uv_close((uv_handle_t *)&s->timeout, NULL);
	store_view_close(&s->view);
	store_user_unref(&s->user);
}

static void opened_cb(struct store_user *user, const char *error, void *ctx)
{
	struct async_state *s = ctx;
	assert_null(error);
	s->user = user;
	assert_int_equal(store_mailbox_open(user, "INBOX", &s->mb), 0);
	assert_int_equal(store_view_open(s->mb, false, &s->view), 0);
	s->seen = s->view->count;
	s->watch = store_watch_start(s->mb, watch_cb, s);
	assert_non_null(s->watch);
	deliver(NULL, "600.M1P1Q1.host", "Subject: w\r\n\r\nw\r\n");
	s->timeout.data = s;
	uv_timer_init(s->loop, &s->timeout);
	uv_timer_start(&s->timeout, timeout_cb, 5000, 0);
}

static void test_async_watch(void **state)
{
	(void)state;
	struct async_state s = { 0 };
	s.loop = uv_default_loop();
	struct store_open_req *req = store_user_open(s.loop, "alice@example.org", maildir, 0,
						     opened_cb, &s);
	assert_non_null(req);
	uv_run(s.loop, UV_RUN_DEFAULT);
	assert_false(s.timed_out);
	assert_int_equal(s.seen, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_account),
		cmocka_unit_test(test_sync_flags_expunge),
		cmocka_unit_test(test_append_copy_move),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_rename_delete),
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_async_watch),
		cmocka_unit_test(test_sync_new_mtime),
		cmocka_unit_test(test_keywords_in_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
