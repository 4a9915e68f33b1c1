/* fuzz_http.c — libFuzzer target for the strict HTTP/1.1 request parser
 * (src/web/web_http.c): the input is fed whole and then in pieces whose
 * sizes come from the first byte, with pipelined requests parsed until
 * the input ends or an error stops the connection. */
#include <stdint.h>
#include <string.h>
#include "web_http.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const uint8_t *data, size_t size, size_t step)
{
	struct http_limits lim;
	http_limits_default(&lim, 65536);
	lim.max_request_line = 512;
	lim.max_header_bytes = 2048;
	lim.max_headers = 16;
	struct http_parser p;
	http_parser_init(&p, &lim);
	size_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		size_t used;
		enum http_parse_result r = http_parse(&p, data + pos, n, &used);
		i_assert(used <= n);
		pos += used;
		if (r == HTTP_PARSE_ERROR) {
			i_assert(p.status >= 400 && p.status <= 505 && p.error != NULL);
			break;
		}
		if (r == HTTP_PARSE_DONE) {
			i_assert(p.req.method != NULL && p.req.target != NULL);
			i_assert(p.req.body.len <= lim.max_body);
			http_parser_reset(&p);
		} else {
			i_assert(used == n);
		}
	}
	http_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	run(data + 1, size - 1, size);
	run(data + 1, size - 1, (size_t)(data[0] % 16) + 1);
	return 0;
}
