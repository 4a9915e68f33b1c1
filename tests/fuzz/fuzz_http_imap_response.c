/* fuzz_http_imap_response.c — libFuzzer target for the webmail's IMAP
 * response parser (src/web/web_imap_parse.c), which reads whatever the
 * upstream IMAP server sends: responses are parsed one after another,
 * and the node helpers are run over every data response. (Named under
 * fuzz_http* as the web area's fuzz files are.) */
#include <stdint.h>
#include <string.h>
#include "web_imap_parse.h"
#include "web_json.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	while (size > 0) {
		struct imap_response r;
		size_t used;
		const char *error;
		int ret = imap_response_parse(p, size, &r, &used, &error);
		if (ret <= 0)
			break;
		i_assert(used > 0 && used <= size);
		if (r.kind == IMAP_RESP_DATA && r.args.n > 0) {
			const struct imap_node *a = &r.args.items[0];
			json_t *env = web_json_envelope(imap_fetch_attr(a, "ENVELOPE"));
			json_decref(env);
			json_t *fl = web_json_flags(imap_fetch_attr(a, "FLAGS"));
			json_decref(fl);
			struct web_parts parts;
			web_parts_from_bodystructure(imap_fetch_attr(a, "BODYSTRUCTURE"), &parts);
			web_parts_free(&parts);
		}
		imap_response_free(&r);
		p += used;
		size -= used;
	}
	return 0;
}
