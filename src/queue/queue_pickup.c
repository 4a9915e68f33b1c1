/* queue_pickup.c — the local pickup protocol (see queue_pickup.h): the
 * request parser, record and reply encoding, the sender policy and the
 * trace headers. Pure functions, no I/O. The parser runs in the queue
 * process on requests of any local user: untrusted input. */
#include "queue_pickup.h"
#include "log.h"
#include "mail_date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum field {
	F_PICKUP,
	F_SENDER,
	F_RCPT,
	F_NOTIFY,
	F_RET,
	F_ENVID,
	F_MESSAGE,
};

static const char *const field_names[] = {
	[F_PICKUP] = "pickup",
	[F_SENDER] = "sender",
	[F_RCPT] = "rcpt",
	[F_NOTIFY] = "notify",
	[F_RET] = "ret",
	[F_ENVID] = "envid",
	[F_MESSAGE] = "message",
};

#define ENVID_MAX 100	/* RFC 3461 4.4 */

void queue_pickup_parser_init(struct queue_pickup_parser *p, uint64_t max_message,
			      size_t max_rcpts)
{
	memset(p, 0, sizeof(*p));
	p->max_message = max_message;
	p->max_rcpts = max_rcpts;
	p->state = QUEUE_PICKUP_S_HEAD;
	buf_init(&p->value);
	strv_init(&p->req.rcpts);
	p->req.ret = QUEUE_RET_DEFAULT;
}

void queue_pickup_parser_free(struct queue_pickup_parser *p)
{
	buf_free(&p->value);
	strv_free(&p->req.rcpts);
	x_free(&p->req.sender);
	x_free(&p->req.envid);
}

static int fail(struct queue_pickup_parser *p, int code, const char *error)
{
	p->state = QUEUE_PICKUP_S_ERROR;
	p->error = error;
	p->error_code = code;
	return -1;
}

bool queue_pickup_address_ok(const char *s, size_t len)
{
	if (len < 3 || len > 254 || memchr(s, '\0', len) != NULL)
		return false;
	const char *at = memrchr(s, '@', len);
	if (at == NULL || at == s || at == s + len - 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
			return false;
	}
	return true;
}

static bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* A record's value is complete. */
static int value_done(struct queue_pickup_parser *p)
{
	const char *v = buf_cstr(&p->value);
	size_t len = p->value.len;
	switch ((enum field)p->field) {
	case F_PICKUP:
		if (len != strlen(QUEUE_PICKUP_VERSION) || memcmp(v, QUEUE_PICKUP_VERSION, len) != 0)
			return fail(p, QUEUE_PICKUP_EX_PROTOCOL, "unsupported protocol version");
		break;
	case F_SENDER:
		if (len > 0 && !queue_pickup_address_ok(v, len))
			return fail(p, QUEUE_PICKUP_EX_USAGE, "bad sender address");
		p->req.sender = x_strndup(v, len);
		if (!is_ascii(v, len))
			p->req.smtputf8 = true;
		break;
	case F_RCPT:
		if (!queue_pickup_address_ok(v, len))
			return fail(p, QUEUE_PICKUP_EX_USAGE, "bad recipient address");
		strv_push_owned(&p->req.rcpts, x_strndup(v, len));
		if (!is_ascii(v, len))
			p->req.smtputf8 = true;
		break;
	case F_NOTIFY:
		if (memchr(v, '\0', len) != NULL || queue_notify_parse(v, &p->req.notify) < 0)
			return fail(p, QUEUE_PICKUP_EX_USAGE, "bad DSN NOTIFY list");
		break;
	case F_RET:
		if (len == 4 && strncasecmp(v, "full", 4) == 0)
			p->req.ret = QUEUE_RET_FULL;
		else if (len == 4 && strncasecmp(v, "hdrs", 4) == 0)
			p->req.ret = QUEUE_RET_HDRS;
		else
			return fail(p, QUEUE_PICKUP_EX_USAGE, "bad DSN RET value");
		break;
	case F_ENVID:
		if (len == 0 || len > ENVID_MAX)
			return fail(p, QUEUE_PICKUP_EX_USAGE, "bad DSN ENVID");
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
				return fail(p, QUEUE_PICKUP_EX_USAGE, "bad DSN ENVID");
		p->req.envid = x_strndup(v, len);
		break;
	case F_MESSAGE:
		log_panic("pickup: the message is not a buffered value");
	}
	buf_reset(&p->value);
	p->state = QUEUE_PICKUP_S_HEAD;
	return 0;
}

/* "NAME LENGTH" is complete. Returns 1 when the envelope is complete
 * (the message record starts), 0 to go on, -1 on error. */
static int head_done(struct queue_pickup_parser *p)
{
	p->head[p->head_len] = '\0';
	char *sp = strchr(p->head, ' ');
	if (sp == NULL || sp == p->head || sp[1] == '\0')
		return fail(p, QUEUE_PICKUP_EX_PROTOCOL, "malformed record head");
	*sp = '\0';
	const char *digits = sp + 1;
	uint64_t len;
	if (strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 20 ||
	    (digits[0] == '0' && digits[1] != '\0') || str_to_uint64(digits, &len) < 0)
		return fail(p, QUEUE_PICKUP_EX_PROTOCOL, "malformed record length");
	int f = -1;
	for (size_t i = 0; i < N_ELEMENTS(field_names); i++)
		if (strcmp(p->head, field_names[i]) == 0)
			f = (int)i;
	p->head_len = 0;
	if (f < 0)
		return fail(p, QUEUE_PICKUP_EX_PROTOCOL, "unknown record");
	if ((p->seen & (1u << F_PICKUP)) == 0 && f != F_PICKUP)
		return fail(p, QUEUE_PICKUP_EX_PROTOCOL, "the first record must be \"pickup\"");
	if (f != F_RCPT && (p->seen & (1u << f)) != 0)
		return fail(p, QUEUE_PICKUP_EX_PROTOCOL, "record given twice");
	p->seen |= 1u << f;
	p->field = f;
	if (f == F_MESSAGE) {
		if ((p->seen & (1u << F_SENDER)) == 0)
			return fail(p, QUEUE_PICKUP_EX_PROTOCOL, "no sender before the message");
		if (p->req.rcpts.n == 0)
			return fail(p, QUEUE_PICKUP_EX_USAGE, "no recipients");
		if (len > p->max_message)
			return fail(p, QUEUE_PICKUP_EX_DATAERR,
				    "message too large (message_size_limit)");
		p->req.message_size = len;
		p->left = len;
		p->last = '\n';
		p->state = len > 0 ? QUEUE_PICKUP_S_MESSAGE : QUEUE_PICKUP_S_MESSAGE_END;
		return 1;
	}
	if (f == F_RCPT && p->req.rcpts.n >= p->max_rcpts)
		return fail(p, QUEUE_PICKUP_EX_USAGE, "too many recipients");
	if (len > QUEUE_PICKUP_MAX_VALUE)
		return fail(p, QUEUE_PICKUP_EX_PROTOCOL, "record value too long");
	p->left = len;
	p->state = QUEUE_PICKUP_S_VALUE;
	buf_reset(&p->value);
	if (len == 0)
		return value_done(p);
	return 0;
}

/* Checks a piece of the message: CRLF lines only, no NUL. */
static int check_message(struct queue_pickup_parser *p, const unsigned char *s, size_t n)
{
	unsigned char last = p->last;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '\0')
			return fail(p, QUEUE_PICKUP_EX_DATAERR, "the message contains a NUL byte");
		if (last == '\r' && c != '\n')
			return fail(p, QUEUE_PICKUP_EX_DATAERR, "the message contains a bare CR");
		if (c == '\n' && last != '\r')
			return fail(p, QUEUE_PICKUP_EX_DATAERR, "the message contains a bare LF");
		if (c >= 0x80)
			p->req.eight_bit = true;
		last = c;
	}
	p->last = last;
	return 0;
}

static bool head_char_ok(const struct queue_pickup_parser *p, unsigned char c)
{
	const char *sp = memchr(p->head, ' ', p->head_len);
	if (sp == NULL)
		return (c >= 'a' && c <= 'z') || c == '-' || (c == ' ' && p->head_len > 0);
	return c >= '0' && c <= '9';
}

enum queue_pickup_event queue_pickup_parse(struct queue_pickup_parser *p, const void *in_v,
					   size_t len, size_t *used_r, const char **data_r,
					   size_t *data_len_r)
{
	const unsigned char *in = in_v;
	size_t i = 0;
	*data_r = NULL;
	*data_len_r = 0;
	for (;;) {
		switch (p->state) {
		case QUEUE_PICKUP_S_ERROR:
			*used_r = i;
			return QUEUE_PICKUP_ERROR;
		case QUEUE_PICKUP_S_END:
			*used_r = i;
			if (i < len) {
				fail(p, QUEUE_PICKUP_EX_PROTOCOL, "data after the message");
				return QUEUE_PICKUP_ERROR;
			}
			return QUEUE_PICKUP_MORE;
		case QUEUE_PICKUP_S_MESSAGE_END:
			p->state = QUEUE_PICKUP_S_END;
			*used_r = i;
			return QUEUE_PICKUP_DONE;
		case QUEUE_PICKUP_S_HEAD: {
			if (i == len) {
				*used_r = i;
				return QUEUE_PICKUP_MORE;
			}
			unsigned char c = in[i++];
			if (c == '\n') {
				int r = head_done(p);
				if (r > 0) {
					*used_r = i;
					return QUEUE_PICKUP_ENVELOPE;
				}
				continue;
			}
			if (!head_char_ok(p, c)) {
				fail(p, QUEUE_PICKUP_EX_PROTOCOL, "malformed record head");
				continue;
			}
			if (p->head_len + 1 >= sizeof(p->head)) {
				fail(p, QUEUE_PICKUP_EX_PROTOCOL, "record head too long");
				continue;
			}
			p->head[p->head_len++] = (char)c;
			continue;
		}
		case QUEUE_PICKUP_S_VALUE: {
			if (i == len) {
				*used_r = i;
				return QUEUE_PICKUP_MORE;
			}
			size_t take = len - i < p->left ? len - i : (size_t)p->left;
			buf_append(&p->value, in + i, take);
			i += take;
			p->left -= take;
			if (p->left == 0)
				(void)value_done(p);
			continue;
		}
		case QUEUE_PICKUP_S_MESSAGE: {
			if (i == len) {
				*used_r = i;
				return QUEUE_PICKUP_MORE;
			}
			size_t take = len - i < p->left ? len - i : (size_t)p->left;
			if (check_message(p, in + i, take) < 0)
				continue;
			p->left -= take;
			if (p->left == 0) {
				if (p->last != '\n') {
					fail(p, QUEUE_PICKUP_EX_DATAERR,
					     "the message does not end with a line break");
					continue;
				}
				p->state = QUEUE_PICKUP_S_MESSAGE_END;
			}
			*data_r = (const char *)in + i;
			*data_len_r = take;
			*used_r = i + take;
			return QUEUE_PICKUP_DATA;
		}
		}
	}
}

char *queue_pickup_dir(const struct config *cfg)
{
	return x_asprintf("%s/public", cfg->data_dir);
}

char *queue_pickup_path(const struct config *cfg)
{
	return x_asprintf("%s/public/pickup", cfg->data_dir);
}

void queue_pickup_record_head(struct buf *out, const char *name, uint64_t len)
{
	buf_appendf(out, "%s %llu\n", name, (unsigned long long)len);
}

void queue_pickup_record(struct buf *out, const char *name, const void *value, size_t len)
{
	queue_pickup_record_head(out, name, len);
	buf_append(out, value, len);
}

void queue_pickup_reply_ok(struct buf *out, const char *id)
{
	buf_appendf(out, "ok %s\n", id);
}

void queue_pickup_reply_fail(struct buf *out, int code, const char *text)
{
	if (code < 1 || code > 255)
		code = QUEUE_PICKUP_EX_SOFTWARE;
	buf_appendf(out, "fail %d ", code);
	size_t max = QUEUE_PICKUP_MAX_REPLY - 16;	/* as the parser takes */
	for (size_t i = 0; text[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)text[i];
		buf_append_char(out, c < ' ' || c == 0x7f ? '?' : (char)c);
	}
	buf_append_char(out, '\n');
}

int queue_pickup_reply_parse(const char *line, size_t len, int *code_r, char **text_r)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len >= QUEUE_PICKUP_MAX_REPLY || memchr(line, '\n', len) != NULL ||
	    memchr(line, '\0', len) != NULL)
		return -1;
	if (len > 3 && memcmp(line, "ok ", 3) == 0) {
		for (size_t i = 3; i < len; i++) {
			char c = line[i];
			if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
				return -1;
		}
		*code_r = 0;
		*text_r = x_strndup(line + 3, len - 3);
		return 0;
	}
	if (len < 6 || memcmp(line, "fail ", 5) != 0)
		return -1;
	size_t i = 5;
	int code = 0;
	while (i < len && line[i] >= '0' && line[i] <= '9' && i < 8)
		code = code * 10 + (line[i++] - '0');
	if (i == 5 || code < 1 || code > 255 || (i < len && line[i] != ' '))
		return -1;
	if (i < len)
		i++;
	/* What queue_pickup_reply_fail() writes: no controls (the text ends
	 * up on a terminal), and no longer than it cuts the text. */
	if (len - i > QUEUE_PICKUP_MAX_REPLY - 16)
		return -1;
	for (size_t j = i; j < len; j++)
		if ((unsigned char)line[j] < ' ' || line[j] == 0x7f)
			return -1;
	*code_r = code;
	*text_r = x_strndup(line + i, len - i);
	return 0;
}

bool queue_pickup_sender_warns(uid_t uid, uid_t server_uid, const char *user,
			       const char *hostname, const char *sender)
{
	if (uid == 0 || uid == server_uid)
		return false;
	if (user == NULL)
		return true;
	size_t ul = strlen(user);
	return !(ul > 0 && strncmp(sender, user, ul) == 0 && sender[ul] == '@' &&
		 strcasecmp(sender + ul + 1, hostname) == 0);
}

/* A user name as a header token: printable ASCII without parentheses or
 * backslashes, at most 64 characters. */
static void append_token(struct buf *out, const char *s)
{
	for (size_t n = 0; *s != '\0' && n < 64; s++, n++) {
		unsigned char c = (unsigned char)*s;
		buf_append_char(out, c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '\\' ?
				(char)c : '_');
	}
}

static void append_user(struct buf *out, const struct queue_pickup_trace *t)
{
	if (t->user != NULL && t->user[0] != '\0')
		append_token(out, t->user);
	else
		buf_appendf(out, "userid %lu", (unsigned long)t->uid);
}

void queue_pickup_trace_append(struct buf *out, const struct queue_pickup_trace *t)
{
	buf_appendf(out, "Received: by %s (correu, from userid %lu", t->hostname,
		    (unsigned long)t->uid);
	if (t->user != NULL && t->user[0] != '\0') {
		buf_append_str(out, ", ");
		append_token(out, t->user);
	}
	buf_appendf(out, ")\r\n\tid %s; ", t->queue_id);
	struct tm tm;
	localtime_r(&t->when, &tm);
	mail_date_format(t->when, (int)(tm.tm_gmtoff / 60), out);
	buf_append_str(out, "\r\n");
	if (!t->warn)
		return;
	buf_appendf(out, "X-Authentication-Warning: %s: ", t->hostname);
	append_user(out, t);
	buf_append_str(out, " set sender to ");
	if (t->sender[0] == '\0') {
		buf_append_str(out, "<>");
	} else {
		/* Checked by queue_pickup_address_ok(); bounded anyway. */
		for (size_t n = 0; t->sender[n] != '\0' && n < 256; n++) {
			unsigned char c = (unsigned char)t->sender[n];
			buf_append_char(out, c > ' ' && c != 0x7f ? (char)c : '_');
		}
	}
	buf_append_str(out, " using -f\r\n");
}
