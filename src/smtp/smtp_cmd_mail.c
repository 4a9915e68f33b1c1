/* smtp_cmd_mail.c — MAIL FROM with SIZE, BODY, SMTPUTF8, RET, ENVID and
 * AUTH parameters; the transaction's life cycle. Runs in the workers. */
#include "smtp_session.h"
#include "smtp_submit.h"
#include "log.h"
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void smtp_txn_reset(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->spool_path != NULL) {
		unlink(t->spool_path);
		free(t->spool_path);
	}
	for (size_t i = 0; i < t->n_rcpts; i++) {
		free(t->rcpts[i].address);
		free(t->rcpts[i].orcpt);
	}
	free(t->rcpts);
	strv_free(&t->local_users);
	free(t->local_quota);
	free(t->local_used);
	strv_free(&t->remote);
	buf_free(&t->wbuf);
	free(t->sender);
	free(t->ret);
	free(t->envid);
	free(t);
	s->txn = NULL;
}

/* Checks MAIL parameters; on error replies and returns -1. */
static int mail_params(struct smtp_session *s, struct smtp_command *cmd, struct smtp_txn *t)
{
	const struct config *cfg = s->env->cfg;
	for (size_t i = 0; i < cmd->n_params; i++) {
		const char *k = cmd->params[i].keyword;
		const char *v = cmd->params[i].value;
		if (!s->esmtp) {
			smtp_error(s, 555, "5.5.4", "Error: parameters need EHLO");
			return -1;
		}
		if (strcmp(k, "SIZE") == 0) {
			uint64_t n;
			if (v == NULL || str_to_uint64(v, &n) < 0) {
				smtp_error(s, 501, "5.5.4", "Error: bad SIZE value");
				return -1;
			}
			if (n > cfg->message_size_limit) {
				smtp_error(s, 552, "5.3.4", "Error: message size exceeds fixed limit");
				return -1;
			}
			t->size_declared = n;
		} else if (strcmp(k, "BODY") == 0) {
			if (v != NULL && strcasecmp(v, "8BITMIME") == 0)
				t->body_8bit = true;
			else if (v == NULL || strcasecmp(v, "7BIT") != 0) {
				smtp_error(s, 555, "5.5.4", "Error: unsupported BODY value");
				return -1;
			}
		} else if (strcmp(k, "SMTPUTF8") == 0) {
			if (v != NULL) {
				smtp_error(s, 501, "5.5.4", "Error: SMTPUTF8 takes no value");
				return -1;
			}
			t->smtputf8 = true;
		} else if (strcmp(k, "RET") == 0) {
			if (v == NULL || (strcasecmp(v, "FULL") != 0 && strcasecmp(v, "HDRS") != 0)) {
				smtp_error(s, 501, "5.5.4", "Error: bad RET value");
				return -1;
			}
			t->ret = x_strdup(strcasecmp(v, "FULL") == 0 ? "FULL" : "HDRS");
		} else if (strcmp(k, "ENVID") == 0) {
			char dec[101];
			if (v == NULL || strlen(v) > 100 || smtp_xtext_decode(v, dec, sizeof(dec)) < 0) {
				smtp_error(s, 501, "5.5.4", "Error: bad ENVID value");
				return -1;
			}
			t->envid = x_strdup(v);
		} else if (strcmp(k, "AUTH") == 0) {
			char dec[SMTP_PATH_MAX + 3];
			if (v == NULL || smtp_xtext_decode(v, dec, sizeof(dec)) < 0) {
				smtp_error(s, 501, "5.5.4", "Error: bad AUTH value");
				return -1;
			}
			/* RFC 4954 5: accepted, not trusted. */
		} else {
			smtp_error(s, 555, "5.5.4", "Error: unsupported parameter %s", k);
			return -1;
		}
	}
	return 0;
}

void smtp_cmd_mail(struct smtp_session *s, struct smtp_command *cmd)
{
	if (s->helo == NULL) {
		smtp_error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (s->txn != NULL) {
		smtp_error(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (smtp_is_submission(s) && s->auth_user == NULL) {
		smtp_error(s, 530, "5.7.0", "Error: authentication required");
		return;
	}
	if (smtp_is_submission(s) && !smtp_submit_mail(s, cmd->path))
		return;
	struct smtp_txn *t = x_calloc(1, sizeof(*t));
	t->fd = -1;
	if (mail_params(s, cmd, t) < 0) {
		s->txn = t;
		smtp_txn_reset(s);
		return;
	}
	if (cmd->path_utf8 && !t->smtputf8) {
		s->txn = t;
		smtp_txn_reset(s);
		smtp_error(s, 553, "5.6.7", "Error: UTF-8 address needs the SMTPUTF8 parameter");
		return;
	}
	t->sender = x_strdup(cmd->path);
	strv_init(&t->local_users);
	strv_init(&t->remote);
	/* One id names the message in every log line, in its Received:
	 * header and in the queue. */
	char *id = queue_id_new();
	snprintf(t->queue_id, sizeof(t->queue_id), "%s", id);
	free(id);
	s->txn = t;
	smtp_reply(s, 250, "2.1.0", "Ok");
}
