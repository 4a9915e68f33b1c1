/* auth_proto.c — codec of the auth socket line protocol. Runs in the
 * auth process (parsing worker lines) and the workers (parsing replies).
 * Both sides treat the other's bytes as untrusted. */
#include "auth_proto.h"
#include "str.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *verb;
	bool from_server;	/* sent by the auth process */
	bool from_client;	/* sent by a worker */
	unsigned min_args, max_args;
} msg_info[] = {
	[AUTH_MSG_VERIFY] = { "VERIFY", false, true, 4, 4 },
	[AUTH_MSG_START] = { "START", false, true, 3, 4 },
	[AUTH_MSG_CONTINUE] = { "CONTINUE", true, true, 1, 1 },
	[AUTH_MSG_CANCEL] = { "CANCEL", false, true, 0, 0 },
	[AUTH_MSG_OK] = { "OK", true, false, 1, 1 },
	[AUTH_MSG_FAIL] = { "FAIL", true, false, 0, 0 },
	[AUTH_MSG_BLOCKED] = { "BLOCKED", true, false, 0, 0 },
	[AUTH_MSG_TEMPFAIL] = { "TEMPFAIL", true, false, 0, 0 },
};

void auth_proto_msg_free(struct auth_proto_msg *msg)
{
	for (unsigned i = 0; i < msg->nargs; i++) {
		/* Fields may hold passwords. */
		explicit_bzero(msg->args[i], strlen(msg->args[i]));
		x_free(&msg->args[i]);
	}
	msg->nargs = 0;
}

static void escape(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\': buf_append_str(out, "\\\\"); break;
		case '\t': buf_append_str(out, "\\t"); break;
		case '\n': buf_append_str(out, "\\n"); break;
		case '\r': buf_append_str(out, "\\r"); break;
		default: buf_append_char(out, *s); break;
		}
	}
}

/* Unescapes s[0..len); NULL on a bad escape. */
static char *unescape(const char *s, size_t len)
{
	char *out = x_malloc(len + 1), *w = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\') {
			*w++ = s[i];
			continue;
		}
		if (++i == len)
			goto bad;
		switch (s[i]) {
		case '\\': *w++ = '\\'; break;
		case 't': *w++ = '\t'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		default: goto bad;
		}
	}
	*w = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

void auth_proto_write(struct buf *out, enum auth_proto_type type, uint32_t id,
		      const char *const *args, unsigned nargs)
{
	buf_appendf(out, "%s\t%u", msg_info[type].verb, id);
	for (unsigned i = 0; i < nargs; i++) {
		buf_append_char(out, '\t');
		escape(out, args[i]);
	}
	buf_append_char(out, '\n');
}

static int parse_id(const char *s, size_t len, uint32_t *id_r)
{
	char num[12];
	uint64_t v;
	if (len == 0 || len >= sizeof(num) || s[0] == '0')
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	if (str_to_uint64(num, &v) < 0 || v == 0 || v > UINT32_MAX)
		return -1;
	*id_r = (uint32_t)v;
	return 0;
}

static int parse_line(const char *line, size_t len, bool from_server,
		      struct auth_proto_msg *msg, const char **error_r)
{
	/* Split at tabs: verb, id, fields. */
	const char *field[2 + AUTH_PROTO_ARGS_MAX];
	size_t flen[2 + AUTH_PROTO_ARGS_MAX];
	unsigned n = 0;
	const char *p = line, *end = line + len;
	for (;;) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		if (n == N_ELEMENTS(field)) {
			*error_r = "too many fields";
			return -1;
		}
		field[n] = p;
		flen[n] = (size_t)((tab != NULL ? tab : end) - p);
		n++;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL) {
		*error_r = "control character in line";
		return -1;
	}
	unsigned type;
	for (type = 0; type < N_ELEMENTS(msg_info); type++)
		if (strlen(msg_info[type].verb) == flen[0] &&
		    memcmp(msg_info[type].verb, field[0], flen[0]) == 0)
			break;
	if (type == N_ELEMENTS(msg_info) ||
	    !(from_server ? msg_info[type].from_server : msg_info[type].from_client)) {
		*error_r = "unknown message";
		return -1;
	}
	if (n < 2 || parse_id(field[1], flen[1], &msg->id) < 0) {
		*error_r = "bad request id";
		return -1;
	}
	unsigned nargs = n - 2;
	if (nargs < msg_info[type].min_args || nargs > msg_info[type].max_args) {
		*error_r = "wrong number of fields";
		return -1;
	}
	msg->type = (enum auth_proto_type)type;
	msg->nargs = 0;
	for (unsigned i = 0; i < nargs; i++) {
		char *a = unescape(field[2 + i], flen[2 + i]);
		if (a == NULL) {
			auth_proto_msg_free(msg);
			*error_r = "bad escape";
			return -1;
		}
		msg->args[msg->nargs++] = a;
	}
	return 0;
}

int auth_proto_read(struct buf *in, bool from_server, struct auth_proto_msg *msg_r,
		    const char **error_r)
{
	const char *nl = in->len == 0 ? NULL : memchr(in->data, '\n', in->len);
	if (nl == NULL) {
		if (in->len >= AUTH_PROTO_LINE_MAX) {
			*error_r = "line too long";
			return -1;
		}
		return 0;
	}
	size_t len = (size_t)(nl - in->data);
	if (len + 1 > AUTH_PROTO_LINE_MAX) {
		*error_r = "line too long";
		return -1;
	}
	memset(msg_r, 0, sizeof(*msg_r));
	int ret = parse_line(in->data, len, from_server, msg_r, error_r);
	/* The line may hold a password: wipe it from the buffer. */
	explicit_bzero(in->data, len);
	buf_consume(in, len + 1);
	return ret < 0 ? -1 : 1;
}
