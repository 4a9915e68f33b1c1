/* imap_cmd_idle.c — IMAP IDLE (RFC 2177, RFC 9051 6.3.13): changes to
 * the selected mailbox are pushed as they happen (inotify through
 * store_watch, no polling) until the client sends DONE. Runs in the
 * mail workers. Parses client input (the DONE line). */
#include "imap_commands.h"

#include <strings.h>

static void idle_notify(void *ctx)
{
	struct imap_session *s = ctx;
	if (s->idling) {
		conn_cork(s->conn);	/* the updates in one write */
		imap_session_update(s, true);
		conn_uncork(s->conn);
	}
}

static void idle_line(struct imap_cmd *cmd, const char *line)
{
	struct imap_session *s = cmd->s;
	s->idling = false;
	cmd->on_line = NULL;
	store_watch_stop(&s->watch);
	if (line != NULL && strcasecmp(line, "DONE") == 0) {
		imap_session_update(s, true);
		imap_cmd_reply(cmd, "OK", "IDLE terminated");
	} else {
		imap_cmd_reply(cmd, "BAD", "Expected DONE");
		s->errors++;
	}
	imap_cmd_done(cmd);
}

enum imap_cmd_result imap_cmd_idle(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "IDLE takes no arguments");
	imap_session_update(s, true);
	imap_write_str(s, "+ idling\r\n");
	if (s->view != NULL)
		s->watch = store_watch_start(s->view->mb, idle_notify, s);
	s->idling = true;
	cmd->on_line = idle_line;
	return IMAP_CMD_ASYNC;
}
