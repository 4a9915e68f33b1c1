/* pop3_cmd_dele.c — DELE and RSET (RFC 1939 5). DELE only marks a
 * message; the store removes it in the UPDATE state at QUIT, so a
 * dropped connection deletes nothing. Runs in the workers. */
#include "pop3_session.h"

#include <inttypes.h>

void pop3_cmd_dele(struct pop3_session *s, struct pop3_command *cmd)
{
	struct pop3_msg *m = pop3_maildrop_msg(s, cmd->msg);
	if (m == NULL)
		return;
	m->deleted = true;
	s->n_deleted++;
	s->deleted_size += m->size;
	pop3_ok(s, "Message %" PRIu32 " deleted.", cmd->msg);
}

void pop3_cmd_rset(struct pop3_session *s, struct pop3_command *cmd)
{
	(void)cmd;
	for (uint32_t i = 0; i < s->n_msgs; i++) {
		s->msgs[i].deleted = false;
		s->msgs[i].retrieved = false;
	}
	s->n_deleted = 0;
	s->deleted_size = 0;
	pop3_ok(s, "%" PRIu32 " messages (%" PRIu64 " octets).", s->n_msgs, s->total_size);
}
