/* fuzz_sasl.c — libFuzzer target for the SASL mechanisms (PLAIN, LOGIN,
 * SCRAM-SHA-256) and the base64 decoder in front of them. Input: one
 * byte choosing the mechanism (low bits), whether the SCRAM user
 * "exists" (0x80), a fixed server nonce (0x40) and base64-encoded
 * messages (0x20), then client messages, each as a 2-byte big-endian
 * length and that many bytes; 0xFFFF first means "no initial response". */
#include <stdint.h>
#include <string.h>
#include "auth_base64.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const mechs[] = { "PLAIN", "LOGIN", "SCRAM-SHA-256" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auth_scram_keys keys;
	if (keys.iterations == 0)
		auth_scram_derive("pencil", "saltsaltsaltsalt", 16, 2, &keys);
	if (size < 1)
		return 0;
	const struct sasl_mech *mech = sasl_mech_find(mechs[data[0] % 3]);
	bool known = (data[0] & 0x80) != 0;
	struct sasl *s = sasl_new(mech);
	if (data[0] & 0x40)
		sasl_set_test_nonce(s, "fixednonce");
	struct buf challenge = BUF_INIT, decoded = BUF_INIT;
	size_t pos = 1;
	bool first = true;
	for (;;) {
		const char *error = NULL;
		enum sasl_status st;
		if (pos + 2 > size)
			break;
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		buf_reset(&challenge);
		if (len == 0xFFFF && first) {
			st = sasl_step(s, NULL, 0, &challenge, &error);
		} else {
			if (len > size - pos)
				len = size - pos;
			const void *msg = data + pos;
			size_t msg_len = len;
			if (data[0] & 0x20) {
				buf_reset(&decoded);
				if (auth_base64_decode((const char *)data + pos, len, &decoded) < 0) {
					pos += len;
					continue;
				}
				msg = decoded.data != NULL ? decoded.data : "";
				msg_len = decoded.len;
			}
			st = sasl_step(s, msg, msg_len, &challenge, &error);
			pos += len;
		}
		first = false;
		if (st == SASL_LOOKUP) {
			buf_reset(&challenge);
			st = sasl_set_keys(s, &keys, known, &challenge, &error);
		}
		if (st == SASL_VERIFY) {
			if (strlen(sasl_user(s)) == 0 || sasl_password(s) == NULL)
				__builtin_trap();
			break;
		}
		if (st == SASL_FAIL && error == NULL)
			__builtin_trap();
		if (st != SASL_CHALLENGE)
			break;
	}
	buf_free(&challenge);
	buf_free(&decoded);
	sasl_free(&s);
	return 0;
}
