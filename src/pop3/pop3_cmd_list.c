/* pop3_cmd_list.c — STAT, LIST and UIDL (RFC 1939 5, 7). Sizes are the
 * CRLF octets RETR sends before dot-stuffing; messages marked deleted
 * are left out. Runs in the workers. */
#include "pop3_session.h"

#include <inttypes.h>

void pop3_cmd_stat(struct pop3_session *s, struct pop3_command *cmd)
{
	(void)cmd;
	pop3_ok(s, "%" PRIu32 " %" PRIu64, s->n_msgs - s->n_deleted,
		s->total_size - s->deleted_size);
}

/* One "+OK n x" line, or the multi-line list of every message. */
static void list_or_uidl(struct pop3_session *s, struct pop3_command *cmd, bool uidl)
{
	char id[17];
	if (cmd->has_msg) {
		struct pop3_msg *m = pop3_maildrop_msg(s, cmd->msg);
		if (m == NULL)
			return;
		if (uidl) {
			pop3_uidl(s, m, id);
			pop3_ok(s, "%" PRIu32 " %s", cmd->msg, id);
		} else {
			pop3_ok(s, "%" PRIu32 " %" PRIu64, cmd->msg, m->size);
		}
		return;
	}
	struct buf out = BUF_INIT;
	buf_append_str(&out, "+OK\r\n");
	for (uint32_t i = 0; i < s->n_msgs; i++) {
		const struct pop3_msg *m = &s->msgs[i];
		if (m->deleted)
			continue;
		if (uidl) {
			pop3_uidl(s, m, id);
			buf_appendf(&out, "%" PRIu32 " %s\r\n", i + 1, id);
		} else {
			buf_appendf(&out, "%" PRIu32 " %" PRIu64 "\r\n", i + 1, m->size);
		}
		/* Hand big lists over in pieces instead of one huge buffer. */
		if (out.len >= 65536) {
			conn_write(s->conn, out.data, out.len);
			buf_reset(&out);
		}
	}
	buf_append_str(&out, ".\r\n");
	conn_write(s->conn, out.data, out.len);
	buf_free(&out);
}

void pop3_cmd_list(struct pop3_session *s, struct pop3_command *cmd)
{
	list_or_uidl(s, cmd, false);
}

void pop3_cmd_uidl(struct pop3_session *s, struct pop3_command *cmd)
{
	list_or_uidl(s, cmd, true);
}
