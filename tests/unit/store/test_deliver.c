/* test_deliver.c — unit tests for durable Maildir delivery by hard link
 * and for Maildir unique names. */
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
#include <unistd.h>
#include "fsutil.h"
#include "store_deliver.h"

static char *tmpdir(void)
{
	char *d = strdup("/tmp/correu-test-deliver-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_unique_names(void **state)
{
	(void)state;
	char *a = store_maildir_unique_name(123);
	char *b = store_maildir_unique_name(123);
	assert_string_not_equal(a, b);
	assert_non_null(strstr(a, ",S=123,W=123"));
	assert_null(strchr(a, '/'));
	assert_null(strchr(a, ':'));
	free(a);
	free(b);
}

static void test_deliver_two_users_and_folder(void **state)
{
	(void)state;
	char *root = tmpdir();
	char spool[256];
	snprintf(spool, sizeof(spool), "%s/spool", root);
	const char msg[] = "Subject: x\r\n\r\nbody\r\n";
	int fd = open(spool, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, msg, sizeof(msg) - 1), 0);
	char u1[256], u2[256];
	snprintf(u1, sizeof(u1), "%s/mail/a", root);
	snprintf(u2, sizeof(u2), "%s/mail/b", root);
	/* u1 exists already, u2 and its folder are created on first use. */
	const char *err;
	assert_int_equal(store_maildir_ensure(u1, NULL, &err), 0);
	struct store_target t[] = { { u1, NULL }, { u2, NULL }, { u2, "Archive.2026" } };
	char **names = NULL;
	assert_int_equal(store_deliver_files(fd, spool, sizeof(msg) - 1, t, 3, &names, &err), 0);
	close(fd);
	char p[512];
	snprintf(p, sizeof(p), "%s/new", u1);
	assert_int_equal(count_dir(p), 1);
	snprintf(p, sizeof(p), "%s/new", u2);
	assert_int_equal(count_dir(p), 1);
	snprintf(p, sizeof(p), "%s/.Archive.2026/new", u2);
	assert_int_equal(count_dir(p), 1);
	snprintf(p, sizeof(p), "%s/.Archive.2026/maildirfolder", u2);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/new/%s", u1, names[0]);
	struct buf b = BUF_INIT;
	assert_int_equal(read_file(p, &b, 1 << 20), 0);
	assert_int_equal(b.len, sizeof(msg) - 1);
	assert_memory_equal(b.data, msg, b.len);
	buf_free(&b);
	struct stat st;
	assert_int_equal(stat(spool, &st), 0);
	assert_int_equal(st.st_nlink, 4);	/* spool + three links */
	for (int i = 0; i < 3; i++)
		free(names[i]);
	free(names);
	remove_tree(root);
	free(root);
}

static void test_deliver_missing_file(void **state)
{
	(void)state;
	char *root = tmpdir();
	char u[256], spool[256];
	snprintf(u, sizeof(u), "%s/u", root);
	snprintf(spool, sizeof(spool), "%s/nope", root);
	struct store_target t[] = { { u, NULL } };
	const char *err = NULL;
	assert_int_equal(store_deliver_files(-1, spool, 10, t, 1, NULL, &err), -1);
	assert_non_null(err);
	remove_tree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unique_names),
		cmocka_unit_test(test_deliver_two_users_and_folder),
		cmocka_unit_test(test_deliver_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
