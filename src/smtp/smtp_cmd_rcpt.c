/* smtp_cmd_rcpt.c — RCPT TO: recipient checks against accounts, aliases,
 * catch-all and plus-addressing; relay control; DSN parameters. Runs in
 * the workers. */
#include "smtp_session.h"
#include "smtp_submit.h"
#include "auth_resolve.h"
#include "log.h"
#include "queue.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int rcpt_params(struct smtp_session *s, struct smtp_command *cmd, struct smtp_rcpt *r)
{
	for (size_t i = 0; i < cmd->n_params; i++) {
		const char *k = cmd->params[i].keyword;
		const char *v = cmd->params[i].value;
		if (!s->esmtp) {
			smtp_error(s, 555, "5.5.4", "Error: parameters need EHLO");
			return -1;
		}
		if (strcmp(k, "NOTIFY") == 0) {
			if (v == NULL || queue_notify_parse(v, &r->notify) < 0) {
				smtp_error(s, 501, "5.5.4", "Error: bad NOTIFY value");
				return -1;
			}
		} else if (strcmp(k, "ORCPT") == 0) {
			char dec[SMTP_PATH_MAX * 3];
			const char *semi = v != NULL ? strchr(v, ';') : NULL;
			if (semi == NULL || semi == v || strlen(v) > 500 ||
			    smtp_xtext_decode(semi + 1, dec, sizeof(dec)) < 0) {
				smtp_error(s, 501, "5.5.4", "Error: bad ORCPT value");
				return -1;
			}
			/* Kept decoded ("rfc822;user@host"), as the queue wants. */
			r->orcpt = x_asprintf("%.*s;%s", (int)(semi - v), v, dec);
		} else {
			smtp_error(s, 555, "5.5.4", "Error: unsupported parameter %s", k);
			return -1;
		}
	}
	return 0;
}

static void add_unique(struct strv *sv, const char *s)
{
	if (!strv_contains_icase(sv, s))
		strv_push(sv, s);
}

void smtp_rcpt_accept(struct smtp_session *s, struct smtp_rcpt *r)
{
	struct smtp_txn *t = s->txn;
	t->rcpts = x_reallocarray(t->rcpts, t->n_rcpts + 1, sizeof(*t->rcpts));
	t->rcpts[t->n_rcpts++] = *r;
	memset(r, 0, sizeof(*r));
	smtp_reply(s, 250, "2.1.5", "Ok");
}

void smtp_cmd_rcpt(struct smtp_session *s, struct smtp_command *cmd)
{
	struct smtp_txn *t = s->txn;
	if (t == NULL) {
		smtp_error(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (t->data_started) {
		smtp_error(s, 503, "5.5.1", "Error: message data already started");
		return;
	}
	if (t->n_rcpts >= s->env->cfg->smtp_max_recipients) {
		smtp_reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (smtp_is_submission(s) && !smtp_submit_rcpt(s))
		return;
	if (cmd->path_utf8 && !t->smtputf8) {
		smtp_error(s, 553, "5.6.7", "Error: UTF-8 address needs SMTPUTF8 in MAIL FROM");
		return;
	}
	struct smtp_rcpt r = { 0 };
	if (rcpt_params(s, cmd, &r) < 0) {
		free(r.orcpt);
		return;
	}

	/* RFC 5321 4.5.1: "postmaster" without a domain must work. */
	char *address;
	if (strchr(cmd->path, '@') == NULL) {
		struct strv domains;
		strv_init(&domains);
		auth_db_domain_list(s->env->accounts, &domains);
		address = x_asprintf("postmaster@%s", domains.n > 0 ? domains.v[0] :
				     s->env->cfg->hostname);
		strv_free(&domains);
	} else {
		address = x_strdup(cmd->path);
	}

	struct auth_resolved res;
	auth_resolved_init(&res);
	enum auth_resolve_result rr = auth_resolve(s->env->accounts, address,
						   s->env->cfg->recipient_delimiter[0], &res);
	const char *ip = conn_peer_ip(s->conn);
	switch (rr) {
	case AUTH_RESOLVE_LOCAL:
		/* The quota decides, maybe after a look-up in the thread pool. */
		r.address = address;
		address = NULL;
		smtp_quota_rcpt(s, &r, &res);
		goto out;
	case AUTH_RESOLVE_REMOTE:
		if (s->auth_user == NULL) {
			log_info("smtp[%s]: %s: relay denied from=<%s> to=<%s>", s->id, ip,
				 t->sender, address);
			smtp_error(s, 554, "5.7.1", "<%s>: Relay access denied", address);
			goto out;
		}
		r.remote = true;
		add_unique(&t->remote, address);
		break;
	case AUTH_RESOLVE_UNKNOWN:
		log_info("smtp[%s]: %s: unknown recipient from=<%s> to=<%s>", s->id, ip,
			 t->sender, address);
		smtp_error(s, 550, "5.1.1", "<%s>: Recipient address rejected: "
			   "User unknown in local recipient table", address);
		goto out;
	case AUTH_RESOLVE_ERROR:
		smtp_reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure", address);
		goto out;
	}
	r.address = address;
	address = NULL;
	smtp_rcpt_accept(s, &r);
out:
	free(r.address);
	free(r.orcpt);
	free(address);
	auth_resolved_free(&res);
}
