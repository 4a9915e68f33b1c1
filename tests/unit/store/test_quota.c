/* test_quota.c — quota checks for deliveries: the verdicts, the usage of
 * an account nobody has opened (mail in new/ taken into the index), and
 * the read-only estimate of `correu user list -l`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "store.h"
#include "store_deliver.h"
#include "store_quota.h"
#include "fsutil.h"

#define FIXTURE_NAME "quota"
#define FIXTURE_USER "bob"
#include "store_fixture.h"

/* Delivers a message of size bytes as SMTP does (hard link into new/). */
static void deliver(size_t size)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/msg", root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc(i % 72 == 71 ? '\n' : 'x', f);
	fclose(f);
	const char *error = NULL;
	struct store_target t = { .maildir = maildir, .folder = NULL };
	if (store_deliver_files(-1, path, size, &t, 1, NULL, &error) < 0)
		fail_msg("deliver: %s", error);
	unlink(path);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static uint64_t usage(void)
{
	uint64_t bytes = 12345;
	const char *error = NULL;
	if (store_quota_usage("bob@example.org", maildir, &bytes, &error) < 0)
		fail_msg("usage: %s", error);
	return bytes;
}

static void test_verdicts(void **state)
{
	(void)state;
	/* No quota: always. */
	assert_int_equal(store_quota_check(0, 1u << 30, 1u << 30, false), STORE_QUOTA_OK);
	/* At RCPT (no grace): full at or over the quota, or SIZE= not fitting. */
	assert_int_equal(store_quota_check(1000, 999, 0, false), STORE_QUOTA_OK);
	assert_int_equal(store_quota_check(1000, 1000, 0, false), STORE_QUOTA_FULL);
	assert_int_equal(store_quota_check(1000, 1500, 0, false), STORE_QUOTA_FULL);
	assert_int_equal(store_quota_check(1000, 600, 400, false), STORE_QUOTA_OK);
	assert_int_equal(store_quota_check(1000, 600, 401, false), STORE_QUOTA_FULL);
	assert_int_equal(store_quota_check(1000, 0, 1001, false), STORE_QUOTA_TOO_BIG);
	assert_int_equal(store_quota_check(1000, 999, 1001, false), STORE_QUOTA_TOO_BIG);
	/* At delivery: 10 % grace over the quota, not over an account already full. */
	assert_int_equal(store_quota_grace(1000), 100);
	assert_int_equal(store_quota_check(1000, 600, 500, true), STORE_QUOTA_OK);
	assert_int_equal(store_quota_check(1000, 600, 501, true), STORE_QUOTA_FULL);
	assert_int_equal(store_quota_check(1000, 1000, 1, true), STORE_QUOTA_FULL);
	assert_int_equal(store_quota_check(1000, 0, 1100, true), STORE_QUOTA_OK);
	assert_int_equal(store_quota_check(1000, 0, 1101, true), STORE_QUOTA_TOO_BIG);
	/* No overflow near the top. */
	assert_int_equal(store_quota_check(UINT64_MAX / 2, UINT64_MAX / 4, UINT64_MAX / 2, true),
			 STORE_QUOTA_FULL);
}

static void test_no_mail_yet(void **state)
{
	(void)state;
	/* No Maildir: 0, and nothing is created. */
	assert_int_equal(usage(), 0);
	struct stat st;
	assert_int_equal(stat(maildir, &st), -1);
	/* An empty Maildir without an index: still nothing created. */
	const char *error;
	assert_int_equal(store_maildir_ensure(maildir, NULL, &error), 0);
	assert_int_equal(usage(), 0);
	char path[400];
	snprintf(path, sizeof(path), "%s/correu-index.sqlite", maildir);
	assert_int_equal(stat(path, &st), -1);
	uint64_t bytes = 1;
	assert_int_equal(store_quota_peek(maildir, &bytes, &error), 0);
	assert_int_equal(bytes, 0);
}

static void test_usage_takes_new_mail_in(void **state)
{
	(void)state;
	const char *error;
	/* Delivered before anyone opened the account: no index yet. */
	deliver(1000);
	deliver(2000);
	uint64_t peek = 0;
	assert_int_equal(store_quota_peek(maildir, &peek, &error), 0);
	assert_int_equal(peek, 3000);
	assert_int_equal(usage(), 3000);
	/* The index now has them, new/ is empty. */
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/new", maildir);
	assert_int_equal(count_files(dir), 0);
	/* More mail: counted by the next look, whether in new/ or indexed. */
	deliver(500);
	assert_int_equal(store_quota_peek(maildir, &peek, &error), 0);
	assert_int_equal(peek, 3500);
	assert_int_equal(usage(), 3500);
	assert_int_equal(usage(), 3500);
	/* A session sees the same usage. */
	struct store_user *u;
	assert_int_equal(store_user_open_sync(NULL, "bob@example.org", maildir, 0, &u, &error), 0);
	uint64_t bytes = 0, msgs = 0;
	assert_int_equal(store_user_usage(u, &bytes, &msgs), 0);
	assert_int_equal(bytes, 3500);
	assert_int_equal(msgs, 3);
	store_user_unref(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test_setup_teardown(test_no_mail_yet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_takes_new_mail_in, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
