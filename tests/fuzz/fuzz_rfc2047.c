/* fuzz_rfc2047.c — libFuzzer target for RFC 2047 decoding and encoding,
 * MIME parameters with RFC 2231 continuations, charset conversion and
 * Unicode folding. Encoding then decoding must give the text back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail_charset.h"
#include "mail_fold.h"
#include "mail_param.h"
#include "mail_rfc2047.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	char *dec = mail_rfc2047_decode_dup(d, size);
	if (!mail_utf8_is_valid(dec, strlen(dec)))
		abort();

	/* encode the decoded text (one line, single spaces) and back */
	struct buf clean = BUF_INIT;
	for (const char *p = dec; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < ' ' || c == 0x7f || (c == ' ' && (clean.len == 0 ||
					     clean.data[clean.len - 1] == ' ')))
			continue;
		buf_append_char(&clean, (char)c);
	}
	while (clean.len > 0 && clean.data[clean.len - 1] == ' ')
		clean.len--;
	buf_append_char(&clean, '\0');
	struct buf enc = BUF_INIT;
	size_t line = 9;
	mail_rfc2047_encode(&enc, &line, clean.data);
	char *back = mail_rfc2047_decode_dup(enc.data == NULL ? "" : enc.data, enc.len);
	if (strcmp(back, clean.data) != 0)
		abort();
	free(back);
	buf_reset(&enc);
	line = 0;
	mail_rfc2047_encode_phrase(&enc, &line, clean.data);
	buf_free(&enc);

	char *value;
	struct mail_params params;
	mail_param_parse_value(d, size, &value, &params);
	for (size_t i = 0; i < params.n; i++) {
		struct buf u = BUF_INIT;
		char *name = strdup(params.v[i].name);
		char *star = strchr(name, '*');
		if (star != NULL && star[1] != '\0') {
			/* a name that only looks like a section: not ours */
			free(name);
			continue;
		}
		if (star != NULL)
			*star = '\0';
		if (!mail_param_get_utf8(&params, name, &u))
			abort();
		/* writing the value and parsing it again gives it back */
		struct buf w = BUF_INIT, r = BUF_INIT;
		size_t col = 0;
		buf_append_str(&w, "x");
		if (mail_utf8_is_valid(u.data, u.len) && u.len == strlen(buf_cstr(&u)) &&
		    name[0] != '\0' && strchr(name, '\'') == NULL) {
			mail_param_write(&w, &col, "p", buf_cstr(&u));
			char *v2;
			struct mail_params p2;
			mail_param_parse_value(w.data, w.len, &v2, &p2);
			if (!mail_param_get_utf8(&p2, "p", &r) || strcmp(buf_cstr(&r), buf_cstr(&u)) != 0)
				abort();
			free(v2);
			mail_params_free(&p2);
		}
		buf_free(&w);
		buf_free(&r);
		buf_free(&u);
		free(name);
	}
	free(value);
	mail_params_free(&params);

	struct buf conv = BUF_INIT;
	const char *error;
	static const char *const charsets[] = { "iso-2022-jp", "utf-7", "gb18030", "utf-8" };
	(void)mail_charset_to_utf8(charsets[size % 4], d, size, &conv, &error);
	if (!mail_utf8_is_valid(conv.data, conv.len))
		abort();
	buf_free(&conv);

	struct mail_fold_matcher *m = mail_fold_matcher_new(clean.data);
	mail_fold_matcher_more(m, dec, strlen(dec));
	(void)mail_fold_matcher_finish(m);
	mail_fold_matcher_free(&m);
	free(dec);
	buf_free(&clean);
	return 0;
}
