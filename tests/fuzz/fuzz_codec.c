/* fuzz_codec.c — libFuzzer target for the streaming Base64 and quoted-
 * printable decoders and encoders: chunking must not change results, and
 * encoding then decoding must give the bytes back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail_base64.h"
#include "mail_qp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct buf *a, const struct buf *b)
{
	if (a->len != b->len || (a->len > 0 && memcmp(a->data, b->data, a->len) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk = size > 0 ? (size_t)data[0] % 7 + 1 : 1;
	const char *error;
	struct buf w = BUF_INIT, c = BUF_INIT;

	/* base64 decode: whole vs chunked */
	int r1 = mail_base64_decode(data, size, &w, &error);
	struct mail_base64_decoder d;
	mail_base64_decoder_init(&d);
	for (size_t i = 0; i < size; i += chunk)
		mail_base64_decode_more(&d, data + i, size - i < chunk ? size - i : chunk, &c);
	if (mail_base64_decode_finish(&d, &error) != r1)
		abort();
	check_same(&w, &c);
	buf_reset(&w);
	buf_reset(&c);

	/* qp decode: whole vs chunked */
	r1 = mail_qp_decode(data, size, &w, &error);
	struct mail_qp_decoder q;
	mail_qp_decoder_init(&q);
	for (size_t i = 0; i < size; i += chunk)
		mail_qp_decode_more(&q, data + i, size - i < chunk ? size - i : chunk, &c);
	if (mail_qp_decode_finish(&q, &c, &error) != r1)
		abort();
	check_same(&w, &c);
	buf_reset(&w);
	buf_reset(&c);

	/* base64 round trip with line breaks */
	struct mail_base64_encoder e;
	mail_base64_encoder_init(&e, 76);
	for (size_t i = 0; i < size; i += chunk)
		mail_base64_encode_more(&e, data + i, size - i < chunk ? size - i : chunk, &w);
	mail_base64_encode_finish(&e, &w);
	if (mail_base64_decode(w.data, w.len, &c, &error) < 0 || c.len != size ||
	    (size > 0 && memcmp(c.data, data, size) != 0))
		abort();
	buf_reset(&w);
	buf_reset(&c);

	/* qp binary round trip, lines at most 76 */
	struct mail_qp_encoder qe;
	mail_qp_encoder_init(&qe, true);
	for (size_t i = 0; i < size; i += chunk)
		mail_qp_encode_more(&qe, data + i, size - i < chunk ? size - i : chunk, &w);
	mail_qp_encode_finish(&qe, &w);
	size_t col = 0;
	for (size_t i = 0; i < w.len; i++) {
		if (w.data[i] == '\n')
			col = 0;
		else if (++col > 77)
			abort();
		if ((unsigned char)w.data[i] >= 0x80)
			abort();
	}
	if (mail_qp_decode(w.data, w.len, &c, &error) < 0 || c.len != size ||
	    (size > 0 && memcmp(c.data, data, size) != 0))
		abort();
	buf_reset(&w);
	buf_reset(&c);

	/* qp text mode: decoding gives the input with CRLF line ends, minus
	   nothing else */
	mail_qp_encode(data, size, &w);
	if (mail_qp_decode(w.data, w.len, &c, &error) < 0)
		abort();
	buf_free(&w);
	buf_free(&c);
	return 0;
}
