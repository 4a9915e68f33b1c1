/* smtp_cmd_auth.c — SMTP AUTH (RFC 4954) on the submission ports with
 * the mechanisms of the auth process (PLAIN, LOGIN, SCRAM-SHA-256),
 * offered only over TLS unless auth_allow_plaintext is set. The worker
 * relays base64 lines between the client and the auth process, which
 * decides and applies the shared failure throttle. Runs in the workers;
 * the client's lines are passed through, never decoded here. */
#include "smtp_session.h"
#include "auth_client.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* RFC 4954 4: a response line may be long (12288 with the command). */
#define AUTH_LINE_MAX 12288

struct smtp_auth {
	struct auth_request *req;
	char *mech;
};

static struct smtp_auth *auth_state(struct smtp_session *s)
{
	if (s->auth_state == NULL)
		s->auth_state = x_calloc(1, sizeof(struct smtp_auth));
	return s->auth_state;
}

void smtp_auth_free(struct smtp_session *s)
{
	struct smtp_auth *a = s->auth_state;
	if (a == NULL)
		return;
	if (a->req != NULL)
		auth_request_cancel(a->req);
	free(a->mech);
	free(a);
	s->auth_state = NULL;
}

static bool auth_offered(const struct smtp_session *s)
{
	return smtp_is_submission(s) && s->env->auth != NULL;
}

const char *smtp_auth_mechanisms(const struct smtp_session *s)
{
	if (!auth_offered(s) || s->auth_user != NULL)
		return NULL;
	return auth_client_mechanisms(s->env->auth, s->tls);
}

static void auth_done(struct smtp_session *s)
{
	struct smtp_auth *a = s->auth_state;
	a->req = NULL;
	free(a->mech);
	a->mech = NULL;
	if (s->phase != SMTP_PHASE_QUIT)
		s->phase = SMTP_PHASE_COMMANDS;
	smtp_session_resume(s);
}

static void sasl_cb(enum auth_verdict verdict, const char *data, void *ctx)
{
	struct smtp_session *s = ctx;
	struct smtp_auth *a = s->auth_state;
	const char *ip = conn_peer_ip(s->conn);
	switch (verdict) {
	case AUTH_CONTINUE:
		conn_printf(s->conn, "334 %s\r\n", data != NULL ? data : "");
		s->phase = SMTP_PHASE_AUTH;
		smtp_session_resume(s);
		return;
	case AUTH_OK:
		free(s->auth_user);
		s->auth_user = x_strdup(data);
		log_info("smtp[%s]: %s: authenticated as %s (%s)", s->id, ip, s->auth_user,
			 a->mech != NULL ? a->mech : "?");
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
		break;
	case AUTH_FAILED:
		log_info("smtp[%s]: %s: authentication failed (%s)", s->id, ip,
			 a->mech != NULL ? a->mech : "?");
		a->req = NULL;
		smtp_error(s, 535, "5.7.8", "Error: authentication failed");
		break;
	case AUTH_BLOCKED:
		log_info("smtp[%s]: %s: authentication refused: too many failures", s->id, ip);
		smtp_reply(s, 454, "4.7.0", "Error: too many authentication failures, "
			   "try again later");
		break;
	case AUTH_TEMPFAIL:
		smtp_reply(s, 454, "4.7.0", "Error: temporary authentication failure");
		break;
	}
	auth_done(s);
}

void smtp_cmd_auth(struct smtp_session *s, struct smtp_command *cmd)
{
	if (!auth_offered(s)) {
		smtp_error(s, 503, "5.5.1", "Error: authentication not enabled");
		return;
	}
	if (!s->esmtp) {
		smtp_error(s, 503, "5.5.1", "Error: send EHLO first");
		return;
	}
	if (s->auth_user != NULL) {
		smtp_error(s, 503, "5.5.1", "Error: already authenticated");
		return;
	}
	if (s->txn != NULL) {
		smtp_error(s, 503, "5.5.1", "Error: AUTH not allowed during a mail transaction");
		return;
	}
	if (auth_client_mechanisms(s->env->auth, s->tls) == NULL) {
		smtp_error(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return;
	}
	/* "AUTH mech [initial-response]" */
	const char *arg = cmd->arg != NULL ? cmd->arg : "";
	while (*arg == ' ')
		arg++;
	size_t mlen = strcspn(arg, " ");
	if (mlen == 0 || mlen > 40) {
		smtp_error(s, 501, "5.5.4", "Error: AUTH needs a mechanism");
		return;
	}
	char *mech = x_strndup(arg, mlen);
	const char *initial = arg + mlen;
	while (*initial == ' ')
		initial++;
	if (strchr(initial, ' ') != NULL) {
		free(mech);
		smtp_error(s, 501, "5.5.4", "Error: bad AUTH syntax");
		return;
	}
	struct smtp_auth *a = auth_state(s);
	free(a->mech);
	a->mech = mech;
	s->phase = SMTP_PHASE_WAIT;
	conn_pause(s->conn);
	a->req = auth_client_sasl_start(s->env->auth, "smtp", conn_peer_ip(s->conn), mech,
					*initial != '\0' ? initial : NULL, sasl_cb, s);
}

void smtp_auth_line(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_auth *a = s->auth_state;
	if (a == NULL || a->req == NULL) {
		s->phase = SMTP_PHASE_COMMANDS;
		return;
	}
	if (len == 1 && line[0] == '*') {
		auth_request_cancel(a->req);
		a->req = NULL;
		s->phase = SMTP_PHASE_COMMANDS;
		smtp_error(s, 501, "5.0.0", "Error: authentication aborted");
		return;
	}
	char *resp = x_strndup(line, len > AUTH_LINE_MAX ? AUTH_LINE_MAX : len);
	s->phase = SMTP_PHASE_WAIT;
	conn_pause(s->conn);
	auth_client_sasl_continue(a->req, resp, sasl_cb, s);
	free(resp);
}
