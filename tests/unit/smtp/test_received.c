/* test_received.c — unit tests for the trace header builder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "smtp_received.h"

static void test_received(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	struct buf b = BUF_INIT;
	struct smtp_trace t = {
		.helo = "client (evil)\r\nX-Injected: yes",
		.client_ip = "192.0.2.1",
		.hostname = "mx.example.org",
		.protocol = "ESMTPS",
		.queue_id = "ABC123",
		.tls_desc = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
		.for_rcpt = "bob@example.org",
		.when = 1700000000,
	};
	smtp_received_append(&b, &t);
	const char *s = buf_cstr(&b);
	assert_true(strncmp(s, "Received: from client__evil___X-Injected:_yes ([192.0.2.1])\r\n", 61) == 0);
	assert_non_null(strstr(s, "\tby mx.example.org (correu) with ESMTPS id ABC123\r\n"));
	assert_non_null(strstr(s, "\tfor <bob@example.org>;\r\n\tTue, 14 Nov 2023 22:13:20 +0000\r\n"));
	/* Exactly one header: every line after the first is folded. */
	for (const char *p = strstr(s, "\r\n"); p != NULL && p[2] != '\0'; p = strstr(p + 2, "\r\n"))
		assert_int_equal(p[2], '\t');
	buf_free(&b);
	assert_string_equal(smtp_protocol_name(false, false, false, false), "SMTP");
	assert_string_equal(smtp_protocol_name(true, true, true, false), "ESMTPSA");
	assert_string_equal(smtp_protocol_name(true, true, false, true), "UTF8SMTPS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_received),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
