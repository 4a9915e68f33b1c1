/* test_queue_file.c — enqueue into a temporary data directory: the
 * message is linked (not copied) with its skip, the envelope is
 * committed, scanned, rewritten and removed; leftovers of interrupted
 * enqueues are cleaned up. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "fsutil.h"
#include "queue_attempt.h"
#include "queue_file.h"

static struct config *make_cfg(void)
{
	struct config *cfg = cfg_new();
	char tmpl[] = "/tmp/correu-queue-test-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	free(cfg->data_dir);
	cfg->data_dir = strdup(tmpl);
	/* Files created as root are given to cfg->user; keep them ours. */
	free(cfg->user);
	cfg->user = strdup("root");
	return cfg;
}

static void test_enqueue_and_back(void **state)
{
	(void)state;
	struct config *cfg = make_cfg();
	char *spool = x_asprintf("%s/spool.msg", cfg->data_dir);
	const char content[] = "Return-Path: <a@a.test>\r\nSubject: x\r\n\r\nbody\r\n";
	size_t skip = strlen("Return-Path: <a@a.test>\r\n");
	int fd = open(spool, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));

	struct queue_envelope env;
	queue_envelope_init(&env);
	env.sender = strdup("a@a.test");
	queue_envelope_add_rcpt(&env, "b@b.test", QUEUE_NOTIFY_FAILURE, "rfc822;b@b.test");
	char *id = NULL;
	const char *err = NULL;
	assert_int_equal(queue_enqueue(cfg, fd, spool, skip, &env, &id, &err), 0);
	assert_true(queue_id_valid(id));
	close(fd);
	/* Linked: same inode as the spool file. */
	char *msg = queue_file_path(cfg, id, NULL);
	struct stat a, b;
	assert_int_equal(stat(spool, &a), 0);
	assert_int_equal(stat(msg, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	unlink(spool);

	struct queue_envelope back;
	assert_int_equal(queue_env_load(cfg, id, &back, &err), 0);
	assert_string_equal(back.sender, "a@a.test");
	assert_int_equal(back.skip, skip);
	assert_int_equal(back.size, strlen(content) - skip);
	assert_int_equal(back.n_rcpts, 1);
	assert_string_equal(back.rcpts[0].orcpt, "rfc822;b@b.test");
	struct buf out = BUF_INIT;
	assert_int_equal(queue_message_read(cfg, &back, 1 << 20, false, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), "Subject: x\r\n\r\nbody\r\n");
	buf_reset(&out);
	assert_int_equal(queue_message_read(cfg, &back, 1 << 20, true, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), "Subject: x\r\n\r\n");
	buf_free(&out);

	/* A rewrite keeps it; a removal makes it disappear from scans. */
	back.held = true;
	assert_int_equal(queue_env_save(cfg, &back, false, &err), 0);
	queue_envelope_free(&back);
	assert_int_equal(queue_env_load(cfg, id, &back, &err), 0);
	assert_true(back.held);
	queue_envelope_free(&back);

	struct strv ids;
	strv_init(&ids);
	assert_int_equal(queue_scan(cfg, &ids, &err), 0);
	assert_int_equal(ids.n, 1);
	assert_string_equal(ids.v[0], id);
	strv_free(&ids);
	assert_int_equal(queue_remove(cfg, id, &err), 0);
	assert_int_equal(queue_env_load(cfg, id, &back, &err), -1);
	strv_init(&ids);
	assert_int_equal(queue_scan(cfg, &ids, &err), 0);
	assert_int_equal(ids.n, 0);
	strv_free(&ids);

	/* A given id is used as is, and cannot be used twice. */
	free(env.id);
	env.id = queue_id_new();
	char *id2 = NULL;
	assert_int_equal(queue_enqueue_data(cfg, "x\r\n", 3, &env, &id2, &err), 0);
	assert_string_equal(id2, env.id);
	char *id3 = NULL;
	assert_int_equal(queue_enqueue_data(cfg, "x\r\n", 3, &env, &id3, &err), -1);
	free(id2);

	queue_envelope_free(&env);
	free(msg);
	free(id);
	free(spool);
	remove_tree(cfg->data_dir);
	cfg_free(&cfg);
}

static void test_orphans(void **state)
{
	(void)state;
	struct config *cfg = make_cfg();
	const char *err;
	assert_int_equal(queue_dirs_ensure(cfg, &err), 0);
	/* An old message file without envelope, a fresh one, and an old
	 * temporary file. */
	char *old = queue_file_path(cfg, "OLD1", NULL);
	char *fresh = queue_file_path(cfg, "FRESH1", NULL);
	char *tmp = x_asprintf("%s/queue/tmp/x.env.1.1", cfg->data_dir);
	assert_int_equal(write_file_durable(old, "x", 1, 0600), 0);
	assert_int_equal(write_file_durable(fresh, "x", 1, 0600), 0);
	assert_int_equal(write_file_durable(tmp, "x", 1, 0600), 0);
	struct timeval tv[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
	assert_int_equal(utimes(tmp, tv), 0);
	/* ctime cannot be set back; the orphan check uses it, so only the
	 * tmp cleanup and the "not yet" case are checked here. */
	struct strv ids;
	strv_init(&ids);
	assert_int_equal(queue_scan(cfg, &ids, &err), 0);
	assert_int_equal(ids.n, 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(fresh, F_OK), 0);
	assert_int_equal(access(old, F_OK), 0);
	strv_free(&ids);
	free(old);
	free(fresh);
	free(tmp);
	remove_tree(cfg->data_dir);
	cfg_free(&cfg);
}

static void test_damaged_moved_aside(void **state)
{
	(void)state;
	struct config *cfg = make_cfg();
	const char *err;
	assert_int_equal(queue_dirs_ensure(cfg, &err), 0);
	char *env = queue_file_path(cfg, "BAD1", ".env");
	char *msg = queue_file_path(cfg, "BAD1", NULL);
	assert_int_equal(write_file_durable(env, "correu-queue 1\nid BAD1\ngarbage", 31, 0600), 0);
	assert_int_equal(write_file_durable(msg, "x", 1, 0600), 0);
	struct queue_attempt *a = queue_attempt_new(cfg, "BAD1", false);
	queue_attempt_prepare(a);
	assert_true(a->gone);
	assert_int_equal(access(env, F_OK), -1);
	char *moved = x_asprintf("%s/queue/corrupt/BAD1.env", cfg->data_dir);
	assert_int_equal(access(moved, F_OK), 0);
	queue_attempt_free(&a);

	/* A message file shorter than its envelope says. */
	struct queue_envelope e;
	queue_envelope_init(&e);
	e.sender = strdup("");
	queue_envelope_add_rcpt(&e, "b@b.test", 0, NULL);
	char *id = NULL;
	assert_int_equal(queue_enqueue_data(cfg, "hello\r\n", 7, &e, &id, &err), 0);
	char *m2 = queue_file_path(cfg, id, NULL);
	assert_int_equal(truncate(m2, 3), 0);
	a = queue_attempt_new(cfg, id, true);
	queue_attempt_prepare(a);
	assert_true(a->gone);
	struct strv ids;
	strv_init(&ids);
	assert_int_equal(queue_scan(cfg, &ids, &err), 0);
	assert_int_equal(ids.n, 0);
	strv_free(&ids);
	queue_attempt_free(&a);
	queue_envelope_free(&e);
	free(m2);
	free(id);
	free(moved);
	free(env);
	free(msg);
	remove_tree(cfg->data_dir);
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_damaged_moved_aside),
		cmocka_unit_test(test_enqueue_and_back),
		cmocka_unit_test(test_orphans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
