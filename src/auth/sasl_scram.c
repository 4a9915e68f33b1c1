/* sasl_scram.c — SASL SCRAM-SHA-256 (RFC 5802, RFC 7677), server side,
 * without channel binding (the -PLUS variant is not offered).
 * Runs in the auth process. Parses untrusted input. */
#include "sasl_private.h"
#include "auth_base64.h"
#include "str.h"
#include "xalloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest client nonce accepted. */
#define SCRAM_NONCE_MAX 256
/* Random bytes in our half of the nonce. */
#define SCRAM_SNONCE_BYTES 18

enum scram_state { SCRAM_START, SCRAM_FIRST_WAIT, SCRAM_KEYS_WAIT, SCRAM_FINAL_WAIT,
		   SCRAM_END_WAIT };

struct scram {
	char *gs2_header;		/* "n,," or "y,,", with authzid if any */
	char *client_first_bare;
	char *nonce;			/* client + server nonce */
	char *server_first;
	struct auth_scram_keys keys;
	bool known;
};

/* Decodes a saslname ("=2C" for ',' and "=3D" for '='). */
static char *saslname_decode(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=') {
			if (i + 2 < len && s[i + 1] == '2' && s[i + 2] == 'C')
				buf_append_char(&b, ',');
			else if (i + 2 < len && s[i + 1] == '3' && s[i + 2] == 'D')
				buf_append_char(&b, '=');
			else {
				buf_free(&b);
				return NULL;
			}
			i += 2;
		} else {
			buf_append_char(&b, s[i]);
		}
	}
	char *ret = sasl_strdup_checked((const unsigned char *)b.data, b.len, SASL_USER_MAX, true);
	buf_free(&b);
	return ret;
}

static bool valid_nonce(const char *s, size_t len)
{
	if (len == 0 || len > SCRAM_NONCE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7E || s[i] == ',')
			return false;
	return true;
}

/* gs2-header "n,," / "y,," / "n,a=user," then client-first-message-bare
 * "n=user,r=nonce[,ext]" (RFC 5802 section 7). */
static enum sasl_status scram_first(struct sasl *s, struct scram *sc, const char *msg,
				    const char **error_r)
{
	const char *p = msg;
	if (p[0] == 'p') {
		*error_r = "channel binding requested but not offered";
		return SASL_FAIL;
	}
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',') {
		*error_r = "bad gs2 header";
		return SASL_FAIL;
	}
	p += 2;
	char *authzid = NULL;
	if (str_has_prefix(p, "a=")) {
		const char *end = strchr(p, ',');
		if (end == NULL || (authzid = saslname_decode(p + 2, (size_t)(end - p - 2))) == NULL) {
			*error_r = "bad authzid";
			return SASL_FAIL;
		}
		p = end;
	}
	if (p[0] != ',') {
		free(authzid);
		*error_r = "bad gs2 header";
		return SASL_FAIL;
	}
	p++;
	sc->gs2_header = x_strndup(msg, (size_t)(p - msg));
	sc->client_first_bare = x_strdup(p);
	if (str_has_prefix(p, "m=")) {
		free(authzid);
		*error_r = "mandatory extension not supported";
		return SASL_FAIL;
	}
	const char *comma = strchr(p, ',');
	if (!str_has_prefix(p, "n=") || comma == NULL ||
	    (s->user = saslname_decode(p + 2, (size_t)(comma - p - 2))) == NULL) {
		free(authzid);
		*error_r = "bad user name";
		return SASL_FAIL;
	}
	bool other = authzid != NULL && strcasecmp(authzid, s->user) != 0;
	free(authzid);
	if (other) {
		*error_r = "authorisation identity differs from authentication identity";
		return SASL_FAIL;
	}
	p = comma + 1;
	const char *nend = strchr(p, ',');
	size_t nlen = nend != NULL ? (size_t)(nend - p) : strlen(p);
	if (!str_has_prefix(p, "r=") || !valid_nonce(p + 2, nlen - 2)) {
		*error_r = "bad client nonce";
		return SASL_FAIL;
	}
	/* Our half: base64 of random bytes has no ','. */
	unsigned char rnd[SCRAM_SNONCE_BYTES];
	randombytes_buf(rnd, sizeof(rnd));
	struct buf nonce = BUF_INIT;
	buf_append(&nonce, p + 2, nlen - 2);
	if (s->test_nonce != NULL)
		buf_append_str(&nonce, s->test_nonce);
	else
		auth_base64_encode(rnd, sizeof(rnd), &nonce);
	sc->nonce = buf_steal(&nonce);
	s->state = SCRAM_KEYS_WAIT;
	return SASL_LOOKUP;
}

static enum sasl_status scram_set_keys(struct sasl *s, const struct auth_scram_keys *keys,
				       bool known, struct buf *challenge, const char **error_r)
{
	struct scram *sc = s->mech_data;
	if (s->state != SCRAM_KEYS_WAIT) {
		*error_r = "keys not expected";
		return SASL_FAIL;
	}
	sc->keys = *keys;
	sc->known = known;
	struct buf b = BUF_INIT;
	buf_appendf(&b, "r=%s,s=", sc->nonce);
	auth_base64_encode(keys->salt, keys->salt_len, &b);
	buf_appendf(&b, ",i=%u", keys->iterations);
	sc->server_first = buf_steal(&b);
	buf_append_str(challenge, sc->server_first);
	s->state = SCRAM_FINAL_WAIT;
	return SASL_CHALLENGE;
}

/* client-final-message: "c=<b64 gs2 header>,r=<nonce>[,ext],p=<b64 proof>". */
static enum sasl_status scram_final(struct sasl *s, struct scram *sc, const char *msg,
				    struct buf *challenge, const char **error_r)
{
	const char *proof_at = strstr(msg, ",p=");
	if (proof_at == NULL || strchr(proof_at + 3, ',') != NULL) {
		*error_r = "missing proof";
		return SASL_FAIL;
	}
	/* Channel binding data: base64 of exactly our gs2 header. */
	struct buf cb = BUF_INIT;
	auth_base64_encode(sc->gs2_header, strlen(sc->gs2_header), &cb);
	bool cb_ok = str_has_prefix(msg, "c=") && strncmp(msg + 2, cb.data, cb.len) == 0 &&
		msg[2 + cb.len] == ',';
	const char *p = msg + 2 + (cb_ok ? cb.len + 1 : 0);
	buf_free(&cb);
	if (!cb_ok) {
		*error_r = "channel binding data mismatch";
		return SASL_FAIL;
	}
	size_t nlen = strlen(sc->nonce);
	if (!str_has_prefix(p, "r=") || strncmp(p + 2, sc->nonce, nlen) != 0 ||
	    (p[2 + nlen] != ',')) {
		*error_r = "nonce mismatch";
		return SASL_FAIL;
	}
	struct buf proof = BUF_INIT;
	const char *proof_b64 = proof_at + 3;
	if (auth_base64_decode(proof_b64, strlen(proof_b64), &proof) < 0 ||
	    proof.len != AUTH_SCRAM_KEY_LEN) {
		buf_free(&proof);
		*error_r = "malformed proof";
		return SASL_FAIL;
	}
	/* AuthMessage = client-first-bare "," server-first "," final-without-proof */
	struct buf am = BUF_INIT;
	buf_appendf(&am, "%s,%s,%.*s", sc->client_first_bare, sc->server_first,
		    (int)(proof_at - msg), msg);
	unsigned char sig[AUTH_SCRAM_KEY_LEN], client_key[AUTH_SCRAM_KEY_LEN];
	unsigned char stored[AUTH_SCRAM_KEY_LEN];
	auth_hmac_sha256(sc->keys.stored_key, AUTH_SCRAM_KEY_LEN, am.data, am.len, sig);
	for (size_t i = 0; i < AUTH_SCRAM_KEY_LEN; i++)
		client_key[i] = (unsigned char)proof.data[i] ^ sig[i];
	auth_sha256(client_key, sizeof(client_key), stored);
	bool ok = sodium_memcmp(stored, sc->keys.stored_key, AUTH_SCRAM_KEY_LEN) == 0;
	buf_free(&proof);
	if (!ok || !sc->known) {
		buf_free(&am);
		*error_r = "wrong password";
		return SASL_FAIL;
	}
	auth_hmac_sha256(sc->keys.server_key, AUTH_SCRAM_KEY_LEN, am.data, am.len, sig);
	buf_free(&am);
	buf_append_str(challenge, "v=");
	auth_base64_encode(sig, sizeof(sig), challenge);
	s->state = SCRAM_END_WAIT;
	return SASL_CHALLENGE;
}

static enum sasl_status scram_step(struct sasl *s, const unsigned char *in, size_t len,
				   struct buf *challenge, const char **error_r)
{
	struct scram *sc = s->mech_data;
	if (sc == NULL)
		sc = s->mech_data = x_calloc(1, sizeof(*sc));
	if (s->state == SCRAM_START && in == NULL) {
		s->state = SCRAM_FIRST_WAIT;
		return SASL_CHALLENGE;
	}
	if (s->state == SCRAM_END_WAIT) {
		if (len != 0) {
			*error_r = "unexpected data after server signature";
			return SASL_FAIL;
		}
		return SASL_OK;
	}
	/* Messages are printable text; a NUL or oversize one is an attack. */
	if (len == 0 || len > 4096 || memchr(in, '\0', len) != NULL) {
		*error_r = "malformed SCRAM message";
		return SASL_FAIL;
	}
	char *msg = x_strndup((const char *)in, len);
	enum sasl_status st;
	switch ((enum scram_state)s->state) {
	case SCRAM_START:
	case SCRAM_FIRST_WAIT:
		st = scram_first(s, sc, msg, error_r);
		break;
	case SCRAM_FINAL_WAIT:
		st = scram_final(s, sc, msg, challenge, error_r);
		break;
	default:
		*error_r = "unexpected SCRAM message";
		st = SASL_FAIL;
		break;
	}
	free(msg);
	return st;
}

static void scram_free(struct sasl *s)
{
	struct scram *sc = s->mech_data;
	if (sc == NULL)
		return;
	free(sc->gs2_header);
	free(sc->client_first_bare);
	free(sc->nonce);
	free(sc->server_first);
	sodium_memzero(&sc->keys, sizeof(sc->keys));
	free(sc);
}

const struct sasl_mech sasl_mech_scram_sha256 = {
	.name = "SCRAM-SHA-256",
	.plaintext = false,
	.step = scram_step,
	.set_keys = scram_set_keys,
	.free = scram_free,
};
