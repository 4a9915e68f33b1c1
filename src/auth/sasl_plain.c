/* sasl_plain.c — SASL PLAIN (RFC 4616): "authzid NUL authcid NUL passwd".
 * Runs in the auth process. Parses untrusted input. */
#include "sasl_private.h"
#include "auth_passwd.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static enum sasl_status plain_step(struct sasl *s, const unsigned char *in, size_t len,
				   struct buf *challenge, const char **error_r)
{
	if (in == NULL) {
		/* No initial response: ask with an empty challenge. */
		s->state = 1;
		return SASL_CHALLENGE;
	}
	const unsigned char *nul1 = memchr(in, '\0', len);
	const unsigned char *nul2 = nul1 == NULL ? NULL :
		memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - in));
	if (nul2 == NULL) {
		*error_r = "malformed PLAIN message";
		return SASL_FAIL;
	}
	size_t zlen = (size_t)(nul1 - in);
	size_t ulen = (size_t)(nul2 - nul1 - 1);
	size_t plen = len - (size_t)(nul2 + 1 - in);
	char *authz = zlen == 0 ? NULL : sasl_strdup_checked(in, zlen, SASL_USER_MAX, true);
	s->user = sasl_strdup_checked(nul1 + 1, ulen, SASL_USER_MAX, true);
	s->password = sasl_strdup_checked(nul2 + 1, plen, AUTH_PASSWORD_MAX, false);
	if ((zlen > 0 && authz == NULL) || s->user == NULL || s->password == NULL) {
		free(authz);
		*error_r = "invalid or empty PLAIN field";
		return SASL_FAIL;
	}
	/* Acting as another user (proxy authorisation) is not offered. */
	bool other = authz != NULL && strcasecmp(authz, s->user) != 0;
	free(authz);
	if (other) {
		*error_r = "authorisation identity differs from authentication identity";
		return SASL_FAIL;
	}
	(void)challenge;
	return SASL_VERIFY;
}

const struct sasl_mech sasl_mech_plain = {
	.name = "PLAIN",
	.plaintext = true,
	.step = plain_step,
};
