/* test_search.c — SEARCH parsing and evaluation against real messages
 * in a temporary store: flags, sizes, dates, headers with encoded
 * words, bodies in base64/quoted-printable/latin1, boolean structure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "imap_search.h"
#include "store.h"

static char root[256];
static struct store_user *user;
static struct store_mailbox *mb;

static const char *const messages[] = {
	/* 1: plain, seen+flagged below */
	"From: Alice Example <alice@example.org>\r\nTo: bob@example.org\r\n"
	"Subject: Quarterly report\r\nDate: Tue, 2 Jan 2024 10:00:00 +0100\r\n"
	"\r\nThe numbers are in.\r\n",
	/* 2: encoded-word subject, base64 body */
	"From: =?UTF-8?B?SsO8cmdlbg==?= <jurgen@example.de>\r\nTo: alice@example.org\r\n"
	"Cc: carol@example.org\r\nSubject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=\r\n"
	"Date: Wed, 3 Jan 2024 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
	"\r\nU2Now7ZuZSBHcsO8w59lIHZvbSBSaGVpbi4=\r\n",
	/* 3: multipart with a quoted-printable latin1 part and an attachment */
	"From: dave@example.net\r\nTo: alice@example.org\r\nSubject: Re: Quarterly report\r\n"
	"Date: Thu, 4 Jan 2024 09:30:00 -0500\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
	"--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me, tout va bien.\r\n"
	"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	"c2VjcmV0IHdvcmQ=\r\n--XX--\r\n",
};

static void cb(void *ctx, uint32_t uid, uint32_t flags, uint64_t keywords, uint64_t modseq,
	bool changed, bool failed)
{
	(void)ctx; (void)uid; (void)flags; (void)keywords; (void)modseq; (void)changed;
	(void)failed;
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/correu-test-search-XXXXXX");
	assert_non_null(mkdtemp(root));
	char maildir[400];
	snprintf(maildir, sizeof(maildir), "%s/u", root);
	const char *error;
	assert_int_equal(store_user_open_sync(NULL, "u@x", maildir, 0, &user, &error), 0);
	for (size_t i = 0; i < 3; i++) {
		char tmp[500], dst[500];
		snprintf(tmp, sizeof(tmp), "%s/tmp/m%zu", maildir, i);
		snprintf(dst, sizeof(dst), "%s/new/100%zu.M1P1Q%zu.host", maildir, i, i);
		int fd = open(tmp, O_WRONLY | O_CREAT, 0600);
		assert_int_equal(write_full(fd, messages[i], strlen(messages[i])), 0);
		close(fd);
		/* INTERNALDATE: 1, 2, 3 days after 2024-01-01 00:00 UTC */
		struct timespec ts[2] = { { 1704067200 + 86400 * (time_t)(i + 1), 0 },
					  { 1704067200 + 86400 * (time_t)(i + 1), 0 } };
		utimensat(AT_FDCWD, tmp, ts, 0);
		assert_int_equal(rename(tmp, dst), 0);
	}
	assert_int_equal(store_mailbox_open(user, "INBOX", &mb), 0);
	assert_int_equal(store_mailbox_sync(mb), 0);
	uint32_t uid1 = 1;
	const char *kw[] = { "$Work" };
	struct store_flag_change ch = { STORE_MODIFY_ADD, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED,
					kw, 1, 0 };
	assert_int_equal(store_msg_update_flags(mb, &uid1, 1, &ch, cb, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_mailbox_close(&mb);
	store_user_unref(&user);
	remove_tree(root);
	return 0;
}

/* Tokenizes a simple key string (atoms and "quoted" strings, one level
 * of parentheses) into args. */
static size_t make_args(const char *s, struct imap_arg *args, struct imap_arg *sub, size_t *nsub)
{
	size_t n = 0;
	struct imap_arg *cur = args;
	size_t *cn = &n;
	size_t list_at = 0;
	*nsub = 0;
	while (*s != '\0') {
		if (*s == ' ') {
			s++;
		} else if (*s == '(') {
			list_at = n;
			args[n].type = IMAP_ARG_LIST;
			args[n].list = sub;
			n++;
			cur = sub;
			cn = nsub;
			s++;
		} else if (*s == ')') {
			args[list_at].len = *nsub;
			cur = args;
			cn = &n;
			s++;
		} else if (*s == '"') {
			const char *e = strchr(s + 1, '"');
			cur[*cn].type = IMAP_ARG_STRING;
			cur[*cn].str = strndup(s + 1, (size_t)(e - s - 1));
			cur[*cn].len = (size_t)(e - s - 1);
			(*cn)++;
			s = e + 1;
		} else {
			size_t l = strcspn(s, " ()");
			cur[*cn].type = IMAP_ARG_ATOM;
			cur[*cn].str = strndup(s, l);
			cur[*cn].len = l;
			(*cn)++;
			s += l;
		}
	}
	return n;
}

static void free_args(struct imap_arg *args, size_t n, struct imap_arg *sub, size_t nsub)
{
	for (size_t i = 0; i < n; i++)
		if (args[i].type != IMAP_ARG_LIST)
			free(args[i].str);
	for (size_t i = 0; i < nsub; i++)
		free(sub[i].str);
}

/* The UIDs (as "1 3") that match keys, or "BAD: reason". */
static char *search(const char *keys, const char *charset)
{
	struct imap_arg args[32], sub[32];
	memset(args, 0, sizeof(args));
	memset(sub, 0, sizeof(sub));
	size_t nsub;
	size_t n = make_args(keys, args, sub, &nsub);
	struct imap_search s;
	const char *error;
	bool badcharset;
	struct buf out = BUF_INIT;
	if (imap_search_parse(args, n, charset, &s, &error, &badcharset) < 0) {
		buf_appendf(&out, badcharset ? "BADCHARSET" : "BAD: %s", error);
		free_args(args, n, sub, nsub);
		return buf_steal(&out);
	}
	s.count = 3;
	s.max_uid = 3;
	s.now = 1704067200 + 86400 * 10;
	imap_search_prepare(&s);
	const struct strv *kw = store_mailbox_keywords(mb);
	struct strv keywords;
	strv_init(&keywords);
	strv_copy(&keywords, kw);
	for (uint32_t uid = 1; uid <= 3; uid++) {
		struct store_msg m;
		assert_int_equal(store_msg_get(mb, uid, &m), 1);
		struct imap_msgdata md;
		imap_msgdata_init(&md, mb, &m);
		if (imap_search_match(&s, &md, uid, uid == 3, &keywords))
			buf_appendf(&out, "%s%u", out.len > 0 ? " " : "", uid);
		md.cache_dirty = false;
		imap_msgdata_deinit(&md);
	}
	strv_free(&keywords);
	imap_search_free(&s);
	free_args(args, n, sub, nsub);
	return buf_steal(&out);
}

static void expect(const char *keys, const char *result)
{
	char *r = search(keys, NULL);
	if (strcmp(r, result) != 0)
		fail_msg("SEARCH %s: got \"%s\", expected \"%s\"", keys, r, result);
	free(r);
}

static void test_index_keys(void **state)
{
	(void)state;
	expect("ALL", "1 2 3");
	expect("SEEN", "1");
	expect("UNSEEN", "2 3");
	expect("FLAGGED SEEN", "1");
	expect("KEYWORD $Work", "1");
	expect("UNKEYWORD $work", "2 3");
	expect("KEYWORD $Nope", "");
	expect("RECENT", "3");
	expect("NEW", "3");
	expect("OLD", "1 2");
	expect("1:2", "1 2");
	expect("2:*", "2 3");
	expect("UID 3,1", "1 3");
	expect("UID *", "3");
	expect("LARGER 200", "2 3");
	expect("SMALLER 200", "1");
	expect("ON 2-Jan-2024", "1");
	expect("SINCE 3-Jan-2024", "2 3");
	expect("BEFORE 3-Jan-2024", "1");
	expect("OLDER 700000", "1");
	expect("YOUNGER 700000", "2 3");
	expect("MODSEQ 3", "1");
	expect("MODSEQ 2", "1 2 3");
	expect("NOT SEEN", "2 3");
	expect("OR SEEN 3", "1 3");
	expect("OR (SEEN FLAGGED) UID 2", "1 2");
	expect("NOT (OR 1 2)", "3");
	expect("SAVEDATESUPPORTED", "1 2 3");
}

static void test_text_keys(void **state)
{
	(void)state;
	expect("SUBJECT quarterly", "1 3");
	expect("SUBJECT \"RE: QUARTERLY\"", "3");
	/* RFC 2047 in headers, then case folding. */
	/* i;unicode-casemap folds ß to ss. */
	expect("SUBJECT \"grüsse\"", "2");
	expect("SUBJECT \"GRÜSSE\"", "2");
	expect("SUBJECT \"grüße aus köln\"", "2");
	expect("FROM jürgen", "2");
	expect("FROM alice", "1");
	expect("TO alice", "2 3");
	expect("CC carol", "2");
	expect("BCC carol", "");
	expect("HEADER Content-Type multipart", "3");
	expect("HEADER Message-ID \"\"", "");
	expect("HEADER Date \"\"", "1 2 3");
	/* Bodies: base64 + UTF-8, quoted-printable + latin1; attachments
	 * are not text. */
	expect("BODY \"grüße vom rhein\"", "2");
	expect("BODY \"CAFÉ CRÈME\"", "3");
	expect("BODY \"secret word\"", "");
	expect("BODY numbers", "1");
	expect("TEXT quarterly", "1 3");
	expect("TEXT \"tout va\"", "3");
	expect("SENTON 4-Jan-2024", "3");
	expect("SENTBEFORE 3-Jan-2024", "1");
	expect("SENTSINCE 3-Jan-2024", "2 3");
}

static void test_bad(void **state)
{
	(void)state;
	char *r = search("FROM", NULL);
	assert_string_equal(r, "BAD: Missing search argument");
	free(r);
	r = search("BOGUS", NULL);
	assert_string_equal(r, "BAD: Unknown search key");
	free(r);
	r = search("ON 32-Jan-2024", NULL);
	assert_string_equal(r, "BAD: Invalid search date");
	free(r);
	r = search("ALL", "X-NO-SUCH-CHARSET");
	assert_string_equal(r, "BADCHARSET");
	free(r);
	r = search("OR SEEN", NULL);
	assert_string_equal(r, "BAD: Missing search key");
	free(r);
	/* Nesting and key count are bounded. */
	struct buf b = BUF_INIT;
	for (int i = 0; i < 30; i++)
		buf_append_str(&b, "NOT ");
	buf_append_str(&b, "ALL");
	r = search(b.data, NULL);
	assert_string_equal(r, "1 2 3");
	free(r);
	buf_free(&b);
	/* Latin-1 search strings with CHARSET. */
	r = search("SUBJECT \"gr\xfc\xdf" "e\"", "ISO-8859-1");
	assert_string_equal(r, "2");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_keys),
		cmocka_unit_test(test_text_keys),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
