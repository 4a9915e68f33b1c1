/* test_auth_server.c — end-to-end test of the auth process: a forked
 * auth_server_run() on a temporary data directory, driven through
 * auth_client over the unix socket: VERIFY, PLAIN, LOGIN, SCRAM-SHA-256
 * (with a client written here), cancel, the throttle's blocks, account
 * changes while running, SIGHUP, and reconnection after a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include "auth_base64.h"
#include "auth_client.h"
#include "auth_db.h"
#include "auth_passwd.h"
#include "auth_scram.h"
#include "auth_server.h"
#include "fsutil.h"

static char dir[64];
static char conf_path[128];
static struct config *cfg;
static pid_t server_pid;
static uv_loop_t loop;
static struct auth_client *ac;

static void write_config(unsigned block_after)
{
	char *text = x_asprintf("data_dir = data\npassword_scheme = sha512-crypt\n"
				"auth_fail_delay_max = 0\nauth_fail_block_after = %u\n"
				"auth_fail_block_time = 1h\n", block_after);
	assert_int_equal(write_file_durable(conf_path, text, strlen(text), 0644), 0);
	free(text);
}

static void start_server(void)
{
	char *sock = auth_server_socket_path(cfg);
	unlink(sock);
	server_pid = fork();
	assert_true(server_pid >= 0);
	if (server_pid == 0)
		_exit(auth_server_run(cfg) == 0 ? 0 : 1);
	for (int i = 0; i < 500 && access(sock, F_OK) < 0; i++)
		usleep(10000);
	assert_int_equal(access(sock, F_OK), 0);
	free(sock);
}

static int stop_server(void)
{
	int status;
	kill(server_pid, SIGTERM);
	assert_int_equal(waitpid(server_pid, &status, 0), server_pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void add_user(const char *address, const char *password, bool enabled)
{
	const char *error;
	struct auth_db *db = auth_db_open(cfg, false, &error);
	assert_non_null(db);
	assert_int_equal(auth_db_user_add(db, address, &error), 0);
	if (!enabled)
		assert_int_equal(auth_db_user_set_enabled(db, address, false, &error), 0);
	auth_db_close(&db);
	struct auth_passwd *pw = auth_passwd_open(cfg, true, &error);
	assert_non_null(pw);
	if (password[0] == '{')
		assert_int_equal(auth_passwd_set_hash(pw, address, password, &error), 0);
	else
		assert_int_equal(auth_passwd_set(pw, address, password, &error), 0);
	auth_passwd_close(&pw);
}

static int setup(void **state)
{
	(void)state;
	alarm(60);	/* a hang is a failure */
	signal(SIGPIPE, SIG_IGN);	/* as in every correu process */
	strcpy(dir, "/tmp/correu-test-authsrv-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/correu.conf", dir);
	write_config(3);
	cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	if (cfg_read(cfg, conf_path, &errors) < 0)
		return -1;
	strv_free(&errors);
	const char *error;
	struct auth_db *db = auth_db_open(cfg, true, &error);
	if (db == NULL || auth_db_domain_add(db, "example.test", &error) < 0)
		return -1;
	auth_db_close(&db);
	add_user("alice@example.test", "alice pw", true);
	add_user("dave@example.test", "dave pw", false);
	/* doveadm pw -s SHA512-CRYPT -p 'test pass ü': no SCRAM keys. */
	add_user("erin@example.test", "{SHA512-CRYPT}$6$JOEHmprYB1/3LUZ/$UC221rKn88Zv6zhXTXe0maEV1bn9xWFauPX3qZbUd0x28fqJdLa7bmvmHZS0V3gAN2yj/.YzL7eQwVH66Gzy31", true);
	add_user("gina@example.test", "{BLF-CRYPT}$2y$05$TvJmVLIKb1wIpqC/jX4GVe8VZaZiT48txTVGRrmdRGsxAex7LiL5S", true);
	start_server();
	uv_loop_init(&loop);
	ac = auth_client_new(&loop, cfg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	auth_client_free(&ac);
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
	if (server_pid > 0)
		assert_int_equal(stop_server(), 0);
	cfg_free(&cfg);
	remove_tree(dir);
	return 0;
}

/* ---- waiting for callbacks ---- */

struct result {
	bool done;
	enum auth_verdict v;
	char *data;
	struct auth_request *req;
};

static void got(enum auth_verdict v, const char *data, void *ctx)
{
	struct result *r = ctx;
	r->done = true;
	r->v = v;
	free(r->data);
	r->data = data != NULL ? x_strdup(data) : NULL;
}

static void wait_result(struct result *r)
{
	while (!r->done)
		uv_run(&loop, UV_RUN_ONCE);
	r->done = false;
}

static enum auth_verdict verify(const char *ip, const char *user, const char *pw, char **user_r)
{
	struct result r = { 0 };
	r.req = auth_client_verify(ac, "imap", ip, user, pw, got, &r);
	wait_result(&r);
	if (user_r != NULL)
		*user_r = r.data;
	else
		free(r.data);
	return r.v;
}

static enum auth_verdict sasl_start(struct result *r, const char *ip, const char *mech,
				    const char *ir)
{
	r->req = auth_client_sasl_start(ac, "smtp", ip, mech, ir, got, r);
	wait_result(r);
	return r->v;
}

static enum auth_verdict sasl_cont(struct result *r, const char *resp)
{
	auth_client_sasl_continue(r->req, resp, got, r);
	wait_result(r);
	return r->v;
}

static char *b64(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	auth_base64_encode(s, len, &b);
	return buf_steal(&b);
}

/* ---- tests ---- */

static void test_verify(void **state)
{
	(void)state;
	char *user;
	assert_int_equal(verify("192.0.2.1", "alice@example.test", "alice pw", &user), AUTH_OK);
	assert_string_equal(user, "alice@example.test");
	free(user);
	assert_int_equal(verify("192.0.2.1", "ALICE@Example.Test", "alice pw", &user), AUTH_OK);
	assert_string_equal(user, "alice@example.test");
	free(user);
	assert_int_equal(verify("192.0.2.2", "alice@example.test", "wrong", NULL), AUTH_FAILED);
	assert_int_equal(verify("192.0.2.3", "nobody@example.test", "x", NULL), AUTH_FAILED);
	assert_int_equal(verify("192.0.2.4", "not an address", "x", NULL), AUTH_FAILED);
	assert_int_equal(verify("192.0.2.5", "dave@example.test", "dave pw", NULL), AUTH_FAILED);
	/* Fields with protocol characters survive. */
	assert_int_equal(verify("192.0.2.6", "alice@example.test", "alice\tpw\n", NULL), AUTH_FAILED);
	/* Imported Dovecot hash. */
	assert_int_equal(verify("192.0.2.7", "erin@example.test", "test pass \xc3\xbc", NULL), AUTH_OK);
	/* Many at once, answered in any order. A success first clears the
	 * account's two failures above, and only two of the eight fail: they
	 * complete in any order, so three failures (block_after) could block
	 * the rest before their turn. */
	assert_int_equal(verify("192.0.2.8", "alice@example.test", "alice pw", NULL), AUTH_OK);
	struct result r[8] = { 0 };
	for (int i = 0; i < 8; i++)
		r[i].req = auth_client_verify(ac, "pop3", "192.0.2.8", "alice@example.test",
					      i % 4 ? "alice pw" : "bad", got, &r[i]);
	for (int i = 0; i < 8; i++) {
		wait_result(&r[i]);
		assert_int_equal(r[i].v, i % 4 ? AUTH_OK : AUTH_FAILED);
		free(r[i].data);
	}
}

static void test_plain_login(void **state)
{
	(void)state;
	struct result r = { 0 };
	char *ir = b64("\0alice@example.test\0alice pw", 28);
	assert_int_equal(sasl_start(&r, "192.0.2.10", "PLAIN", ir), AUTH_OK);
	assert_string_equal(r.data, "alice@example.test");
	/* No initial response: an empty challenge, then the message. */
	assert_int_equal(sasl_start(&r, "192.0.2.10", "plain", NULL), AUTH_CONTINUE);
	assert_string_equal(r.data, "");
	assert_int_equal(sasl_cont(&r, ir), AUTH_OK);
	free(ir);
	/* "=": an empty initial response, which PLAIN refuses. */
	assert_int_equal(sasl_start(&r, "192.0.2.11", "PLAIN", "="), AUTH_FAILED);
	assert_int_equal(sasl_start(&r, "192.0.2.12", "PLAIN", "not base64!"), AUTH_FAILED);
	ir = b64("\0alice@example.test\0wrong", 25);
	assert_int_equal(sasl_start(&r, "192.0.2.13", "PLAIN", ir), AUTH_FAILED);
	free(ir);

	assert_int_equal(sasl_start(&r, "192.0.2.14", "LOGIN", NULL), AUTH_CONTINUE);
	assert_string_equal(r.data, "VXNlcm5hbWU6");	/* Username: */
	char *u = b64("alice@example.test", 18), *p = b64("alice pw", 8);
	assert_int_equal(sasl_cont(&r, u), AUTH_CONTINUE);
	assert_string_equal(r.data, "UGFzc3dvcmQ6");	/* Password: */
	assert_int_equal(sasl_cont(&r, p), AUTH_OK);
	assert_string_equal(r.data, "alice@example.test");
	/* LOGIN with the user name as initial response. */
	assert_int_equal(sasl_start(&r, "192.0.2.14", "LOGIN", u), AUTH_CONTINUE);
	assert_int_equal(sasl_cont(&r, p), AUTH_OK);
	free(u);
	free(p);
	assert_int_equal(sasl_start(&r, "192.0.2.15", "CRAM-MD5", NULL), AUTH_FAILED);
	free(r.data);
}

/* A SCRAM-SHA-256 client: returns the final verdict. */
static enum auth_verdict scram_login(const char *ip, const char *user, const char *password)
{
	struct result r = { 0 };
	char *bare = x_asprintf("n=%s,r=fyko+d2lbbFgONRv9qkxdawL", user);
	char *first = x_asprintf("n,,%s", bare);
	char *ir = b64(first, strlen(first));
	enum auth_verdict v = sasl_start(&r, ip, "SCRAM-SHA-256", ir);
	free(ir);
	free(first);
	if (v != AUTH_CONTINUE) {
		free(bare);
		free(r.data);
		return v;
	}
	struct buf sf = BUF_INIT, salt = BUF_INIT;
	assert_int_equal(auth_base64_decode(r.data, strlen(r.data), &sf), 0);
	/* r=<nonce>,s=<salt>,i=<iterations> */
	char *nonce = x_strndup(sf.data + 2, (size_t)(strstr(sf.data, ",s=") - sf.data - 2));
	assert_true(strncmp(nonce, "fyko+d2lbbFgONRv9qkxdawL", 24) == 0);
	assert_true(strlen(nonce) > 24);
	const char *s = strstr(sf.data, ",s=") + 3;
	const char *i = strstr(sf.data, ",i=");
	assert_int_equal(auth_base64_decode(s, (size_t)(i - s), &salt), 0);
	unsigned iter = (unsigned)atoi(i + 3);
	unsigned char salted[32], client_key[32], stored[32], sig[32], proof[32], server_key[32];
	auth_pbkdf2_sha256(password, strlen(password), salt.data, salt.len, iter, salted);
	auth_hmac_sha256(salted, 32, "Client Key", 10, client_key);
	auth_sha256(client_key, 32, stored);
	auth_hmac_sha256(salted, 32, "Server Key", 10, server_key);
	char *without_proof = x_asprintf("c=biws,r=%s", nonce);
	char *am = x_asprintf("%s,%s,%s", bare, sf.data, without_proof);
	auth_hmac_sha256(stored, 32, am, strlen(am), sig);
	for (int k = 0; k < 32; k++)
		proof[k] = client_key[k] ^ sig[k];
	struct buf fin = BUF_INIT;
	buf_appendf(&fin, "%s,p=", without_proof);
	auth_base64_encode(proof, 32, &fin);
	char *fin64 = b64(fin.data, fin.len);
	v = sasl_cont(&r, fin64);
	if (v == AUTH_CONTINUE) {
		/* The server proves it knows the ServerKey too. */
		struct buf want = BUF_INIT, got_v = BUF_INIT;
		auth_hmac_sha256(server_key, 32, am, strlen(am), sig);
		buf_append_str(&want, "v=");
		auth_base64_encode(sig, 32, &want);
		assert_int_equal(auth_base64_decode(r.data, strlen(r.data), &got_v), 0);
		assert_string_equal(got_v.data, want.data);
		buf_free(&want);
		buf_free(&got_v);
		v = sasl_cont(&r, "");
		if (v == AUTH_OK) {
			char *canonical = str_lower(x_strdup(user));
			assert_string_equal(r.data, canonical);
			free(canonical);
		}
	}
	free(fin64);
	buf_free(&fin);
	free(am);
	free(without_proof);
	free(nonce);
	buf_free(&sf);
	buf_free(&salt);
	free(bare);
	free(r.data);
	return v;
}

static void test_scram(void **state)
{
	(void)state;
	assert_int_equal(scram_login("192.0.2.20", "alice@example.test", "alice pw"), AUTH_OK);
	assert_int_equal(scram_login("192.0.2.21", "Alice@Example.test", "alice pw"), AUTH_OK);
	assert_int_equal(scram_login("192.0.2.22", "alice@example.test", "wrong"), AUTH_FAILED);
	/* Unknown users go through the same steps and fail at the end. */
	assert_int_equal(scram_login("192.0.2.23", "nobody@example.test", "x"), AUTH_FAILED);
	assert_int_equal(scram_login("192.0.2.24", "dave@example.test", "dave pw"), AUTH_FAILED);
	/* An imported crypt hash has no SCRAM keys until a PLAIN login. */
	assert_int_equal(scram_login("192.0.2.25", "gina@example.test", "test pass \xc3\xbc"),
			 AUTH_FAILED);
	char *ir = b64("\0gina@example.test\0test pass \xc3\xbc", 31);
	struct result r = { 0 };
	assert_int_equal(sasl_start(&r, "192.0.2.25", "PLAIN", ir), AUTH_OK);
	free(ir);
	free(r.data);
	assert_int_equal(scram_login("192.0.2.25", "gina@example.test", "test pass \xc3\xbc"),
			 AUTH_OK);
}

static void test_cancel(void **state)
{
	(void)state;
	struct result r = { 0 }, r2 = { 0 };
	assert_int_equal(sasl_start(&r, "192.0.2.30", "LOGIN", NULL), AUTH_CONTINUE);
	auth_request_cancel(r.req);
	/* A cancelled VERIFY never calls back, the connection goes on. */
	struct auth_request *req = auth_client_verify(ac, "imap", "192.0.2.30",
						      "alice@example.test", "alice pw", got, &r2);
	auth_request_cancel(req);
	assert_int_equal(verify("192.0.2.30", "alice@example.test", "alice pw", NULL), AUTH_OK);
	assert_false(r2.done);
	/* The cancelled exchange is gone on the server too. */
	char *u = b64("alice@example.test", 18);
	assert_int_equal(sasl_start(&r, "192.0.2.30", "LOGIN", NULL), AUTH_CONTINUE);
	assert_int_equal(sasl_cont(&r, u), AUTH_CONTINUE);
	free(u);
	free(r.data);
	auth_request_cancel(r.req);
	assert_int_equal(verify("192.0.2.30", "alice@example.test", "alice pw", NULL), AUTH_OK);
}

static void test_throttle(void **state)
{
	(void)state;
	/* block_after = 3: per IP... */
	assert_int_equal(verify("198.51.100.1", "a@example.test", "x", NULL), AUTH_FAILED);
	assert_int_equal(verify("198.51.100.1", "b@example.test", "x", NULL), AUTH_FAILED);
	assert_int_equal(verify("198.51.100.1", "alice@example.test", "x", NULL), AUTH_FAILED);
	assert_int_equal(verify("198.51.100.1", "alice@example.test", "alice pw", NULL),
			 AUTH_BLOCKED);
	struct result r = { 0 };
	assert_int_equal(sasl_start(&r, "198.51.100.1", "PLAIN", NULL), AUTH_BLOCKED);
	assert_int_equal(verify("198.51.100.2", "alice@example.test", "alice pw", NULL), AUTH_OK);
	/* ...and per account, unknown ones alike, over every mechanism. */
	assert_int_equal(verify("198.51.100.3", "ghost@example.test", "x", NULL), AUTH_FAILED);
	assert_int_equal(scram_login("198.51.100.4", "ghost@example.test", "x"), AUTH_FAILED);
	char *ir = b64("\0ghost@example.test\0x", 21);
	assert_int_equal(sasl_start(&r, "198.51.100.5", "PLAIN", ir), AUTH_FAILED);
	assert_int_equal(sasl_start(&r, "198.51.100.6", "PLAIN", ir), AUTH_BLOCKED);
	free(ir);
	assert_int_equal(scram_login("198.51.100.7", "Ghost@example.test", "x"), AUTH_BLOCKED);
	free(r.data);

	/* SIGHUP re-reads the configuration: a higher limit lifts blocks. */
	write_config(100);
	kill(server_pid, SIGHUP);
	enum auth_verdict v = AUTH_BLOCKED;
	for (int i = 0; i < 200 && v == AUTH_BLOCKED; i++) {
		v = verify("198.51.100.1", "alice@example.test", "alice pw", NULL);
		if (v == AUTH_BLOCKED)
			usleep(10000);
	}
	assert_int_equal(v, AUTH_OK);
	write_config(3);
	kill(server_pid, SIGHUP);
}

static void test_live_changes_and_restart(void **state)
{
	(void)state;
	/* Accounts added while running work at once. */
	assert_int_equal(verify("203.0.113.1", "frank@example.test", "frank pw", NULL), AUTH_FAILED);
	add_user("frank@example.test", "frank pw", true);
	assert_int_equal(verify("203.0.113.1", "frank@example.test", "frank pw", NULL), AUTH_OK);
	const char *error;
	struct auth_db *db = auth_db_open(cfg, false, &error);
	assert_int_equal(auth_db_user_set_enabled(db, "frank@example.test", false, &error), 0);
	auth_db_close(&db);
	assert_int_equal(verify("203.0.113.1", "frank@example.test", "frank pw", NULL), AUTH_FAILED);

	/* SIGTERM: a clean exit; after waiting for it a while, the client
	 * reports TEMPFAIL, then reconnects to the next auth process. */
	assert_int_equal(stop_server(), 0);
	server_pid = 0;
	assert_int_equal(verify("203.0.113.2", "alice@example.test", "alice pw", NULL),
			 AUTH_TEMPFAIL);
	struct result r = { 0 };
	start_server();
	assert_int_equal(verify("203.0.113.2", "alice@example.test", "alice pw", NULL), AUTH_OK);
	/* Requests made while it restarts wait for it. */
	assert_int_equal(stop_server(), 0);
	struct result r2 = { 0 };
	auth_client_verify(ac, "imap", "203.0.113.2", "alice@example.test", "alice pw", got, &r2);
	uv_run(&loop, UV_RUN_NOWAIT);
	start_server();
	wait_result(&r2);
	assert_int_equal(r2.v, AUTH_OK);
	free(r2.data);
	/* A waiting exchange fails when the auth process goes away. */
	assert_int_equal(sasl_start(&r, "203.0.113.3", "LOGIN", NULL), AUTH_CONTINUE);
	assert_int_equal(stop_server(), 0);
	wait_result(&r);
	assert_int_equal(r.v, AUTH_TEMPFAIL);
	free(r.data);
	start_server();
	assert_int_equal(verify("203.0.113.2", "alice@example.test", "alice pw", NULL), AUTH_OK);
}

static void test_mechanisms(void **state)
{
	(void)state;
	assert_string_equal(auth_client_mechanisms(ac, true), "SCRAM-SHA-256 PLAIN LOGIN");
	assert_null(auth_client_mechanisms(ac, false));
	struct config *c2 = cfg_new();
	c2->auth_allow_plaintext = true;
	struct auth_client *ac2 = auth_client_new(&loop, c2);
	assert_string_equal(auth_client_mechanisms(ac2, false), "SCRAM-SHA-256 PLAIN LOGIN");
	auth_client_free(&ac2);
	cfg_free(&c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_plain_login),
		cmocka_unit_test(test_scram),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_live_changes_and_restart),
		cmocka_unit_test(test_mechanisms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
