/* sasl.h — server side of the SASL mechanisms PLAIN (RFC 4616), LOGIN
 * (draft-murchison-sasl-login) and SCRAM-SHA-256 (RFC 5802, RFC 7677).
 * A mechanism takes decoded client bytes and returns what to do next; it
 * never touches a socket or a database, so it can be fed one message at
 * a time in tests and fuzzed. Runs in the auth process. */
#ifndef CORREU_SASL_H
#define CORREU_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include "auth_scram.h"
#include "buf.h"

/* Longest authentication identity accepted (bytes). */
#define SASL_USER_MAX 255

enum sasl_status {
	SASL_CHALLENGE,	/* send the challenge; pass the response to sasl_step() */
	SASL_VERIFY,	/* check sasl_user()'s sasl_password(); that ends it */
	SASL_LOOKUP,	/* find sasl_user()'s SCRAM keys, call sasl_set_keys() */
	SASL_OK,	/* authenticated as sasl_user() */
	SASL_FAIL,	/* *error_r says why, for the log only */
};

struct sasl_mech;
struct sasl;

/* Mechanism by name (case-insensitive); NULL if we do not offer it. */
const struct sasl_mech *sasl_mech_find(const char *name);
const char *sasl_mech_name(const struct sasl_mech *mech);
/* Whether the mechanism sends the password itself (PLAIN, LOGIN): it
 * needs TLS unless auth_allow_plaintext is set. */
bool sasl_mech_plaintext(const struct sasl_mech *mech);
/* Space-separated names to advertise; without plaintext ones if
 * !plaintext_ok. Static string. */
const char *sasl_mech_list(bool plaintext_ok);

struct sasl *sasl_new(const struct sasl_mech *mech);
void sasl_free(struct sasl **s);

/* One step of the exchange. The first call passes the initial response,
 * or in == NULL when the client sent none; later calls pass each
 * response (never NULL, may be empty). A challenge is appended to
 * *challenge (which the caller empties first). */
enum sasl_status sasl_step(struct sasl *s, const void *in, size_t len,
			   struct buf *challenge, const char **error_r);
/* After SASL_LOOKUP: keys of the user, or fake keys with known=false
 * for an unknown user (the exchange then goes on indistinguishably and
 * fails at the proof). Returns the next status as sasl_step() does. */
enum sasl_status sasl_set_keys(struct sasl *s, const struct auth_scram_keys *keys, bool known,
			       struct buf *challenge, const char **error_r);

/* Tests only: snonce becomes the server's half of the SCRAM nonce
 * instead of random bytes (for the RFC 7677 example). */
void sasl_set_test_nonce(struct sasl *s, const char *snonce);

/* The authentication identity once known (after SASL_VERIFY, SASL_LOOKUP
 * or SASL_OK; may also be set with SASL_FAIL), else NULL. */
const char *sasl_user(const struct sasl *s);
/* The password after SASL_VERIFY; wiped by sasl_free(). */
const char *sasl_password(const struct sasl *s);

#endif
