/* sasl_private.h — what a SASL mechanism implements (sasl_*.c). */
#ifndef CORREU_SASL_PRIVATE_H
#define CORREU_SASL_PRIVATE_H

#include "sasl.h"

struct sasl_mech {
	const char *name;
	bool plaintext;
	enum sasl_status (*step)(struct sasl *s, const unsigned char *in, size_t len,
				 struct buf *challenge, const char **error_r);
	/* SCRAM only. */
	enum sasl_status (*set_keys)(struct sasl *s, const struct auth_scram_keys *keys,
				     bool known, struct buf *challenge, const char **error_r);
	void (*free)(struct sasl *s);
};

struct sasl {
	const struct sasl_mech *mech;
	unsigned state;		/* mechanism-defined; 0 at start */
	bool done;		/* a final status was returned */
	char *user;
	char *password;
	char *test_nonce;
	void *mech_data;
};

extern const struct sasl_mech sasl_mech_plain;
extern const struct sasl_mech sasl_mech_login;
extern const struct sasl_mech sasl_mech_scram_sha256;

/* Copies in[0..len) as a C string if it is 1..max bytes without NUL
 * and, when utf8, valid UTF-8; NULL otherwise. */
char *sasl_strdup_checked(const unsigned char *in, size_t len, size_t max, bool utf8);

#endif
