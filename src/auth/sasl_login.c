/* sasl_login.c — SASL LOGIN (draft-murchison-sasl-login): "Username:",
 * then "Password:". An initial response is the user name.
 * Runs in the auth process. Parses untrusted input. */
#include "sasl_private.h"
#include "auth_passwd.h"

enum login_state { LOGIN_START, LOGIN_USER, LOGIN_PASSWORD };

static enum sasl_status login_step(struct sasl *s, const unsigned char *in, size_t len,
				   struct buf *challenge, const char **error_r)
{
	switch ((enum login_state)s->state) {
	case LOGIN_START:
	case LOGIN_USER:
		/* An initial response is the user name; without one, ask. */
		if (s->state == LOGIN_START && (in == NULL || len == 0)) {
			buf_append_str(challenge, "Username:");
			s->state = LOGIN_USER;
			return SASL_CHALLENGE;
		}
		s->user = sasl_strdup_checked(in, len, SASL_USER_MAX, true);
		if (s->user == NULL) {
			*error_r = "invalid LOGIN user name";
			return SASL_FAIL;
		}
		buf_append_str(challenge, "Password:");
		s->state = LOGIN_PASSWORD;
		return SASL_CHALLENGE;
	case LOGIN_PASSWORD:
		s->password = sasl_strdup_checked(in, len, AUTH_PASSWORD_MAX, false);
		if (s->password == NULL) {
			*error_r = "invalid LOGIN password";
			return SASL_FAIL;
		}
		return SASL_VERIFY;
	}
	*error_r = "bad LOGIN state";
	return SASL_FAIL;
}

const struct sasl_mech sasl_mech_login = {
	.name = "LOGIN",
	.plaintext = true,
	.step = login_step,
};
