/* test_mime.c — unit tests for mail_mime.c, mail_bodystructure.c,
 * mail_envelope.c and mail_section.c: the corpus in tests/data/mime must
 * give Dovecot's BODYSTRUCTURE, BODY and ENVELOPE (recorded by
 * dovecot-expected.sh) whether fed whole, one byte at a time or in odd
 * chunks; exact offsets, sizes and line counts; sections; limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mime_corpus.h"
#include "mail_bodystructure.h"
#include "mail_envelope.h"
#include "mail_header.h"
#include "mail_section.h"

static const char *const corpus[] = {
	"simple", "alt_related", "nested_rfc822", "encoded_words", "rfc2231",
	"missing_boundary", "no_boundary_param", "header_8bit",
	"deep_nesting", "many_parts", "digest", "lf_only", "truncated",
	"groups", "empty_parts", "params_case", "boundary_prefix",
	"no_parts", "base64_rfc822", "no_header_end", "empty",
	"body_no_newline",
};

static char *format_all(const struct mail_part *root, size_t *len_r)
{
	struct buf o = BUF_INIT;
	mail_bodystructure_write(root, true, false, &o);
	buf_append_char(&o, '\n');
	mail_bodystructure_write(root, false, false, &o);
	buf_append_char(&o, '\n');
	mail_envelope_write(root->envelope, false, &o);
	buf_append_char(&o, '\n');
	*len_r = o.len;
	return buf_steal(&o);
}

/* Compares two trees field by field (offsets, sizes, lines, flags). */
static void assert_same_tree(const struct mail_part *a, const struct mail_part *b)
{
	const struct mail_part *pa = a, *pb = b;
	while (pa != NULL && pb != NULL) {
		assert_int_equal(pa->header.offset, pb->header.offset);
		assert_int_equal(pa->header.size, pb->header.size);
		assert_int_equal(pa->header.lines, pb->header.lines);
		assert_int_equal(pa->body.offset, pb->body.offset);
		assert_int_equal(pa->body.size, pb->body.size);
		assert_int_equal(pa->body.vsize, pb->body.vsize);
		assert_int_equal(pa->body.lines, pb->body.lines);
		assert_int_equal(pa->flags, pb->flags);
		assert_string_equal(pa->type, pb->type);
		pa = mail_part_next_dfs(a, pa);
		pb = mail_part_next_dfs(b, pb);
	}
	assert_null(pa);
	assert_null(pb);
}

static void test_corpus_matches_dovecot(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(corpus); i++) {
		size_t len, elen;
		char *msg = corpus_read(corpus[i], ".eml", &len);
		char *exp = corpus_read(corpus[i], ".expected", &elen);
		assert_non_null(msg);
		assert_non_null(exp);
		struct mail_part *whole = parse_chunked(msg, len, 0);
		size_t glen;
		char *got = format_all(whole, &glen);
		if (glen != elen || memcmp(got, exp, elen) != 0)
			fail_msg("%s: got\n%s\nexpected\n%s", corpus[i], got, exp);
		/* any chunking gives the same tree */
		static const size_t chunks[] = { 1, 2, 3, 7, 64, 1000 };
		for (size_t c = 0; c < N_ELEMENTS(chunks); c++) {
			struct mail_part *t = parse_chunked(msg, len, chunks[c]);
			assert_same_tree(whole, t);
			mail_part_free(&t);
		}
		/* every range lies inside the message */
		for (const struct mail_part *p = whole; p != NULL; p = mail_part_next_dfs(whole, p)) {
			assert_true(p->header.offset + p->header.size <= len);
			assert_true(p->body.offset + p->body.size <= len);
			assert_true(p->header.offset + p->header.size <= p->body.offset);
		}
		free(got);
		mail_part_free(&whole);
		assert_null(whole);
		free(msg);
		free(exp);
	}
}

static const char nested[] =
	"Subject: outer\r\n"
	"Content-Type: multipart/mixed; boundary=\"b\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--b\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"one\r\ntwo\r\n"
	"\r\n--b\r\n"			/* the CRLF before belongs to it */
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner\r\n"
	"\r\n"
	"inner body\r\n"
	"--b--\r\n"
	"epilogue\r\n";

static void test_offsets(void **state)
{
	(void)state;
	size_t len = sizeof(nested) - 1;
	struct mail_part *root = parse_chunked(nested, len, 1);
	size_t hdr_end = (size_t)(strstr(nested, "preamble") - nested);
	assert_int_equal(root->header.offset, 0);
	assert_int_equal(root->header.size, hdr_end);
	assert_int_equal(root->header.lines, 3);
	assert_int_equal(root->body.offset, hdr_end);
	assert_int_equal(root->body.size, len - hdr_end);
	assert_true(root->flags & MAIL_PART_MULTIPART);
	assert_int_equal(root->nchildren, 2);

	const struct mail_part *t = root->children;
	size_t t_hdr = (size_t)(strstr(nested, "Content-Type: text/plain") - nested);
	size_t t_body = (size_t)(strstr(nested, "one\r\n") - nested);
	assert_int_equal(t->header.offset, t_hdr);
	assert_int_equal(t->header.size, t_body - t_hdr);
	assert_int_equal(t->body.offset, t_body);
	assert_int_equal(t->body.size, 10);	/* "one\r\ntwo\r\n": the next
						   CRLF is the boundary's */
	assert_int_equal(t->body.lines, 2);
	assert_true(t->flags & MAIL_PART_TEXT);

	const struct mail_part *m = t->next;
	assert_true(m->flags & MAIL_PART_MESSAGE);
	const char *inner = strstr(nested, "Subject: inner");
	assert_int_equal(m->body.offset, (uint64_t)(inner - nested));
	assert_int_equal(m->body.size, strlen("Subject: inner\r\n\r\ninner body"));
	assert_int_equal(m->body.lines, 2);
	const struct mail_part *c = m->children;
	assert_non_null(c);
	assert_non_null(c->envelope);
	assert_string_equal(c->envelope->fields[MAIL_ENVELOPE_SUBJECT], "inner");
	assert_int_equal(c->header.size, strlen("Subject: inner\r\n\r\n"));
	assert_int_equal(c->body.size, strlen("inner body"));
	assert_int_equal(c->body.lines, 0);
	mail_part_free(&root);
}

static void test_lf_vsize(void **state)
{
	(void)state;
	const char *msg = "Subject: x\n\nline one\nline two\n";
	struct mail_part *root = mail_mime_parse(msg, strlen(msg), NULL);
	assert_int_equal(root->header.size, 12);
	assert_int_equal(root->header.vsize, 14);
	assert_int_equal(root->body.size, 18);
	assert_int_equal(root->body.vsize, 20);
	assert_int_equal(root->body.lines, 2);
	mail_part_free(&root);
}

static void locate(const struct mail_part *root, const char *spec,
		   const char *msg, const char *expect)
{
	struct mail_section sec;
	const char *error;
	struct mail_section_range r;
	if (mail_section_parse(spec, strlen(spec), &sec, &error) < 0)
		fail_msg("parse %s: %s", spec, error);
	bool found = mail_section_locate(root, &sec, &r);
	if (expect == NULL) {
		assert_false(found);
	} else {
		assert_true(found);
		if (r.size != strlen(expect) || memcmp(msg + r.offset, expect, r.size) != 0)
			fail_msg("section %s: got '%.*s'", spec, (int)r.size, msg + r.offset);
	}
	mail_section_free(&sec);
}

static void test_sections(void **state)
{
	(void)state;
	struct mail_part *root = mail_mime_parse(nested, sizeof(nested) - 1, NULL);
	locate(root, "1", nested, "one\r\ntwo\r\n");
	locate(root, "1.MIME", nested, "Content-Type: text/plain\r\n\r\n");
	locate(root, "2.HEADER", nested, "Subject: inner\r\n\r\n");
	locate(root, "2.TEXT", nested, "inner body");
	locate(root, "2.1", nested, "inner body");
	locate(root, "2", nested, "Subject: inner\r\n\r\ninner body");
	locate(root, "HEADER", nested,
	       "Subject: outer\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
	locate(root, "", nested, nested);
	locate(root, "3", nested, NULL);
	locate(root, "1.HEADER", nested, NULL);	/* text part: no header */
	locate(root, "1.2", nested, NULL);
	mail_part_free(&root);

	/* a single-part message: part 1 is its body */
	const char *simple = "Subject: s\r\n\r\nbody\r\n";
	root = mail_mime_parse(simple, strlen(simple), NULL);
	locate(root, "1", simple, "body\r\n");
	locate(root, "TEXT", simple, "body\r\n");
	locate(root, "2", simple, NULL);
	mail_part_free(&root);

	struct mail_section sec;
	const char *error;
	static const char *const bad[] = {
		"0", "1.", "1..2", "FOO", "HEADER.FIELDS", "HEADER.FIELDS ()",
		"MIME", "TEXT junk", "1.2x", "HEADER.FIELDS (a",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (mail_section_parse(bad[i], strlen(bad[i]), &sec, &error) == 0)
			fail_msg("accepted bad section '%s'", bad[i]);
		mail_section_free(&sec);
	}
	assert_int_equal(mail_section_parse("1.2.HEADER.FIELDS.NOT (From \"To\")", 33,
					    &sec, &error), 0);
	assert_int_equal(sec.kind, MAIL_SECTION_HEADER_FIELDS_NOT);
	assert_int_equal(sec.nparts, 2);
	assert_int_equal(sec.fields.n, 2);
	assert_string_equal(sec.fields.v[1], "To");
	mail_section_free(&sec);
}

static void test_limits(void **state)
{
	(void)state;
	/* 5000 nested message/rfc822 headers: bounded depth, no recursion */
	struct buf b = BUF_INIT;
	for (int i = 0; i < 5000; i++)
		buf_append_str(&b, "Content-Type: message/rfc822\r\n\r\n");
	buf_append_str(&b, "end\r\n");
	struct mail_part *root = mail_mime_parse(b.data, b.len, NULL);
	unsigned int n = mail_part_count(root);
	assert_int_equal(n, 100);
	struct buf o = BUF_INIT;
	mail_bodystructure_write(root, true, false, &o);
	assert_non_null(strstr(o.data, "\"application\" \"octet-stream\""));
	buf_free(&o);
	mail_part_free(&root);
	buf_free(&b);

	/* part count limit */
	struct mail_mime_limits lim = { .max_parts = 50 };
	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=x\r\n\r\n");
	for (int i = 0; i < 200; i++)
		buf_append_str(&b, "--x\r\n\r\npart\r\n");
	buf_append_str(&b, "--x--\r\n");
	root = mail_mime_parse(b.data, b.len, &lim);
	assert_int_equal(mail_part_count(root), 50);
	assert_true(root->flags & MAIL_PART_LIMIT);
	mail_part_free(&root);
	buf_free(&b);

	/* a huge header field is cut but counted exactly */
	buf_append_str(&b, "Subject: ");
	for (int i = 0; i < 100000; i++)
		buf_append_str(&b, "xxxxxxxxxx");
	buf_append_str(&b, "\r\n\r\nbody");
	lim = (struct mail_mime_limits){ .max_field_size = 1000 };
	root = mail_mime_parse(b.data, b.len, &lim);
	assert_int_equal(root->header.size, b.len - 4);
	assert_true(strlen(root->envelope->fields[MAIL_ENVELOPE_SUBJECT]) < 1000);
	mail_part_free(&root);
	buf_free(&b);
}

static void test_defaults_and_fields(void **state)
{
	(void)state;
	const char *msg =
		"Content-Type: multipart/digest; boundary=d\r\n\r\n"
		"--d\r\n\r\nSubject: in digest\r\n\r\nx\r\n"
		"--d\r\nContent-Type: text/plain; charset=\"ISO-8859-1\"\r\n"
		"Content-Transfer-Encoding: Quoted-Printable\r\n"
		"Content-ID: <a@b>\r\nContent-Disposition: attachment;\r\n"
		" filename*=utf-8''%E2%82%AC.txt\r\n\r\n=E9\r\n--d--\r\n";
	struct mail_part *root = mail_mime_parse(msg, strlen(msg), NULL);
	const struct mail_part *d1 = root->children;
	assert_true(mail_part_is_type(d1, "message", "rfc822"));
	assert_true(d1->flags & MAIL_PART_CT_DEFAULT);
	assert_true(d1->flags & MAIL_PART_MESSAGE);
	const struct mail_part *t = d1->next;
	assert_string_equal(mail_part_charset(t), "ISO-8859-1");
	assert_int_equal(t->cte, MAIL_CTE_QP);
	assert_string_equal(t->cte_raw, "Quoted-Printable");
	assert_string_equal(t->id, "<a@b>");
	assert_string_equal(t->disposition, "attachment");
	struct buf name = BUF_INIT;
	assert_true(mail_param_get_utf8(&t->disp_params, "filename", &name));
	assert_string_equal(name.data, "\xe2\x82\xac.txt");
	buf_free(&name);
	mail_part_free(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_matches_dovecot),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_lf_vsize),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_defaults_and_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
