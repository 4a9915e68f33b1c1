/* web_smtp.c — submission client for sending from the webmail (see
 * web_smtp.h). A small state machine over struct conn. Runs in the web
 * process. Parses untrusted server replies. */
#include "web_smtp.h"
#include "mail_base64.h"
#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SMTP_TIMEOUT_MS (5 * 60 * 1000)
#define MAX_REPLY (64 * 1024)

enum smtp_step {
	STEP_GREETING,
	STEP_EHLO,
	STEP_AUTH,
	STEP_MAIL,
	STEP_RCPT,
	STEP_DATA,
	STEP_BODY,
	STEP_QUIT,
	STEP_DONE,
};

struct smtp_job {
	uv_loop_t *loop;
	const struct web_upstream *up;
	struct conn *conn;
	struct web_upstream_req *connect_req;
	char *user;
	char *password;
	char *from;
	struct strv rcpts;
	struct buf msg;
	size_t rcpt_idx;
	enum smtp_step step;
	web_smtp_cb *cb;
	void *ctx;
	char *error;
	bool finished;
};

int web_smtp_reply_parse(const char *data, size_t len, int *code_r, struct buf *text,
			 size_t *used_r)
{
	size_t pos = 0;
	int code = -1;
	for (;;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		if (nl == NULL)
			return len - pos > MAX_REPLY ? -1 : 0;
		size_t end = (size_t)(nl - data);
		size_t lend = end > pos && data[end - 1] == '\r' ? end - 1 : end;
		const char *l = data + pos;
		size_t llen = lend - pos;
		if (llen < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (llen > 3 && l[3] != ' ' && l[3] != '-'))
			return -1;
		int c = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (code >= 0 && c != code)
			return -1;
		code = c;
		if (text->len > 0)
			buf_append_char(text, '\n');
		if (llen > 4)
			buf_append(text, l + 4, llen - 4);
		pos = end + 1;
		if (llen == 3 || l[3] == ' ') {
			*code_r = code;
			*used_r = pos;
			return 1;
		}
		if (pos > MAX_REPLY)
			return -1;
	}
}

void web_smtp_dot_stuff(const struct buf *msg, struct buf *out)
{
	bool bol = true;
	for (size_t i = 0; i < msg->len; i++) {
		char c = msg->data[i];
		if (bol && c == '.')
			buf_append_char(out, '.');
		buf_append_char(out, c);
		bol = c == '\n';
	}
	if (!bol)
		buf_append_str(out, "\r\n");
	buf_append_str(out, ".\r\n");
}

static void job_finish(struct smtp_job *j, bool ok, const char *error)
{
	if (j->finished)
		return;
	j->finished = true;
	j->cb(ok, error, j->ctx);
}

static void job_free(struct smtp_job *j)
{
	if (j->password != NULL) {
		explicit_bzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j->user);
	free(j->from);
	strv_free(&j->rcpts);
	buf_free(&j->msg);
	free(j->error);
	free(j);
}

static void fail(struct smtp_job *j, int code, const char *text)
{
	free(j->error);
	j->error = code > 0 ? x_asprintf("%d %s", code, text) : x_strdup(text);
	conn_abort(j->conn, "smtp error");
}

static void send_rcpt_or_data(struct smtp_job *j)
{
	if (j->rcpt_idx < j->rcpts.n) {
		conn_printf(j->conn, "RCPT TO:<%s>\r\n", j->rcpts.v[j->rcpt_idx++]);
		j->step = STEP_RCPT;
	} else {
		conn_write_str(j->conn, "DATA\r\n");
		j->step = STEP_DATA;
	}
}

static void handle_reply(struct smtp_job *j, int code, const char *text)
{
	switch (j->step) {
	case STEP_GREETING:
		if (code != 220)
			return fail(j, code, text);
		conn_write_str(j->conn, "EHLO correu-webmail\r\n");
		j->step = STEP_EHLO;
		return;
	case STEP_EHLO: {
		if (code != 250)
			return fail(j, code, text);
		bool plain = false;
		for (const char *l = text; l != NULL && *l != '\0';) {
			if (str_has_prefix_icase(l, "AUTH ") || str_has_prefix_icase(l, "AUTH=")) {
				const char *e = strchr(l, '\n');
				char *line = e != NULL ? x_strndup(l, (size_t)(e - l)) : x_strdup(l);
				struct strv w;
				strv_init(&w);
				strv_split_ws(&w, line + 5);
				plain = plain || strv_contains_icase(&w, "PLAIN");
				strv_free(&w);
				free(line);
			}
			l = strchr(l, '\n');
			if (l != NULL)
				l++;
		}
		if (!plain)
			return fail(j, 0, "the submission server does not offer AUTH PLAIN");
		struct buf raw = BUF_INIT, enc = BUF_INIT;
		buf_append_char(&raw, '\0');
		buf_append_str(&raw, j->user);
		buf_append_char(&raw, '\0');
		buf_append_str(&raw, j->password);
		mail_base64_encode(raw.data, raw.len, &enc);
		conn_printf(j->conn, "AUTH PLAIN %s\r\n", enc.data);
		explicit_bzero(raw.data, raw.len);
		explicit_bzero(enc.data, enc.len);
		buf_free(&raw);
		buf_free(&enc);
		j->step = STEP_AUTH;
		return;
	}
	case STEP_AUTH:
		if (code != 235)
			return fail(j, code, text);
		conn_printf(j->conn, "MAIL FROM:<%s>\r\n", j->from);
		j->step = STEP_MAIL;
		return;
	case STEP_MAIL:
		if (code != 250)
			return fail(j, code, text);
		send_rcpt_or_data(j);
		return;
	case STEP_RCPT:
		if (code != 250 && code != 251)
			return fail(j, code, text);
		send_rcpt_or_data(j);
		return;
	case STEP_DATA: {
		if (code != 354)
			return fail(j, code, text);
		struct buf out = BUF_INIT;
		web_smtp_dot_stuff(&j->msg, &out);
		conn_write(j->conn, out.data, out.len);
		buf_free(&out);
		j->step = STEP_BODY;
		return;
	}
	case STEP_BODY:
		if (code != 250)
			return fail(j, code, text);
		/* Accepted: the rest is courtesy. */
		job_finish(j, true, NULL);
		conn_write_str(j->conn, "QUIT\r\n");
		j->step = STEP_QUIT;
		return;
	case STEP_QUIT:
		j->step = STEP_DONE;
		conn_close(j->conn);
		return;
	case STEP_DONE:
		return;
	}
}

static void smtp_input(struct conn *c, void *ctx)
{
	struct smtp_job *j = ctx;
	struct buf *in = conn_input(c);
	while (in->len > 0 && !conn_closing(c)) {
		int code;
		size_t used;
		struct buf text = BUF_INIT;
		int ret = web_smtp_reply_parse(in->data, in->len, &code, &text, &used);
		if (ret == 0) {
			buf_free(&text);
			return;
		}
		if (ret < 0) {
			buf_free(&text);
			fail(j, 0, "malformed reply from the submission server");
			return;
		}
		buf_consume(in, used);
		handle_reply(j, code, buf_cstr(&text));
		buf_free(&text);
	}
}

static void smtp_closed(struct conn *c, void *ctx, const char *reason)
{
	struct smtp_job *j = ctx;
	(void)c;
	if (!j->finished)
		log_warn("submission for %s failed: %s", j->user,
			 j->error != NULL ? j->error : reason);
	job_finish(j, false, j->error != NULL ? j->error : reason);
	job_free(j);
}

static void smtp_connected(struct conn *c, void *ctx)
{
	struct smtp_job *j = ctx;
	web_upstream_start_tls(c, j->up);
}

static void smtp_tls_ready(struct conn *c, void *ctx)
{
	struct smtp_job *j = ctx;
	const char *error;
	if (!conn_tls_verified(c, &error)) {
		fail(j, 0, "the submission server's certificate is not trusted");
		return;
	}
}

static const struct conn_ops smtp_ops = {
	.on_input = smtp_input,
	.on_close = smtp_closed,
	.on_connected = smtp_connected,
	.on_tls_ready = smtp_tls_ready,
};

static void connect_cb(int fd, const char *error, void *ctx)
{
	struct smtp_job *j = ctx;
	j->connect_req = NULL;
	if (fd < 0) {
		job_finish(j, false, "cannot reach the submission server");
		log_warn("cannot connect to submission server: %s", error);
		job_free(j);
		return;
	}
	j->conn = conn_connect(j->loop, fd, &smtp_ops, j);
	conn_set_timeout(j->conn, SMTP_TIMEOUT_MS);
}

void web_smtp_send(uv_loop_t *loop, const struct web_upstream *up, const char *user,
		   const char *password, const char *from, const struct strv *rcpts,
		   const struct buf *msg, web_smtp_cb *cb, void *ctx)
{
	struct smtp_job *j = x_calloc(1, sizeof(*j));
	j->loop = loop;
	j->up = up;
	j->user = x_strdup(user);
	j->password = x_strdup(password);
	j->from = x_strdup(from);
	strv_init(&j->rcpts);
	strv_copy(&j->rcpts, rcpts);
	buf_append(&j->msg, msg->data, msg->len);
	j->cb = cb;
	j->ctx = ctx;
	/* On an immediate failure the callback already freed j. */
	struct web_upstream_req *req = web_upstream_connect(loop, up, connect_cb, j);
	if (req != NULL)
		j->connect_req = req;
}
