/* pop3_cmd_misc.c — CAPA (RFC 2449), STLS (RFC 2595), NOOP and QUIT
 * (RFC 1939; QUIT in TRANSACTION enters the UPDATE state). Runs in the
 * workers. */
#include "pop3_session.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>

void pop3_cmd_capa(struct pop3_session *s, struct pop3_command *cmd)
{
	(void)cmd;
	struct buf out = BUF_INIT;
	buf_append_str(&out, "+OK Capability list follows\r\n"
		       "CAPA\r\n"
		       "TOP\r\n"
		       "UIDL\r\n"
		       "RESP-CODES\r\n"
		       "AUTH-RESP-CODE\r\n"
		       "PIPELINING\r\n"
		       "EXPIRE NEVER\r\n"
		       "IMPLEMENTATION correu\r\n");
	if (s->state == POP3_STATE_AUTHORIZATION) {
		const char *mechs = s->env->auth != NULL ?
			auth_client_mechanisms(s->env->auth, pop3_auth_allowed(s)) : NULL;
		if (pop3_auth_allowed(s))
			buf_append_str(&out, "USER\r\n");
		if (mechs != NULL)
			buf_appendf(&out, "SASL %s\r\n", mechs);
		if (!s->tls && s->env->tls != NULL)
			buf_append_str(&out, "STLS\r\n");
	}
	buf_append_str(&out, ".\r\n");
	conn_write(s->conn, out.data, out.len);
	buf_free(&out);
}

void pop3_cmd_stls(struct pop3_session *s, struct pop3_command *cmd)
{
	(void)cmd;
	if (s->tls) {
		pop3_err(s, "TLS is already active.");
		return;
	}
	if (s->env->tls == NULL) {
		pop3_err(s, "TLS is not available.");
		return;
	}
	pop3_ok(s, "Begin TLS negotiation now.");
	/* RFC 2595 4: forget what was said before TLS; the conn layer drops
	 * pipelined plaintext. */
	x_free(&s->user);
	conn_start_tls_server(s->conn, s->env->tls);
}

void pop3_cmd_noop(struct pop3_session *s, struct pop3_command *cmd)
{
	(void)cmd;
	pop3_ok(s, "%s", "");
}

void pop3_cmd_quit(struct pop3_session *s, struct pop3_command *cmd)
{
	(void)cmd;
	if (s->state != POP3_STATE_TRANSACTION) {
		pop3_ok(s, "Logging out.");
		pop3_close(s);
		return;
	}
	s->state = POP3_STATE_UPDATE;
	uint32_t expunged;
	int r = pop3_maildrop_update(s, &expunged);
	/* Unlock before answering: a client that reconnects at once must
	 * not find the maildrop in use. */
	pop3_maildrop_free(s);
	s->n_deleted = expunged;
	if (r < 0) {
		conn_write_str(s->conn, "-ERR [SYS/TEMP] Some deleted messages were not removed.\r\n");
	} else {
		log_info("pop3[%s]: %s logged out: %" PRIu32 " messages deleted", s->id,
			 s->auth_user, expunged);
		pop3_ok(s, "Logging out, %" PRIu32 " messages deleted.", expunged);
	}
	pop3_close(s);
}
