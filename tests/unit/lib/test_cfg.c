/* test_cfg.c — unit tests for the configuration parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cfg.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/correu-test-cfg-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_defaults(void **state)
{
	(void)state;
	struct config *cfg = cfg_new();
	assert_int_equal(cfg->smtp_port, 25);
	assert_int_equal(cfg->message_size_limit, 50 * 1024 * 1024);
	assert_string_equal(cfg->log_level, "info");
	assert_int_equal(cfg->listen.n, 2);
	cfg_free(&cfg);
	assert_null(cfg);
}

static void test_values(void **state)
{
	(void)state;
	char *path = write_tmp("# comment\n"
			       "hostname = mx.example.test  # trailing comment\n"
			       "smtp_port = 10025\n"
			       "listen = 127.0.0.1\n"
			       "listen = ::1\n"
			       "message_size_limit = 10M\n"
			       "smtp_timeout = 2m\n"
			       "auth_allow_plaintext = yes\n"
			       "tls_cert = tls/c.pem\n"
			       "data_dir = /abs/data\n");
	struct config *cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	assert_int_equal(cfg_read(cfg, path, &errors), 0);
	assert_int_equal(errors.n, 0);
	assert_string_equal(cfg->hostname, "mx.example.test");
	assert_int_equal(cfg->smtp_port, 10025);
	assert_int_equal(cfg->listen.n, 2);
	assert_string_equal(cfg->listen.v[1], "::1");
	assert_int_equal(cfg->message_size_limit, 10 * 1024 * 1024);
	assert_int_equal(cfg->smtp_timeout, 120);
	assert_true(cfg->auth_allow_plaintext);
	assert_string_equal(cfg->tls_cert, "/tmp/tls/c.pem");
	assert_string_equal(cfg->data_dir, "/abs/data");
	cfg_free(&cfg);
	unlink(path);
	free(path);
}

static void test_errors_have_lines(void **state)
{
	(void)state;
	char *path = write_tmp("smtp_port = 70000\n"
			       "no_such_key = 1\n"
			       "\n"
			       "just words\n"
			       "log_level = loud\n"
			       "auth_allow_plaintext = maybe\n");
	struct config *cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	assert_int_equal(cfg_read(cfg, path, &errors), -1);
	assert_int_equal(errors.n, 5);
	char want[256];
	snprintf(want, sizeof(want), "%s:1: ", path);
	assert_true(strncmp(errors.v[0], want, strlen(want)) == 0);
	assert_non_null(strstr(errors.v[1], ":2: unknown key \"no_such_key\""));
	assert_non_null(strstr(errors.v[2], ":4: "));
	assert_non_null(strstr(errors.v[3], ":5: log_level"));
	assert_non_null(strstr(errors.v[4], ":6: auth_allow_plaintext"));
	strv_free(&errors);
	cfg_free(&cfg);
	unlink(path);
	free(path);
}

static void test_trusted_proxies(void **state)
{
	(void)state;
	char *path = write_tmp("trusted_proxies = 192.0.2.7 2001:db8::/64\n"
			       "trusted_proxies = 10.0.0.0/8\n"
			       "trusted_proxies = 10.0.0.1/8 ::1\n"
			       "trusted_proxies = example.com\n");
	struct config *cfg = cfg_new();
	assert_int_equal(cfg->trusted_proxies.n, 0);
	struct strv errors;
	strv_init(&errors);
	assert_int_equal(cfg_read(cfg, path, &errors), -1);
	assert_int_equal(errors.n, 2);
	assert_non_null(strstr(errors.v[0], ":3: trusted_proxies: \"10.0.0.1/8\": "));
	assert_non_null(strstr(errors.v[1], ":4: trusted_proxies: \"example.com\": "));
	/* lines append; a line with an error adds nothing */
	assert_int_equal(cfg->trusted_proxies.n, 3);
	assert_string_equal(cfg->trusted_proxies.v[0], "192.0.2.7");
	assert_string_equal(cfg->trusted_proxies.v[1], "2001:db8::/64");
	assert_string_equal(cfg->trusted_proxies.v[2], "10.0.0.0/8");
	strv_free(&errors);
	cfg_free(&cfg);
	unlink(path);
	free(path);
}

static void test_every_key_has_default_and_doc(void **state)
{
	(void)state;
	for (size_t i = 0; i < cfg_keys_count; i++) {
		assert_non_null(cfg_keys[i].def);
		assert_true(strlen(cfg_keys[i].doc) > 10);
		assert_ptr_equal(cfg_key_find(cfg_keys[i].name), &cfg_keys[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors_have_lines),
		cmocka_unit_test(test_trusted_proxies),
		cmocka_unit_test(test_every_key_has_default_and_doc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
