/* fuzz_http_json.c — libFuzzer target for what the webmail makes of the
 * browser's JSON (the API's request bodies; untrusted): the body is
 * parsed as web_server.c does (jansson, duplicate keys refused), the
 * compose fields go through web_mime_build() as web_compose.c passes
 * them, and every string value goes into an IMAP command argument
 * through web_imap_cmd_astring() as the search, folder and flag calls do.
 * Oracles:
 * - the built message's header holds only fields the composer writes
 *   (no header injection), no bare CR or LF, no Subject, MIME or body
 *   line over 998 octets unless one word alone is that long (address
 *   and id fields are written on one line, however long: a known limit
 *   of the composer, the submission server then refuses the message),
 *   and it parses as MIME; no envelope recipient holds a line break;
 * - the IMAP command, parsed back by correu's own IMAP server parser,
 *   is exactly one command whose argument is the string, byte for byte
 *   (no command injection). (Named under fuzz_http* as the web area's
 *   fuzz files are.) */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imap_parser.h"
#include "mail_header.h"
#include "mail_mime.h"
#include "str.h"
#include "web_imap.h"
#include "web_mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const composer_fields[] = {
	"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To",
	"References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"User-Agent", "Content-Disposition",
};

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Whether a header line is long only because one of its words is (a
 * References or address token longer than a line): there is nowhere to
 * fold it, and the submission server refuses the message. */
static bool unbreakable(const char *line, size_t len)
{
	size_t word = 0;
	for (size_t i = 0; i < len; i++) {
		if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')
			word = 0;
		else if (++word > 900)
			return true;
	}
	return false;
}

/* Address and message-id fields: the composer writes a quoted display
 * name or an id list on one line, however long (a known limit, like
 * unbreakable(): the submission server refuses such a message). The
 * field a line belongs to starts at the last line not beginning with
 * white space. */
static bool long_allowed(const char *msg, size_t line_start)
{
	static const char *const fields[] = { "From:", "To:", "Cc:", "Bcc:", "References:",
					      "In-Reply-To:" };
	size_t p = line_start;
	while (p > 0 && (msg[p] == ' ' || msg[p] == '\t')) {
		p -= 2;	/* the CRLF before this continuation line */
		while (p > 0 && msg[p - 1] != '\n')
			p--;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (strncasecmp(msg + p, fields[i], strlen(fields[i])) == 0)
			return true;
	return false;
}

static void check_message(const struct buf *msg, const struct strv *rcpts)
{
	/* Line endings: CRLF only; header lines within RFC 5322's limit. */
	bool complete;
	size_t hsize = mail_header_size(msg->data, msg->len, &complete);
	if (!complete)
		abort();
	size_t line_start = 0;
	for (size_t i = 0; i < msg->len; i++) {
		if (msg->data[i] == '\r' && (i + 1 >= msg->len || msg->data[i + 1] != '\n'))
			abort();
		if (msg->data[i] == '\n') {
			if (i == 0 || msg->data[i - 1] != '\r')
				abort();
			if (i < hsize && i - line_start > 998 + 1 &&
			    !unbreakable(msg->data + line_start, i - line_start) &&
			    !long_allowed(msg->data, line_start))
				abort();
			line_start = i + 1;
		}
	}
	struct mail_header_iter it;
	struct mail_header_field f;
	mail_header_iter_init(&it, msg->data, hsize);
	while (mail_header_iter_next(&it, &f)) {
		bool known = false;
		for (size_t i = 0; i < sizeof(composer_fields) / sizeof(*composer_fields); i++)
			known |= f.name_len == strlen(composer_fields[i]) &&
				strncasecmp(f.name, composer_fields[i], f.name_len) == 0;
		if (!known || f.no_colon)
			abort();
	}
	struct mail_part *tree = mail_mime_parse(msg->data, msg->len, NULL);
	mail_part_free(&tree);
	/* Recipients go into "RCPT TO:<%s>": nothing that could end the
	 * command line. (Quoted local parts may hold spaces and angle
	 * brackets; what RFC 5321 does not allow, the submission server
	 * answers with 501.) */
	for (size_t i = 0; i < rcpts->n; i++)
		for (const char *c = rcpts->v[i]; *c != '\0'; c++)
			if (*c == '\r' || *c == '\n')
				abort();
}

static void compose(json_t *j)
{
	struct web_mime_attachment atts[4];
	size_t n_atts = 0;
	json_t *a = json_object_get(j, "atts");
	for (size_t i = 0; json_is_array(a) && i < json_array_size(a) && n_atts < 4; i++) {
		json_t *e = json_array_get(a, i);
		const char *d = jstr(e, "data");
		atts[n_atts].filename = jstr(e, "name") != NULL ? jstr(e, "name") : "";
		atts[n_atts].type = jstr(e, "type") != NULL ? jstr(e, "type") : "";
		atts[n_atts].data = d != NULL ? d : "";
		atts[n_atts].len = d != NULL ? strlen(d) : 0;
		n_atts++;
	}
	const char *fwd = jstr(j, "forward");
	struct web_mime_msg m = {
		.from = "alice@example.test",
		.from_name = jstr(j, "from_name"),
		.to = jstr(j, "to"),
		.cc = jstr(j, "cc"),
		.bcc = jstr(j, "bcc"),
		.subject = jstr(j, "subject"),
		.text = jstr(j, "text"),
		.in_reply_to = jstr(j, "in_reply_to"),
		.references = jstr(j, "references"),
		.atts = atts,
		.n_atts = n_atts,
		.forward = fwd,
		.forward_len = fwd != NULL ? strlen(fwd) : 0,
		.keep_bcc = json_is_true(json_object_get(j, "draft")),
		.date = 1700000000,
		.message_id = "<fuzz@example.test>",
	};
	struct buf msg = BUF_INIT;
	struct strv rcpts;
	strv_init(&rcpts);
	const char *error;
	if (web_mime_build(&m, &msg, &rcpts, &error) == 0) {
		if (getenv("FUZZ_DUMP") != NULL)	/* triage: show the message */
			fwrite(msg.data, 1, msg.len, stderr);
		check_message(&msg, &rcpts);
	}
	buf_free(&msg);
	strv_free(&rcpts);
}

static const struct imap_parser_limits limits = {
	.max_line = 1 << 20,
	.max_literal_mem = 1 << 20,
	.max_stream = 1 << 20,
	.max_depth = 16,
	.max_args = 100,
};

/* "a SEARCH FROM <astring>": one command, argument intact. */
static void imap_argument(const char *s, size_t len)
{
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "a SEARCH FROM ");
	web_imap_cmd_astring(&cmd, s, len);
	buf_append(&cmd.text, "\r\n", 2);
	struct imap_parser *p = imap_parser_new(&limits);
	struct buf in = BUF_INIT;
	buf_append(&in, cmd.text.data, cmd.text.len);
	unsigned commands = 0;
	for (;;) {
		struct imap_parse_event ev;
		enum imap_parse_result r = imap_parser_parse(p, &in, &ev);
		if (r == IMAP_PARSE_MORE)
			break;
		if (r == IMAP_PARSE_ERROR)
			abort();
		if (r == IMAP_PARSE_LITERAL) {
			if (imap_parser_literal_accept(p, false) < 0)
				abort();
			continue;
		}
		if (r == IMAP_PARSE_DATA)
			abort();
		commands++;
		if (ev.n_args != 2 || !imap_arg_atom_is(&ev.args[0], "FROM"))
			abort();
		const struct imap_arg *arg = &ev.args[1];
		const char *got = imap_arg_astring(arg);
		/* A NUL can only travel in a literal, which the server then
		 * refuses as an astring: the command fails, nothing leaks. */
		if (memchr(s, '\0', len) != NULL) {
			if (got != NULL)
				abort();
		} else if (got == NULL || strlen(got) != len || memcmp(got, s, len) != 0) {
			abort();
		}
		imap_parser_reset(p);
	}
	if (commands != 1 || in.len != 0)
		abort();
	imap_parser_free(&p);
	buf_free(&in);
	web_imap_cmd_free(&cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return 0;
	if (json_is_object(j)) {
		compose(j);
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) {
			if (json_is_string(v))
				imap_argument(json_string_value(v), json_string_length(v));
		}
	}
	json_decref(j);
	return 0;
}
