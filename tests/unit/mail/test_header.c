/* test_header.c — unit tests for mail_header.c and mail_address.c:
 * field iteration with offsets, junk lines, unfolding, HEADER.FIELDS
 * filtering, address lists (groups, routes, comments, broken input) and
 * formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mail_address.h"
#include "mail_header.h"
#include "mail_subject.h"

static void test_iterate(void **state)
{
	(void)state;
	const char *h =
		"From: a@b\r\n"
		"Subject: one\r\n two\r\n\tthree\r\n"
		"junk line without colon\n"
		"X-8bit: caf\xe9\r\n"
		"Name-Space : v\r\n"
		"\r\n"
		"body: not a header\r\n";
	size_t len = strlen(h);
	struct mail_header_iter it;
	struct mail_header_field f;
	mail_header_iter_init(&it, h, len);
	assert_true(mail_header_iter_next(&it, &f));
	assert_true(mail_header_name_is(&f, "from"));
	assert_int_equal(f.offset, 0);
	assert_int_equal(f.size, 11);
	assert_int_equal(f.value_len, 4);
	assert_true(mail_header_iter_next(&it, &f));
	assert_true(mail_header_name_is(&f, "Subject"));
	assert_int_equal(f.offset, 11);
	assert_int_equal(f.size, strlen("Subject: one\r\n two\r\n\tthree\r\n"));
	char *v = mail_header_unfold_dup(f.value, f.value_len);
	assert_string_equal(v, "one two\tthree");
	free(v);
	assert_true(mail_header_iter_next(&it, &f));
	assert_true(f.no_colon);
	assert_int_equal(f.name_len, strlen("junk line without colon"));
	assert_true(mail_header_iter_next(&it, &f));
	assert_true(mail_header_name_is(&f, "X-8bit"));
	assert_true(mail_header_iter_next(&it, &f));
	assert_true(mail_header_name_is(&f, "Name-Space"));
	assert_false(mail_header_iter_next(&it, &f));
	assert_true(it.have_end);
	assert_int_equal(it.body_offset, (size_t)(strstr(h, "body:") - h));

	bool complete;
	assert_int_equal(mail_header_size(h, len, &complete), it.body_offset);
	assert_true(complete);
	assert_int_equal(mail_header_size("A: b\r\nC: d", 10, &complete), 10);
	assert_false(complete);

	char *got = mail_header_get(h, len, "SUBJECT");
	assert_string_equal(got, "one two\tthree");
	free(got);
	assert_null(mail_header_get(h, len, "body"));
}

static void test_filter(void **state)
{
	(void)state;
	const char *h = "From: a\nTo: b\r\nSubject: s\n x\nCc: c\r\n\r\n";
	const char *names[] = { "subject", "FROM" };
	struct buf out = BUF_INIT;
	mail_header_filter(h, strlen(h), names, 2, false, &out);
	assert_string_equal(out.data, "From: a\r\nSubject: s\r\n x\r\n\r\n");
	buf_reset(&out);
	mail_header_filter(h, strlen(h), names, 2, true, &out);
	assert_string_equal(out.data, "To: b\r\nCc: c\r\n\r\n");
	buf_reset(&out);
	/* unterminated last field gets its line ending */
	mail_header_filter("X: 1", 4, (const char *[]){ "x" }, 1, false, &out);
	assert_string_equal(out.data, "X: 1\r\n\r\n");
	buf_free(&out);
}

struct addr_case {
	const char *in;
	const char *expect;	/* "name|route|mailbox|domain" per entry,
				   joined with ";", NIL as "~" */
	const char *formatted;	/* NULL: not checked */
};

static void describe(const struct mail_address_list *l, struct buf *b)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct mail_address *a = &l->v[i];
		buf_appendf(b, "%s%s|%s|%s|%s", i ? ";" : "",
			    a->name ? a->name : "~", a->route ? a->route : "~",
			    a->mailbox ? a->mailbox : "~", a->domain ? a->domain : "~");
	}
}

static void test_addresses(void **state)
{
	(void)state;
	static const struct addr_case cases[] = {
		{ "a@b.example", "~|~|a|b.example", "a@b.example" },
		{ "\"Joe Q. Public\" <john.q.public@example.com>",
		  "Joe Q. Public|~|john.q.public|example.com",
		  "\"Joe Q. Public\" <john.q.public@example.com>" },
		{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
		  "Mary Smith|~|mary|x.test;~|~|jdoe|example.org;Who?|~|one|y.test",
		  "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>" },
		{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
		  "~|~|A Group|~;Ed Jones|~|c|a.test;~|~|joe|where.test;John|~|jdoe|one.test;~|~|~|~",
		  "A Group: Ed Jones <c@a.test>, joe@where.test, John <jdoe@one.test>;" },
		{ "Undisclosed recipients:;", "~|~|Undisclosed recipients|~;~|~|~|~",
		  "Undisclosed recipients:;" },
		{ "<@r1.example,@r2.example:u@example.com>",
		  "~|@r1.example,@r2.example|u|example.com", NULL },
		{ "u@example.com (Comment (nested) Name)",
		  "Comment (nested) Name|~|u|example.com", NULL },
		{ "\"quoted local\"@example.com", "~|~|quoted local|example.com",
		  "\"quoted local\"@example.com" },
		{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
		  "Pete|~|pete|silly.test", NULL },
		{ "broken@", "~|~|broken|MISSING_DOMAIN", NULL },
		{ "<>", "~|~|MISSING_MAILBOX|MISSING_DOMAIN", NULL },
		{ "just-a-name", "~|~|just-a-name|MISSING_DOMAIN", NULL },
		{ "<unclosed@example.com", "~|~|unclosed|SYNTAX_ERROR", NULL },
		{ "a@[192.0.2.1]", "~|~|a|[192.0.2.1]", NULL },
		{ "J\xc3\xb6rg <j@example.de>", "J\xc3\xb6rg|~|j|example.de", NULL },
		{ "", "", "" },
		{ " , ,, ", "", NULL },
		{ "a@b, ", "~|~|a|b", NULL },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct mail_address_list l;
		struct buf b = BUF_INIT;
		mail_address_parse(cases[i].in, strlen(cases[i].in), true, &l);
		describe(&l, &b);
		if (strcmp(buf_cstr(&b), cases[i].expect) != 0)
			fail_msg("'%s': got '%s' expected '%s'", cases[i].in,
				 buf_cstr(&b), cases[i].expect);
		if (cases[i].formatted != NULL) {
			buf_reset(&b);
			mail_address_format(&l, &b);
			if (strcmp(buf_cstr(&b), cases[i].formatted) != 0)
				fail_msg("format '%s': got '%s'", cases[i].in, buf_cstr(&b));
		}
		buf_free(&b);
		mail_address_list_free(&l);
	}
	/* without fill_missing the parts stay empty */
	struct mail_address_list l;
	mail_address_parse("nobody", 6, false, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].mailbox, "nobody");
	assert_string_equal(l.v[0].domain, "");
	assert_true(l.v[0].invalid);
	mail_address_list_free(&l);
}

static void test_address_junk(void **state)
{
	(void)state;
	/* every prefix of a messy list parses without crashing and the
	 * result formats again */
	const char *junk = "\"a\\\"b\" <x@y>, (c <d@e>, ;;:: <<@>>, "
		"g:h@i, \"unterminated <q@r>, [lit, x@y (z";
	for (size_t n = 0; n <= strlen(junk); n++) {
		struct mail_address_list l;
		mail_address_parse(junk, n, n % 2 == 0, &l);
		struct buf b = BUF_INIT;
		mail_address_format(&l, &b);
		buf_free(&b);
		mail_address_list_free(&l);
	}
}

static void test_subject_base(void **state)
{
	(void)state;
	static const struct { const char *in, *out; bool reply; } v[] = {
		{ "Hello", "Hello", false },
		{ "Re: Hello", "Hello", true },
		{ "RE: re:  Fwd: Hello (fwd)", "Hello", true },
		{ "Re[2]: Hello", "Hello", true },
		{ "[list] Re: Hello  ", "Hello", true },
		{ "[Fwd: Re: Hello]", "Hello", true },
		{ "[only a blob]", "[only a blob]", false },
		{ "  spaced\t  out\r\n  subject ", "spaced out subject", false },
		{ "=?utf-8?q?Re=3A_caf=C3=A9?=", "caf\xc3\xa9", true },
		{ "Fw : x", "x", true },
		{ "Reply", "Reply", false },
		{ "", "", false },
		{ "[", "[", false },
		{ "re:", "", true },
	};
	for (size_t i = 0; i < N_ELEMENTS(v); i++) {
		struct buf b = BUF_INIT;
		bool reply;
		mail_subject_base(v[i].in, strlen(v[i].in), &b, &reply);
		if (strcmp(buf_cstr(&b), v[i].out) != 0 || reply != v[i].reply)
			fail_msg("'%s': got '%s' reply %d", v[i].in, buf_cstr(&b), reply);
		buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iterate),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_address_junk),
		cmocka_unit_test(test_subject_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
