/* sasl.c — the SASL mechanism table and the generic exchange driver.
 * Runs in the auth process (and the workers, for sasl_mech_list()).
 * Parses untrusted input through the mechanisms. */
#include "sasl_private.h"
#include "xalloc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistr.h>

/* Strongest first: clients that pick the first one they know pick SCRAM. */
static const struct sasl_mech *const mechs[] = {
	&sasl_mech_scram_sha256,
	&sasl_mech_plain,
	&sasl_mech_login,
};

const struct sasl_mech *sasl_mech_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(mechs); i++)
		if (strcasecmp(mechs[i]->name, name) == 0)
			return mechs[i];
	return NULL;
}

const char *sasl_mech_name(const struct sasl_mech *mech)
{
	return mech->name;
}

bool sasl_mech_plaintext(const struct sasl_mech *mech)
{
	return mech->plaintext;
}

const char *sasl_mech_list(bool plaintext_ok)
{
	return plaintext_ok ? "SCRAM-SHA-256 PLAIN LOGIN" : "SCRAM-SHA-256";
}

struct sasl *sasl_new(const struct sasl_mech *mech)
{
	struct sasl *s = x_calloc(1, sizeof(*s));
	s->mech = mech;
	return s;
}

void sasl_free(struct sasl **sp)
{
	struct sasl *s = *sp;
	if (s == NULL)
		return;
	if (s->mech->free != NULL)
		s->mech->free(s);
	if (s->password != NULL) {
		sodium_memzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->user);
	free(s->test_nonce);
	free(s);
	*sp = NULL;
}

static enum sasl_status finish(struct sasl *s, enum sasl_status st)
{
	if (st != SASL_CHALLENGE && st != SASL_LOOKUP)
		s->done = true;
	return st;
}

enum sasl_status sasl_step(struct sasl *s, const void *in, size_t len,
			   struct buf *challenge, const char **error_r)
{
	if (s->done) {
		*error_r = "exchange already finished";
		return SASL_FAIL;
	}
	if (in == NULL && s->state != 0) {
		*error_r = "missing response";
		return finish(s, SASL_FAIL);
	}
	return finish(s, s->mech->step(s, in, len, challenge, error_r));
}

enum sasl_status sasl_set_keys(struct sasl *s, const struct auth_scram_keys *keys, bool known,
			       struct buf *challenge, const char **error_r)
{
	if (s->done || s->mech->set_keys == NULL) {
		*error_r = "keys not expected";
		return finish(s, SASL_FAIL);
	}
	return finish(s, s->mech->set_keys(s, keys, known, challenge, error_r));
}

void sasl_set_test_nonce(struct sasl *s, const char *snonce)
{
	free(s->test_nonce);
	s->test_nonce = x_strdup(snonce);
}

const char *sasl_user(const struct sasl *s)
{
	return s->user;
}

const char *sasl_password(const struct sasl *s)
{
	return s->password;
}

char *sasl_strdup_checked(const unsigned char *in, size_t len, size_t max, bool utf8)
{
	if (len == 0 || len > max || memchr(in, '\0', len) != NULL)
		return NULL;
	if (utf8 && u8_check(in, len) != NULL)
		return NULL;
	return x_strndup((const char *)in, len);
}
