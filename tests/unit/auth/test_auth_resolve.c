/* test_auth_resolve.c — unit tests for auth_db.c (domains, users,
 * aliases) and auth_resolve.c (aliases, catch-all, plus-addressing,
 * loops), on a database in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "auth_db.h"
#include "auth_resolve.h"
#include "cfg.h"
#include "fsutil.h"

struct fixture {
	char dir[64];
	struct config *cfg;
	struct auth_db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/correu-test-resolve-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->cfg = cfg_new();
	free(f->cfg->data_dir);
	f->cfg->data_dir = x_asprintf("%s/data", f->dir);
	const char *error = NULL;
	f->db = auth_db_open(f->cfg, true, &error);
	if (f->db == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	auth_db_close(&f->db);
	cfg_free(&f->cfg);
	remove_tree(f->dir);
	free(f);
	return 0;
}

#define OK(expr) do { \
	if ((expr) != 0) \
		fail_msg("%s failed: %s", #expr, error != NULL ? error : "?"); \
} while (0)

static void add_alias(struct auth_db *db, const char *source, const char *t1, const char *t2)
{
	struct strv t;
	const char *error = NULL;
	strv_init(&t);
	strv_push(&t, t1);
	if (t2 != NULL)
		strv_push(&t, t2);
	OK(auth_db_alias_add(db, source, &t, &error));
	strv_free(&t);
}

static void test_domains_users(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	struct strv sv;
	strv_init(&sv);

	/* A missing database is an error without create. */
	struct config *cfg2 = cfg_new();
	free(cfg2->data_dir);
	cfg2->data_dir = x_asprintf("%s/nothing", f->dir);
	assert_null(auth_db_open(cfg2, false, &error));
	assert_non_null(strstr(error, "correu init"));
	cfg_free(&cfg2);

	OK(auth_db_domain_add(f->db, "Example.TEST", &error));
	assert_int_equal(auth_db_domain_add(f->db, "example.test", &error), -1);
	assert_string_equal(error, "domain exists");
	assert_int_equal(auth_db_domain_add(f->db, "bad_domain", &error), -1);
	OK(auth_db_domain_add(f->db, "bücher.example", &error));
	assert_true(auth_db_domain_exists(f->db, "EXAMPLE.test"));
	assert_true(auth_db_domain_exists(f->db, "xn--bcher-kva.example"));
	assert_true(auth_db_domain_exists(f->db, "BÜCHER.example"));
	assert_false(auth_db_domain_exists(f->db, "other.example"));
	assert_int_equal(auth_db_domain_find(f->db, "other.example"), 0);
	assert_int_equal(auth_db_domain_list(f->db, &sv), 0);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "example.test");
	assert_string_equal(sv.v[1], "xn--bcher-kva.example");
	strv_free(&sv);

	OK(auth_db_user_add(f->db, "Alice@Example.Test", &error));
	assert_int_equal(auth_db_user_add(f->db, "alice@example.test", &error), -1);
	assert_string_equal(error, "user exists");
	assert_int_equal(auth_db_user_add(f->db, "bob@other.example", &error), -1);
	assert_non_null(strstr(error, "no such domain"));
	assert_int_equal(auth_db_user_add(f->db, "../etc@example.test", &error), -1);

	struct auth_user u;
	assert_int_equal(auth_db_user_get(f->db, "ALICE@example.test", &u), 1);
	assert_string_equal(u.address, "alice@example.test");
	char *want = x_asprintf("%s/data/mail/example.test/alice", f->dir);
	assert_string_equal(u.maildir, want);
	free(want);
	assert_true(u.enabled);
	assert_int_equal(u.quota_bytes, 0);
	auth_user_free(&u);
	assert_int_equal(auth_db_user_get(f->db, "nobody@example.test", &u), 0);
	assert_int_equal(auth_db_user_get(f->db, "garbage", &u), 0);
	/* The store creates Maildirs, not us. */
	char *md = x_asprintf("%s/data/mail", f->dir);
	assert_int_equal(access(md, F_OK), -1);
	free(md);

	OK(auth_db_user_set_quota(f->db, "alice@example.test", 1048576, &error));
	OK(auth_db_user_set_enabled(f->db, "alice@example.test", false, &error));
	assert_int_equal(auth_db_user_get(f->db, "alice@example.test", &u), 1);
	assert_int_equal(u.quota_bytes, 1048576);
	assert_false(u.enabled);
	auth_user_free(&u);
	assert_int_equal(auth_db_user_set_quota(f->db, "nobody@example.test", 1, &error), -1);
	assert_string_equal(error, "no such user");

	/* A domain with users or aliases cannot go. */
	assert_int_equal(auth_db_domain_del(f->db, "example.test", &error), -1);
	assert_non_null(strstr(error, "1 user and 0 aliases"));
	OK(auth_db_user_list(f->db, &sv));
	assert_int_equal(sv.n, 1);
	strv_free(&sv);
	OK(auth_db_user_del(f->db, "Alice@example.test", &error));
	assert_int_equal(auth_db_user_del(f->db, "alice@example.test", &error), -1);
	OK(auth_db_domain_del(f->db, "example.test", &error));
	assert_int_equal(auth_db_domain_del(f->db, "example.test", &error), -1);
	assert_false(auth_db_domain_exists(f->db, "example.test"));
}

static void test_alias_db(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	struct strv sv;
	strv_init(&sv);
	OK(auth_db_domain_add(f->db, "example.test", &error));
	OK(auth_db_user_add(f->db, "alice@example.test", &error));

	/* Sources must be in our domains; targets must be addresses. */
	struct strv t;
	strv_init(&t);
	assert_int_equal(auth_db_alias_add(f->db, "x@example.test", &t, &error), -1);
	strv_push(&t, "alice@example.test");
	assert_int_equal(auth_db_alias_add(f->db, "x@other.example", &t, &error), -1);
	assert_int_equal(auth_db_alias_add(f->db, "@other.example", &t, &error), -1);
	strv_push(&t, "not an address");
	assert_int_equal(auth_db_alias_add(f->db, "x@example.test", &t, &error), -1);
	strv_free(&t);
	/* Nothing of the failed add was stored. */
	assert_int_equal(auth_db_alias_list(f->db, &sv), 0);
	assert_int_equal(sv.n, 0);

	add_alias(f->db, "Info@Example.test", "ALICE@example.test", "Bob.Smith@Other.Example");
	add_alias(f->db, "info@example.test", "alice@example.test", NULL);	/* no duplicate */
	add_alias(f->db, "@example.test", "alice@example.test", NULL);
	assert_int_equal(auth_db_alias_list(f->db, &sv), 0);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "@example.test alice@example.test");
	assert_string_equal(sv.v[1], "info@example.test alice@example.test Bob.Smith@other.example");
	strv_free(&sv);

	assert_int_equal(auth_db_aliases_of(f->db, "alice@example.test", &sv), 0);
	assert_int_equal(sv.n, 2);
	assert_true(strv_contains(&sv, "info@example.test"));
	assert_true(strv_contains(&sv, "@example.test"));
	strv_free(&sv);

	assert_int_equal(auth_db_alias_del(f->db, "info@example.test", "nobody@example.test",
					   &error), -1);
	/* Remote local parts keep their case. */
	assert_int_equal(auth_db_alias_del(f->db, "info@example.test", "bob.smith@other.example",
					   &error), -1);
	OK(auth_db_alias_del(f->db, "info@example.test", "Bob.Smith@other.example", &error));
	OK(auth_db_alias_del(f->db, "@example.test", NULL, &error));
	assert_int_equal(auth_db_alias_del(f->db, "@example.test", NULL, &error), -1);
	assert_int_equal(auth_db_alias_list(f->db, &sv), 0);
	assert_int_equal(sv.n, 1);
	strv_free(&sv);
}

/* Resolves address and checks the result and the local/remote lists
 * (space-separated, in order). */
static void check_resolve(struct auth_db *db, const char *address, char delim,
			  enum auth_resolve_result want, const char *local, const char *remote)
{
	struct auth_resolved r;
	auth_resolved_init(&r);
	enum auth_resolve_result got = auth_resolve(db, address, delim, &r);
	if (got != want)
		fail_msg("%s: result %d, expected %d", address, got, want);
	struct strv wl, wr;
	strv_init(&wl);
	strv_init(&wr);
	strv_split_ws(&wl, local);
	strv_split_ws(&wr, remote);
	if (wl.n != r.local.n || wr.n != r.remote.n)
		fail_msg("%s: %zu local, %zu remote; expected %zu, %zu", address, r.local.n,
			 r.remote.n, wl.n, wr.n);
	for (size_t i = 0; i < wl.n; i++)
		assert_string_equal(r.local.v[i], wl.v[i]);
	for (size_t i = 0; i < wr.n; i++)
		assert_string_equal(r.remote.v[i], wr.v[i]);
	strv_free(&wl);
	strv_free(&wr);
	auth_resolved_free(&r);
}

static void test_resolve(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	OK(auth_db_domain_add(f->db, "example.test", &error));
	OK(auth_db_domain_add(f->db, "catch.test", &error));
	OK(auth_db_user_add(f->db, "alice@example.test", &error));
	OK(auth_db_user_add(f->db, "bob@example.test", &error));
	OK(auth_db_user_add(f->db, "carol+x@example.test", &error));
	OK(auth_db_user_add(f->db, "dave@catch.test", &error));

	/* Exact users, case-insensitive. */
	check_resolve(f->db, "Alice@EXAMPLE.test", '+', AUTH_RESOLVE_LOCAL, "alice@example.test", "");
	check_resolve(f->db, "nobody@example.test", '+', AUTH_RESOLVE_UNKNOWN, "", "");
	check_resolve(f->db, "someone@Remote.Example", '+', AUTH_RESOLVE_REMOTE, "",
		      "someone@remote.example");
	/* Plus-addressing, a configurable delimiter, and disabled. */
	check_resolve(f->db, "alice+news@example.test", '+', AUTH_RESOLVE_LOCAL,
		      "alice@example.test", "");
	check_resolve(f->db, "alice+a+b@example.test", '+', AUTH_RESOLVE_LOCAL,
		      "alice@example.test", "");
	check_resolve(f->db, "alice+news@example.test", '\0', AUTH_RESOLVE_UNKNOWN, "", "");
	check_resolve(f->db, "alice-news@example.test", '-', AUTH_RESOLVE_LOCAL,
		      "alice@example.test", "");
	check_resolve(f->db, "+news@example.test", '+', AUTH_RESOLVE_UNKNOWN, "", "");
	/* An exact user containing the delimiter wins. */
	check_resolve(f->db, "carol+x@example.test", '+', AUTH_RESOLVE_LOCAL,
		      "carol+x@example.test", "");
	check_resolve(f->db, "carol+y@example.test", '+', AUTH_RESOLVE_UNKNOWN, "", "");

	/* Aliases: local and remote, recursive, de-duplicated. */
	add_alias(f->db, "team@example.test", "alice@example.test", "bob@example.test");
	add_alias(f->db, "all@example.test", "team@example.test", "Alice@example.test");
	add_alias(f->db, "ext@example.test", "John@Remote.Example", "alice@example.test");
	add_alias(f->db, "everyone@example.test", "all@example.test", "ext@example.test");
	check_resolve(f->db, "everyone@example.test", '+', AUTH_RESOLVE_LOCAL,
		      "alice@example.test bob@example.test", "John@remote.example");
	check_resolve(f->db, "team+x@example.test", '+', AUTH_RESOLVE_LOCAL,
		      "alice@example.test bob@example.test", "");
	/* Only remote targets still count as ours. */
	add_alias(f->db, "fwd@example.test", "x@remote.example", NULL);
	check_resolve(f->db, "fwd@example.test", '+', AUTH_RESOLVE_LOCAL, "", "x@remote.example");
	/* An alias shadows a user of the same name (forwarding)... */
	add_alias(f->db, "bob@example.test", "x@remote.example", NULL);
	check_resolve(f->db, "bob@example.test", '+', AUTH_RESOLVE_LOCAL, "", "x@remote.example");
	/* ...unless it names itself: keep a copy, no loop. */
	add_alias(f->db, "bob@example.test", "bob@example.test", NULL);
	check_resolve(f->db, "bob@example.test", '+', AUTH_RESOLVE_LOCAL, "bob@example.test",
		      "x@remote.example");

	/* Loops end and count as unknown when they lead nowhere. */
	add_alias(f->db, "loop1@example.test", "loop2@example.test", NULL);
	add_alias(f->db, "loop2@example.test", "loop1@example.test", NULL);
	check_resolve(f->db, "loop1@example.test", '+', AUTH_RESOLVE_UNKNOWN, "", "");
	add_alias(f->db, "loop2@example.test", "alice@example.test", NULL);
	check_resolve(f->db, "loop1@example.test", '+', AUTH_RESOLVE_LOCAL, "alice@example.test", "");
	/* Dangling targets: unknown. */
	add_alias(f->db, "ghost@example.test", "nobody@example.test", NULL);
	check_resolve(f->db, "ghost@example.test", '+', AUTH_RESOLVE_UNKNOWN, "", "");

	/* A chain deeper than the limit is cut. */
	for (int i = 0; i < 20; i++) {
		char src[64], dst[64];
		snprintf(src, sizeof(src), "chain%d@example.test", i);
		snprintf(dst, sizeof(dst), "chain%d@example.test", i + 1);
		add_alias(f->db, src, dst, NULL);
	}
	add_alias(f->db, "chain20@example.test", "alice@example.test", NULL);
	check_resolve(f->db, "chain10@example.test", '+', AUTH_RESOLVE_LOCAL,
		      "alice@example.test", "");
	check_resolve(f->db, "chain0@example.test", '+', AUTH_RESOLVE_UNKNOWN, "", "");

	/* Catch-all: after users and after stripping the extension. */
	add_alias(f->db, "@catch.test", "alice@example.test", NULL);
	check_resolve(f->db, "dave@catch.test", '+', AUTH_RESOLVE_LOCAL, "dave@catch.test", "");
	check_resolve(f->db, "dave+tag@catch.test", '+', AUTH_RESOLVE_LOCAL, "dave@catch.test", "");
	check_resolve(f->db, "anything@catch.test", '+', AUTH_RESOLVE_LOCAL,
		      "alice@example.test", "");
	check_resolve(f->db, "Strange!Name@catch.test", '+', AUTH_RESOLVE_LOCAL,
		      "alice@example.test", "");
	/* A catch-all pointing back into its own domain does not loop. */
	add_alias(f->db, "@example.test", "nobody2@example.test", NULL);
	check_resolve(f->db, "unknown@example.test", '+', AUTH_RESOLVE_UNKNOWN, "", "");

	/* One r collects several recipients without duplicates. */
	struct auth_resolved r;
	auth_resolved_init(&r);
	assert_int_equal(auth_resolve(f->db, "alice@example.test", '+', &r), AUTH_RESOLVE_LOCAL);
	assert_int_equal(auth_resolve(f->db, "team@example.test", '+', &r), AUTH_RESOLVE_LOCAL);
	assert_int_equal(auth_resolve(f->db, "alice+x@example.test", '+', &r), AUTH_RESOLVE_LOCAL);
	assert_int_equal(r.local.n, 2);
	auth_resolved_free(&r);

	/* Changes are seen by another handle at once (a running server). */
	struct auth_db *db2 = auth_db_open(f->cfg, false, &error);
	assert_non_null(db2);
	check_resolve(db2, "new@example.test", '+', AUTH_RESOLVE_UNKNOWN, "", "");
	OK(auth_db_user_add(f->db, "new@example.test", &error));
	check_resolve(db2, "new@example.test", '+', AUTH_RESOLVE_LOCAL, "new@example.test", "");
	auth_db_close(&db2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_domains_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
