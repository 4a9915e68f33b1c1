/* test_writer.c — unit tests for mail_date.c, mail_writer.c and
 * mail_downgrade.c: lenient date parsing and formatting, building DSN- and
 * compose-style messages and reading them back with the MIME parser, and
 * the 8-bit to 7-bit downgrade (structure kept, content decodes back). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mail_base64.h"
#include "mail_date.h"
#include "mail_downgrade.h"
#include "mail_header.h"
#include "mail_mime.h"
#include "mail_qp.h"
#include "mail_rfc2047.h"
#include "mail_writer.h"

static void test_dates(void **state)
{
	(void)state;
	static const struct { const char *in; time_t t; int tz; } v[] = {
		{ "Tue, 1 Jul 2003 10:52:37 +0200", 1057049557, 120 },
		{ "1 Jul 2003 10:52:37 +0200", 1057049557, 120 },
		{ "Mon, 7 Feb 1994 21:52:25 -0800 (PST)", 760686745, -480 },
		{ "7 Feb 94 21:52 EST", 760675920, -300 },
		{ "Tue,  1 Jul 2003 08:52:37 GMT", 1057049557, 0 },
		{ "Tue Jul  1 08:52:37 2003", 1057049557, 0 },
		{ "1 jul 03 08:52:37 Z", 1057049557, 0 },
		{ "01 Jul 2003 08:52:37 A", 1057049557, 0 },
		{ "Thu, 29 Feb 2024 23:59:60 +0000", 1709251199, 0 },
		{ "Sat, 1 Jan 2000 00:00:00 +1400", 946634400, 840 },
	};
	for (size_t i = 0; i < N_ELEMENTS(v); i++) {
		time_t t;
		int tz;
		if (mail_date_parse(v[i].in, strlen(v[i].in), &t, &tz) < 0)
			fail_msg("'%s' not parsed", v[i].in);
		if (t != v[i].t || tz != v[i].tz)
			fail_msg("'%s': %lld %d", v[i].in, (long long)t, tz);
	}
	static const char *const bad[] = {
		"", "yesterday", "32 Jan 2003 10:00", "30 Feb 2003 10:00:00",
		"1 Foo 2003", "1 Jul 2003 25:00:00",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		time_t t;
		int tz;
		if (mail_date_parse(bad[i], strlen(bad[i]), &t, &tz) == 0)
			fail_msg("'%s' parsed", bad[i]);
	}
	struct buf b = BUF_INIT;
	mail_date_format(1057049557, 120, &b);
	assert_string_equal(b.data, "Tue, 1 Jul 2003 10:52:37 +0200");
	buf_reset(&b);
	mail_date_format(760686745, -480, &b);
	assert_string_equal(b.data, "Mon, 7 Feb 1994 21:52:25 -0800");
	buf_reset(&b);
	mail_date_format_imap(1057049557, -330, &b);
	assert_string_equal(b.data, "01-Jul-2003 03:22:37 -0530");
	time_t t;
	int tz;
	assert_int_equal(mail_date_parse_imap(b.data, b.len, &t, &tz), 0);
	assert_int_equal(t, 1057049557);
	assert_int_equal(tz, -330);
	assert_int_equal(mail_date_parse_imap(" 1-Jul-2003 08:52:37 +0000", 26, &t, &tz), 0);
	assert_int_equal(t, 1057049557);
	assert_int_equal(mail_date_parse_imap("1-Jul-2003 08:52:37", 19, &t, &tz), -1);
	assert_int_equal(mail_date_parse_imap_day("1-Feb-1994", 10, &t), 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(mail_date_parse_imap_day("1-Feb-94", 8, &t), -1);
	buf_free(&b);
}

/* The decoded body of a leaf part. */
static void decoded_body(const char *msg, const struct mail_part *p,
			 struct buf *out)
{
	const char *error;
	const char *body = msg + p->body.offset;
	if (p->cte == MAIL_CTE_BASE64)
		assert_int_equal(mail_base64_decode(body, p->body.size, out, &error), 0);
	else if (p->cte == MAIL_CTE_QP)
		assert_int_equal(mail_qp_decode(body, p->body.size, out, &error), 0);
	else
		buf_append(out, body, p->body.size);
}

static void test_writer_dsn(void **state)
{
	(void)state;
	struct mail_writer_part *root = mail_writer_multipart("report");
	mail_writer_param(root, "report-type", "delivery-status");
	mail_writer_header_raw(root, "Date", "Tue, 1 Jul 2003 10:52:37 +0200");
	struct mail_address_list to;
	const char *addr = "J\xc3\xb6rg M\xc3\xbcller <joerg@example.de>";
	mail_address_parse(addr, strlen(addr), false, &to);
	mail_writer_header_addresses(root, "To", &to);
	mail_address_list_free(&to);
	mail_writer_header(root, "Subject",
			   "Zustellung fehlgeschlagen: r\xc3\xa9sum\xc3\xa9");
	mail_writer_add(root, mail_writer_text("plain",
		"Your message could not be delivered.\n\xe2\x82\xac\n"));
	struct mail_writer_part *ds = mail_writer_data("message", "delivery-status",
		"Reporting-MTA: dns; mx.example\r\n", 32, NULL, NULL);
	mail_writer_add(root, ds);
	const char *orig = "From: a@b\r\nSubject: hi\r\n\r\nbody\r\n";
	mail_writer_add(root, mail_writer_message(orig, strlen(orig), true));
	struct buf out = BUF_INIT;
	mail_writer_write(root, &out);
	mail_writer_free(&root);
	assert_null(root);

	/* 7-bit, CRLF only */
	for (size_t i = 0; i < out.len; i++) {
		assert_true((unsigned char)out.data[i] < 0x80);
		if (out.data[i] == '\n')
			assert_true(i > 0 && out.data[i - 1] == '\r');
	}
	struct mail_part *p = mail_mime_parse(out.data, out.len, NULL);
	assert_true(mail_part_is_type(p, "multipart", "report"));
	assert_string_equal(mail_param_get(&p->params, "report-type"), "delivery-status");
	assert_int_equal(p->nchildren, 3);
	assert_false(p->flags & MAIL_PART_NO_END_BOUNDARY);
	char *subj = mail_header_get(out.data, p->header.size, "Subject");
	char *dec = mail_rfc2047_decode_dup(subj, strlen(subj));
	assert_string_equal(dec, "Zustellung fehlgeschlagen: r\xc3\xa9sum\xc3\xa9");
	free(subj);
	free(dec);
	char *tohdr = mail_header_get(out.data, p->header.size, "To");
	dec = mail_rfc2047_decode_dup(tohdr, strlen(tohdr));
	assert_string_equal(dec, "J\xc3\xb6rg M\xc3\xbcller <joerg@example.de>");
	free(tohdr);
	free(dec);
	char *mv = mail_header_get(out.data, p->header.size, "MIME-Version");
	assert_string_equal(mv, "1.0");
	free(mv);

	const struct mail_part *text = p->children;
	struct buf body = BUF_INIT;
	decoded_body(out.data, text, &body);
	assert_string_equal(body.data, "Your message could not be delivered.\r\n\xe2\x82\xac\r\n");
	assert_string_equal(mail_part_charset(text), "utf-8");
	assert_true(mail_part_is_type(text->next, "message", "delivery-status"));
	buf_reset(&body);
	decoded_body(out.data, text->next, &body);
	assert_string_equal(body.data, "Reporting-MTA: dns; mx.example\r\n");
	const struct mail_part *hdrs = text->next->next;
	assert_true(mail_part_is_type(hdrs, "text", "rfc822-headers"));
	buf_reset(&body);
	decoded_body(out.data, hdrs, &body);
	assert_string_equal(body.data, orig);
	buf_free(&body);
	mail_part_free(&p);
	buf_free(&out);
}

static void test_writer_compose(void **state)
{
	(void)state;
	/* mixed( alternative( text, related( html, image ) ), attachment ) */
	struct mail_writer_part *root = mail_writer_multipart("mixed");
	struct mail_writer_part *alt = mail_writer_multipart("alternative");
	struct mail_writer_part *rel = mail_writer_multipart("related");
	mail_writer_add(alt, mail_writer_text("plain", "hello"));
	mail_writer_add(rel, mail_writer_text("html", "<p>hello <img src=\"cid:i@x\"></p>"));
	unsigned char png[300];
	for (size_t i = 0; i < sizeof(png); i++)
		png[i] = (unsigned char)(i * 13);
	struct mail_writer_part *img = mail_writer_data("image", "png", png,
		sizeof(png), "inline", NULL);
	mail_writer_header_raw(img, "Content-ID", "<i@x>");
	mail_writer_add(rel, img);
	mail_writer_add(alt, rel);
	mail_writer_add(root, alt);
	const char *fname = "r\xc3\xa9sum\xc3\xa9 of a rather long name that needs folding.pdf";
	mail_writer_add(root, mail_writer_data("application", "pdf", "%PDF", 4,
					       NULL, fname));
	struct buf out = BUF_INIT;
	mail_writer_write(root, &out);
	mail_writer_free(&root);

	struct mail_part *p = mail_mime_parse(out.data, out.len, NULL);
	assert_int_equal(mail_part_count(p), 7);
	const struct mail_part *a = p->children;
	assert_true(mail_part_is_type(a, "multipart", "alternative"));
	const struct mail_part *r = a->children->next;
	assert_true(mail_part_is_type(r, "multipart", "related"));
	const struct mail_part *im = r->children->next;
	assert_string_equal(im->id, "<i@x>");
	assert_string_equal(im->disposition, "inline");
	struct buf body = BUF_INIT;
	decoded_body(out.data, im, &body);
	assert_int_equal(body.len, sizeof(png));
	assert_memory_equal(body.data, png, sizeof(png));
	buf_reset(&body);
	const struct mail_part *att = a->next;
	assert_string_equal(att->disposition, "attachment");
	assert_true(mail_param_get_utf8(&att->disp_params, "filename", &body));
	assert_string_equal(body.data, fname);
	buf_free(&body);
	/* no header line longer than 78 */
	const char *l = out.data;
	while ((l = strstr(l, "\r\n")) != NULL && l[2] != '\0') {
		const char *n = strstr(l + 2, "\r\n");
		if (n == NULL)
			break;
		assert_true(n - (l + 2) <= 78);
		l = n;
	}
	mail_part_free(&p);
	buf_free(&out);
}

static void test_downgrade(void **state)
{
	(void)state;
	const char *msg =
		"From: a@example.com\r\n"
		"Subject: 8bit\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n"
		"Content-Transfer-Encoding: 8bit\r\n"
		"\r\n"
		"--b\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n"
		"\r\n"
		"Gr\xc3\xbc\xc3\x9f" "e, a long line with trailing space \r\n"
		".leading dot\r\n"
		"--b\r\n"
		"Content-Type: application/octet-stream\r\n"
		"\r\n"
		"\x01\x80\xff\xfe binary\r\n"
		"--b\r\n"
		"Content-Type: message/rfc822\r\n"
		"Content-Transfer-Encoding: 8bit\r\n"
		"\r\n"
		"Subject: inner\r\n"
		"Content-Type: text/plain; charset=iso-8859-1\r\n"
		"\r\n"
		"caf\xe9\r\n"
		"--b\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"already 7-bit\r\n"
		"--b--\r\n";
	size_t len = strlen(msg);
	assert_true(mail_downgrade_needed(msg, len));
	struct buf out = BUF_INIT;
	bool changed;
	const char *error;
	assert_int_equal(mail_downgrade_7bit(msg, len, &out, &changed, &error), 0);
	assert_true(changed);
	assert_false(mail_downgrade_needed(out.data, out.len));
	struct mail_part *a = mail_mime_parse(msg, len, NULL);
	struct mail_part *b = mail_mime_parse(out.data, out.len, NULL);
	assert_int_equal(mail_part_count(a), mail_part_count(b));
	const struct mail_part *pa = a, *pb = b;
	while (pa != NULL) {
		assert_string_equal(pa->type, pb->type);
		assert_string_equal(pa->subtype, pb->subtype);
		assert_true(pb->cte == MAIL_CTE_7BIT || pb->cte == MAIL_CTE_QP ||
			    pb->cte == MAIL_CTE_BASE64);
		if (pa->children == NULL) {
			struct buf da = BUF_INIT, db = BUF_INIT;
			decoded_body(msg, pa, &da);
			decoded_body(out.data, pb, &db);
			if (pa->flags & MAIL_PART_TEXT) {
				/* QP gives CRLF line ends, as the input had */
				assert_int_equal(da.len, db.len);
			}
			assert_memory_equal(da.data, db.data, da.len);
			buf_free(&da);
			buf_free(&db);
		}
		pa = mail_part_next_dfs(a, pa);
		pb = mail_part_next_dfs(b, pb);
	}
	assert_int_equal(b->children->cte, MAIL_CTE_QP);
	assert_int_equal(b->children->next->cte, MAIL_CTE_BASE64);
	assert_non_null(strstr(out.data, "Subject: 8bit\r\n"));
	assert_non_null(strstr(out.data, "\r\n=2Eleading dot"));
	mail_part_free(&a);
	mail_part_free(&b);
	buf_reset(&out);

	/* 7-bit input is copied */
	const char *plain = "Subject: x\r\n\r\nhi\r\n";
	assert_int_equal(mail_downgrade_7bit(plain, strlen(plain), &out, &changed, &error), 0);
	assert_false(changed);
	assert_string_equal(out.data, plain);
	buf_reset(&out);

	/* a non-MIME 8-bit message gains MIME-Version */
	const char *bare = "Subject: x\n\ncaf\xc3\xa9\n";
	assert_int_equal(mail_downgrade_7bit(bare, strlen(bare), &out, &changed, &error), 0);
	assert_string_equal(out.data, "Subject: x\r\nMIME-Version: 1.0\r\n"
			    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
			    "caf=C3=A9\r\n");
	buf_reset(&out);

	/* refused: 8-bit header, 8-bit inside multipart/signed */
	const char *h8 = "Subject: caf\xc3\xa9\r\n\r\nx\r\n";
	assert_int_equal(mail_downgrade_7bit(h8, strlen(h8), &out, &changed, &error), -1);
	const char *sig = "Content-Type: multipart/signed; boundary=s\r\n\r\n"
		"--s\r\nContent-Type: text/plain\r\n\r\ncaf\xc3\xa9\r\n--s\r\n"
		"Content-Type: application/pgp-signature\r\n\r\nsig\r\n--s--\r\n";
	buf_reset(&out);
	assert_int_equal(mail_downgrade_7bit(sig, strlen(sig), &out, &changed, &error), -1);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_writer_dsn),
		cmocka_unit_test(test_writer_compose),
		cmocka_unit_test(test_downgrade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
