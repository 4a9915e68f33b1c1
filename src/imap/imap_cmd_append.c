/* imap_cmd_append.c — IMAP APPEND (RFC 9051 6.3.12) with UIDPLUS
 * APPENDUID, BINARY literal8 (RFC 3516) and UTF8 (RFC 6855). The message
 * literal has already been streamed into the store (imap_append.c);
 * this parses the rest and commits it durably. Runs in the mail
 * workers. Parses client input. */
#include "imap_commands.h"
#include "imap_append.h"
#include "mail_date.h"

#include <stdlib.h>
#include <string.h>

struct append_cmd {
	struct imap_append *a;
	const char **keywords;
};

static void append_ctx_free(struct imap_cmd *cmd)
{
	struct append_cmd *c = cmd->ctx;
	imap_append_free(&c->a);
	free(c->keywords);
	free(c);
}

static void saved_cb(void *ctx, uint32_t uidvalidity, uint32_t uid, enum store_error error)
{
	struct imap_cmd *cmd = ctx;
	struct conn *conn = cmd->s->conn;
	conn_cork(conn);	/* EXISTS and the tagged reply in one write */
	if (error != STORE_ERR_NONE) {
		if (error == STORE_ERR_OVERQUOTA)
			imap_cmd_no(cmd, "[OVERQUOTA] Quota exceeded");
		else
			imap_cmd_no(cmd, "[UNAVAILABLE] Cannot store the message, try again later");
	} else {
		imap_cmd_ok(cmd, "[APPENDUID %u %u] APPEND completed", uidvalidity, uid);
	}
	imap_cmd_done(cmd);
	conn_uncork(conn);
}

enum imap_cmd_result imap_cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *args = cmd->args;
	size_t n = cmd->n_args, i = 1;
	uint32_t flags = 0;
	const char **keywords = NULL;
	size_t n_keywords = 0;
	int64_t idate = 0;
	int32_t itz = 0;
	const struct imap_arg *list, *msg = NULL;
	size_t ln;
	if (n < 2)
		return imap_cmd_bad(cmd, "APPEND needs a mailbox and a message");
	if (i < n && imap_arg_list(&args[i], &list, &ln)) {
		if (imap_cmd_parse_flags(cmd, list, ln, &flags, &keywords, &n_keywords) < 0)
			return IMAP_CMD_DONE;
		i++;
	}
	if (i < n && args[i].type == IMAP_ARG_STRING) {
		time_t t;
		int tz;
		if (mail_date_parse_imap(args[i].str, args[i].len, &t, &tz) < 0) {
			free(keywords);
			return imap_cmd_bad(cmd, "Invalid date-time");
		}
		idate = t;
		itz = tz;
		i++;
	}
	if (i + 1 == n && (args[i].type == IMAP_ARG_STREAM || args[i].type == IMAP_ARG_LITERAL)) {
		msg = &args[i];
	} else if (i + 2 == n && imap_arg_atom_is(&args[i], "UTF8") &&
		   imap_arg_list(&args[i + 1], &list, &ln) && ln == 1 &&
		   (list[0].type == IMAP_ARG_STREAM || list[0].type == IMAP_ARG_LITERAL)) {
		msg = &list[0];
	} else {
		free(keywords);
		return imap_cmd_bad(cmd, "Invalid APPEND arguments (MULTIAPPEND is not supported)");
	}
	if (msg->type == IMAP_ARG_LITERAL) {
		/* Not streamed (unusual placement): store it now. */
		struct imap_parse_event ev;
		memset(&ev, 0, sizeof(ev));
		ev.args = args;
		ev.n_args = n;
		ev.literal_size = msg->len;
		const char *code, *text;
		if (imap_append_begin(s, &ev, &code, &text) < 0) {
			free(keywords);
			return imap_cmd_no(cmd, "[%s] %s", code, text);
		}
		imap_append_data(s, msg->str, msg->len);
	}
	struct append_cmd *c = x_calloc(1, sizeof(*c));
	c->a = s->append;
	c->keywords = keywords;
	s->append = NULL;
	cmd->ctx = c;
	cmd->ctx_free = append_ctx_free;
	if (c->a == NULL)
		return imap_cmd_no(cmd, "[CANNOT] No message");
	if (c->a->failed)
		return imap_cmd_no(cmd, "[UNAVAILABLE] Cannot store the message, try again later");
	struct store_save *save = c->a->save;
	c->a->save = NULL;
	if (s->view != NULL && !s->view->readonly)
		store_save_claim_recent(save, s->view);	/* if it is the selected one */
	store_save_finish(save, flags, keywords, n_keywords, idate, itz, saved_cb, cmd);
	return IMAP_CMD_ASYNC;
}
