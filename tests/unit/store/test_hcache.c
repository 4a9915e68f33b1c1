/* test_hcache.c — the index's header cache: made by APPEND and kept by
 * COPY, filled in the background for delivered messages, "too long"
 * for huge headers, and added to an index of the previous version
 * without losing anything. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "store.h"
#include "fsutil.h"
#include "mail_hcache.h"

#define FIXTURE_NAME "hcache"
#define FIXTURE_USER "alice"
#include "store_fixture.h"

static struct store_user *open_user(uv_loop_t *loop)
{
	struct store_user *u;
	const char *error = NULL;
	if (store_user_open_sync(loop, "alice@example.org", maildir, 0, &u, &error) < 0)
		fail_msg("open: %s", error);
	return u;
}

static void deliver(const char *name, const char *content, size_t len)
{
	char path[600], tmp[600];
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", maildir, name);
	snprintf(path, sizeof(path), "%s/new/%s", maildir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, content, len), 0);
	close(fd);
	assert_int_equal(rename(tmp, path), 0);
}

static void assert_cache(struct store_mailbox *mb, uint32_t uid, const char *header)
{
	struct store_msg m;
	assert_int_equal(store_msg_get(mb, uid, &m), 1);
	assert_non_null(m.headers);
	struct buf want = BUF_INIT;
	mail_hcache_build(header, strlen(header), &want);
	assert_int_equal(m.headers_len, want.len);
	assert_memory_equal(m.headers, want.data, want.len);
	buf_free(&want);
}

struct save_result {
	uint32_t uid;
	bool called;
};

static void save_cb(void *ctx, uint32_t uidvalidity, uint32_t uid, enum store_error error)
{
	struct save_result *r = ctx;
	(void)uidvalidity;
	assert_int_equal(error, STORE_ERR_NONE);
	r->uid = uid;
	r->called = true;
}

struct copy_result {
	uint32_t dst;
	bool called;
};

static void copy_cb(void *ctx, const uint32_t *src, const uint32_t *dst, size_t n,
		    enum store_error error)
{
	struct copy_result *r = ctx;
	(void)src;
	assert_int_equal(error, STORE_ERR_NONE);
	assert_int_equal(n, 1);
	r->dst = dst[0];
	r->called = true;
}

static const char hdr1[] = "From: a@b\r\nX-Mailer: m\r\nSubject: first\r\n part\r\nTo: c@d\r\n\r\n";

static void test_append_copy(void **state)
{
	(void)state;
	struct store_user *u = open_user(NULL);
	struct store_mailbox *inbox, *trash;
	assert_int_equal(store_mailbox_open(u, "INBOX", &inbox), 0);
	assert_int_equal(store_mailbox_open(u, "Trash", &trash), 0);
	struct store_save *s = store_save_begin(inbox);
	assert_non_null(s);
	/* In awkward pieces: the empty line split between two writes. */
	size_t len = strlen(hdr1);
	assert_int_equal(store_save_write(s, hdr1, len - 3), 0);
	assert_int_equal(store_save_write(s, hdr1 + len - 3, 3), 0);
	assert_int_equal(store_save_write(s, "Subject: body\r\n", 15), 0);
	struct save_result sr = { 0 };
	store_save_finish(s, 0, NULL, 0, 0, 0, save_cb, &sr);
	assert_true(sr.called);
	assert_cache(inbox, sr.uid, hdr1);
	uint32_t uid = sr.uid;
	struct copy_result cr = { 0 };
	store_msg_copy(inbox, &uid, 1, trash, false, copy_cb, &cr);
	assert_true(cr.called);
	assert_cache(trash, cr.dst, hdr1);

	/* A header too long to cache is marked so (empty), not left out. */
	s = store_save_begin(inbox);
	assert_non_null(s);
	assert_int_equal(store_save_write(s, "Subject: big\r\n", 14), 0);
	for (size_t n = 0; n <= MAIL_HCACHE_HEADER_MAX; n += 50)
		assert_int_equal(store_save_write(s, "X-Fill: 012345678901234567890123456789012345678\r\n",
						  50), 0);
	assert_int_equal(store_save_write(s, "\r\nbody\r\n", 8), 0);
	memset(&sr, 0, sizeof(sr));
	store_save_finish(s, 0, NULL, 0, 0, 0, save_cb, &sr);
	struct store_msg m;
	assert_int_equal(store_msg_get(inbox, sr.uid, &m), 1);
	assert_non_null(m.headers);
	assert_int_equal(m.headers_len, 0);
	store_mailbox_close(&trash);
	store_mailbox_close(&inbox);
	store_user_unref(&u);
}

static void test_fill(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store_user *u = open_user(&loop);
	char name[64], msg[256];
	for (int i = 0; i < 1203; i++) {
		snprintf(name, sizeof(name), "700.M%dP1Q1.host", i);
		int n = snprintf(msg, sizeof(msg), "Subject: n%d\r\nX-No: x\r\nFrom: f%d@x\r\n\r\nb\r\n",
				 i, i);
		deliver(name, msg, (size_t)n);
	}
	struct store_mailbox *mb;
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	/* The sync adopts them without caches and starts the fill. */
	assert_int_equal(store_mailbox_sync(mb), 0);
	struct store_msg m;
	assert_int_equal(store_msg_get(mb, 1, &m), 1);
	assert_null(m.headers);
	while (uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	struct store_msg_iter it;
	size_t n = 0;
	store_msg_iter_init_headers(&it, mb, 1, UINT32_MAX);
	while (store_msg_iter_next(&it, &m)) {
		/* Files are adopted in name order: take i from the name. */
		char want[128];
		int i = atoi(strchr(m.name, 'M') + 1);
		snprintf(want, sizeof(want), "Subject: n%d\r\nFrom: f%d@x\r\n\r\n", i, i);
		assert_true(m.headers_known);
		assert_int_equal(m.headers_len, strlen(want));
		assert_memory_equal(m.headers, want, m.headers_len);
		n++;
	}
	assert_int_equal(store_msg_iter_deinit(&it), 0);
	assert_int_equal(n, 1203);
	/* The light iterator does not read it. */
	store_msg_iter_init_light(&it, mb, 1, 1);
	assert_true(store_msg_iter_next(&it, &m));
	assert_false(m.headers_known);
	assert_null(m.headers);
	assert_int_equal(store_msg_iter_deinit(&it), 0);
	store_mailbox_close(&mb);
	store_user_unref(&u);
	/* The user lingers on the loop for the next login. */
	store_users_release_idle(&loop);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void flags_cb(void *ctx, uint32_t uid, uint32_t flags, uint64_t keywords,
		     uint64_t modseq, bool changed, bool failed)
{
	(void)ctx;
	(void)uid;
	(void)flags;
	(void)keywords;
	(void)modseq;
	(void)changed;
	assert_false(failed);
}

static void test_migrate(void **state)
{
	(void)state;
	struct store_user *u = open_user(NULL);
	struct store_mailbox *mb;
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	int bit = store_mailbox_keyword_index(mb, "kept", true);
	assert_int_equal(bit, 0);
	uint32_t uid = 1;
	const char *kw[] = { "kept" };
	struct store_flag_change ch = { STORE_MODIFY_ADD, STORE_FLAG_FLAGGED, kw, 1, 0 };
	assert_int_equal(store_msg_update_flags(mb, &uid, 1, &ch, flags_cb, NULL), 0);
	store_mailbox_close(&mb);
	store_user_unref(&u);
	/* Make it a version 1 index, as the first release wrote: cached
	 * strings in the message rows. */
	char path[600];
	snprintf(path, sizeof(path), "%s/correu-index.sqlite", maildir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER message_cache_del; DROP INDEX message_nohc; "
				      "ALTER TABLE message DROP COLUMN hc; "
				      "ALTER TABLE message ADD COLUMN envelope TEXT; "
				      "ALTER TABLE message ADD COLUMN bodystructure TEXT; "
				      "ALTER TABLE message ADD COLUMN body TEXT; "
				      "UPDATE message SET envelope = '(NIL)' WHERE uid = 1; "
				      "DROP TABLE message_cache; "
				      "UPDATE meta SET value = 1 WHERE key = 'version';",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	u = open_user(NULL);
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	struct store_msg m;
	assert_int_equal(store_msg_get(mb, 1, &m), 1);
	assert_null(m.headers);
	assert_string_equal(m.envelope, "(NIL)");
	assert_int_equal(m.flags & STORE_FLAG_FLAGGED, STORE_FLAG_FLAGGED);
	assert_int_equal(m.keywords, 1);
	assert_int_equal(store_msg_set_headers(mb, 1, "To: x\r\n\r\n", 9), 0);
	assert_int_equal(store_msg_get(mb, 1, &m), 1);
	assert_int_equal(m.headers_len, 9);
	assert_string_equal(m.envelope, "(NIL)");
	/* Expunging drops the cached strings too. */
	assert_int_equal(store_msg_expunge(mb, &uid, 1, false, NULL, NULL), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM message_cache c WHERE NOT "
					    "EXISTS (SELECT 1 FROM message m WHERE m.id = c.id)",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	store_mailbox_close(&mb);
	store_user_unref(&u);
}

/* Version 2 (briefly) had the header cache in the message rows. */
static void test_migrate_v2(void **state)
{
	(void)state;
	struct store_user *u = open_user(NULL);
	struct store_mailbox *mb;
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	struct store_msg_iter it;
	struct store_msg m;
	store_msg_iter_init_light(&it, mb, 1, UINT32_MAX);
	assert_true(store_msg_iter_next(&it, &m));
	uint32_t uid = m.uid;
	assert_int_equal(store_msg_iter_deinit(&it), 0);
	store_mailbox_close(&mb);
	store_user_unref(&u);
	char path[600];
	snprintf(path, sizeof(path), "%s/correu-index.sqlite", maildir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *sql = sqlite3_mprintf(
		"DROP TRIGGER message_cache_del; DROP INDEX message_nohc; "
		"ALTER TABLE message DROP COLUMN hc; "
		"ALTER TABLE message ADD COLUMN envelope TEXT; "
		"ALTER TABLE message ADD COLUMN bodystructure TEXT; "
		"ALTER TABLE message ADD COLUMN body TEXT; "
		"ALTER TABLE message ADD COLUMN headers BLOB; "
		"CREATE INDEX message_noheaders ON message(id) WHERE headers IS NULL; "
		"UPDATE message SET headers = x'546f3a20790d0a0d0a', body = 'B' WHERE uid = %u; "
		"DROP TABLE message_cache; "
		"UPDATE meta SET value = 2 WHERE key = 'version';", uid);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sqlite3_close(db);
	u = open_user(NULL);
	assert_int_equal(store_mailbox_open(u, "INBOX", &mb), 0);
	assert_int_equal(store_msg_get(mb, uid, &m), 1);
	assert_int_equal(m.headers_len, 9);
	assert_memory_equal(m.headers, "To: y\r\n\r\n", 9);
	assert_string_equal(m.body, "B");
	store_msg_iter_init_light(&it, mb, 1, UINT32_MAX);
	size_t n = 0;
	while (store_msg_iter_next(&it, &m))
		n++;
	assert_int_equal(store_msg_iter_deinit(&it), 0);
	assert_true(n > 1);
	store_mailbox_close(&mb);
	store_user_unref(&u);
	/* Only the one with a cache is marked done for the fill. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM message WHERE hc = 1", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_append_copy),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_migrate_v2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
