/* test_crlf.c — LF to CRLF: the streaming converter (whole and one byte
 * at a time), the name check, the small-file check and the conversion
 * of a file in a Maildir folder (name, flags, times, content). */
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
#include "store_crlf.h"
#include "fsutil.h"

static void convert_both(const char *in, size_t len, const char *expect, uint64_t bare)
{
	/* Whole, one byte at a time, three at a time. */
	const size_t steps[] = { len > 0 ? len : 1, 1, 3 };
	for (size_t si = 0; si < 3; si++) {
		size_t step = steps[si];
		struct store_crlf c, k;
		struct buf out = BUF_INIT;
		store_crlf_init(&c);
		store_crlf_init(&k);
		for (size_t i = 0; i < len; i += step) {
			size_t n = len - i < step ? len - i : step;
			store_crlf_convert(&c, in + i, n, &out);
			store_crlf_count(&k, in + i, n);
		}
		assert_int_equal(out.len, strlen(expect));
		assert_memory_equal(out.len > 0 ? out.data : "", expect, out.len);
		assert_int_equal(c.bare_lf, bare);
		assert_int_equal(c.in, len);
		assert_int_equal(k.bare_lf, bare);
		assert_int_equal(k.in, len);
		buf_free(&out);
	}
}

static void test_convert(void **state)
{
	(void)state;
	convert_both("", 0, "", 0);
	convert_both("a\nb\n", 4, "a\r\nb\r\n", 2);
	convert_both("a\r\nb\r\n", 6, "a\r\nb\r\n", 0);
	convert_both("\n\n", 2, "\r\n\r\n", 2);
	convert_both("\r\n\n", 3, "\r\n\r\n", 1);
	/* A CR not before LF stays; the last line needs no end. */
	convert_both("a\rb\r\r\nc", 7, "a\rb\r\r\nc", 0);
	convert_both("x\r", 2, "x\r", 0);
	convert_both("\n", 1, "\r\n", 1);
	convert_both("Subject: hi\n\nline1\r\nline2\n", 26,
		     "Subject: hi\r\n\r\nline1\r\nline2\r\n", 3);
}

static void test_name_ok(void **state)
{
	(void)state;
	struct store_maildir_name n;
	assert_true(store_maildir_name_parse("1.M2P3.h,S=10,W=10:2,S", &n));
	assert_true(n.has_vsize);
	assert_int_equal(n.vsize, 10);
	assert_true(store_crlf_name_ok(&n, 10));
	assert_false(store_crlf_name_ok(&n, 11));
	assert_true(store_maildir_name_parse("1.M2P3.h,S=10,W=12", &n));
	assert_false(store_crlf_name_ok(&n, 10));
	assert_true(store_maildir_name_parse("1.M2P3.h,S=10,U=4", &n));
	assert_false(store_crlf_name_ok(&n, 10));
	assert_true(store_maildir_name_parse("1700000000.12_3.host", &n));
	assert_false(store_crlf_name_ok(&n, 10));

	struct buf b = BUF_INIT;
	assert_true(store_maildir_name_parse("1.M2P3.h,S=10,W=12,U=5:2,S", &n));
	store_maildir_base_with_size(&b, &n, 12);
	assert_string_equal(b.data, "1.M2P3.h,U=5,S=12,W=12");
	buf_reset(&b);
	assert_true(store_maildir_name_parse("plain.host:2,", &n));
	store_maildir_base_with_size(&b, &n, 7);
	assert_string_equal(b.data, "plain.host,S=7,W=7");
	buf_free(&b);
}

static char folder[] = "/tmp/test_crlf.XXXXXX";

static void put(const char *sub, const char *name, const char *data, time_t mtime)
{
	char *p = x_asprintf("%s/%s/%s", folder, sub, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
	const struct timespec t[2] = { { mtime, 0 }, { mtime, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
	free(p);
}

static char *get(const char *sub, const char *name, struct stat *st)
{
	char *p = x_asprintf("%s/%s/%s", folder, sub, name);
	struct buf b = BUF_INIT;
	assert_int_equal(read_file(p, &b, 1 << 20), 0);
	assert_int_equal(stat(p, st), 0);
	free(p);
	return buf_steal(&b);
}

static bool exists(const char *sub, const char *name)
{
	char *p = x_asprintf("%s/%s/%s", folder, sub, name);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

static void test_file(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(folder));
	static const char *const subs[] = { "cur", "new", "tmp" };
	for (size_t i = 0; i < 3; i++) {
		char *p = x_asprintf("%s/%s", folder, subs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
	}
	struct buf nn = BUF_INIT;
	const char *error = NULL;
	struct stat st;

	/* Dovecot's LF file: converted, flags and keywords kept, sizes
	 * fixed, the date kept, nothing left in tmp/. */
	put("cur", "1795846239.M241920P17174.vm,S=25,W=29:2,Sab",
	    "Subject: hi\n\nline1\nline2\n", 1500000000);
	assert_int_equal(store_crlf_file(folder, "cur", "1795846239.M241920P17174.vm,S=25,W=29:2,Sab",
					 &nn, &error), 0);
	assert_string_equal(nn.data, "1795846239.M241920P17174.vm,S=29,W=29:2,Sab");
	char *data = get("cur", nn.data, &st);
	assert_string_equal(data, "Subject: hi\r\n\r\nline1\r\nline2\r\n");
	free(data);
	assert_int_equal(st.st_mtim.tv_sec, 1500000000);
	assert_false(exists("cur", "1795846239.M241920P17174.vm,S=25,W=29:2,Sab"));
	char *tmpdir = x_asprintf("%s/tmp", folder);
	DIR *dir = opendir(tmpdir);
	assert_non_null(dir);
	struct dirent *de;
	while ((de = readdir(dir)) != NULL)
		assert_true(de->d_name[0] == '.');
	closedir(dir);
	free(tmpdir);

	/* A file from procmail in new/: no fields, no info. */
	put("new", "1700000000.1234_0.host", "a\nb\n", 1600000000);
	assert_int_equal(store_crlf_file(folder, "new", "1700000000.1234_0.host", &nn, &error), 0);
	assert_string_equal(nn.data, "1700000000.1234_0.host,S=6,W=6");
	data = get("new", nn.data, &st);
	assert_string_equal(data, "a\r\nb\r\n");
	free(data);
	assert_int_equal(st.st_mtim.tv_sec, 1600000000);

	/* CRLF already: only the name changes, the inode stays. */
	put("cur", "x.host:2,F", "a\r\nb\r\n", 1600000001);
	struct stat before;
	data = get("cur", "x.host:2,F", &before);
	free(data);
	assert_int_equal(store_crlf_file(folder, "cur", "x.host:2,F", &nn, &error), 0);
	assert_string_equal(nn.data, "x.host,S=6,W=6:2,F");
	data = get("cur", nn.data, &st);
	free(data);
	assert_int_equal(st.st_ino, before.st_ino);
	/* And again: nothing to do, the same name. */
	assert_int_equal(store_crlf_file(folder, "cur", "x.host,S=6,W=6:2,F", &nn, &error), 0);
	assert_string_equal(nn.data, "x.host,S=6,W=6:2,F");

	/* What a crash between the steps leaves. After the exchange, before
	 * the rename: the CRLF content under the old name, whose W= is its
	 * size and S= is not: only renamed. Before the exchange: the
	 * original and a stray copy in tmp/, which changes nothing. */
	put("cur", "1795846240.M1P2.vm,S=4,W=6:2,S", "a\r\nb\r\n", 1600000002);
	data = get("cur", "1795846240.M1P2.vm,S=4,W=6:2,S", &before);
	free(data);
	assert_int_equal(store_crlf_file(folder, "cur", "1795846240.M1P2.vm,S=4,W=6:2,S", &nn,
					 &error), 0);
	assert_string_equal(nn.data, "1795846240.M1P2.vm,S=6,W=6:2,S");
	data = get("cur", nn.data, &st);
	assert_string_equal(data, "a\r\nb\r\n");
	free(data);
	assert_int_equal(st.st_ino, before.st_ino);
	put("tmp", "1795846241.M1P2.vm.77.0.crlf", "a\r\nb\r\n", 1);
	put("cur", "1795846241.M1P2.vm,S=4,W=6", "a\nb\n", 1600000003);
	assert_int_equal(store_crlf_file(folder, "cur", "1795846241.M1P2.vm,S=4,W=6", &nn, &error),
			 0);
	assert_string_equal(nn.data, "1795846241.M1P2.vm,S=6,W=6");
	data = get("cur", nn.data, &st);
	assert_string_equal(data, "a\r\nb\r\n");
	free(data);
	assert_true(exists("tmp", "1795846241.M1P2.vm.77.0.crlf"));

	/* Gone, or not a file. */
	assert_int_equal(store_crlf_file(folder, "cur", "missing.host", &nn, &error), 1);
	char *d = x_asprintf("%s/cur/adir", folder);
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(store_crlf_file(folder, "cur", "adir", &nn, &error), 1);
	rmdir(d);
	free(d);

	/* The small-file check on the loop. */
	put("cur", "small", "a\r\nb\r\n", 1);
	put("cur", "smalllf", "a\nb\r\n", 1);
	char *p = x_asprintf("%s/cur/small", folder);
	int fd = open(p, O_RDONLY);
	assert_int_equal(store_crlf_check_small(fd, 6, 1024), 1);
	close(fd);
	fd = open(p, O_RDONLY);
	assert_int_equal(store_crlf_check_small(fd, 6, 4), 0);	/* too big */
	close(fd);
	free(p);
	p = x_asprintf("%s/cur/smalllf", folder);
	fd = open(p, O_RDONLY);
	assert_int_equal(store_crlf_check_small(fd, 5, 1024), 0);
	close(fd);
	free(p);

	buf_free(&nn);
	assert_int_equal(remove_tree(folder), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
