/* fuzz_pop3.c — libFuzzer target for the POP3 line splitter and command
 * parser (client input), and the dot-stuffing layer (message content):
 * the first byte picks the split of the stuffing input and TOP's line
 * count; the output must end in ".\r\n" with no bare LF. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pop3_parser.h"
#include "pop3_stuff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_commands(const char *p, size_t size)
{
	while (size > 0) {
		size_t len, used;
		if (line_next(p, size, POP3_COMMAND_LINE_MAX, &len, &used) != LINE_OK) {
			len = size < POP3_COMMAND_LINE_MAX ? size : POP3_COMMAND_LINE_MAX;
			used = len;
		}
		struct pop3_command cmd;
		const char *error;
		if (pop3_command_parse(p, len, &cmd, &error) == 0) {
			if (cmd.verb <= POP3_VERB_UNKNOWN || cmd.verb >= POP3_VERB_COUNT)
				abort();
			if (cmd.arg != NULL && strlen(cmd.arg) > len)
				abort();
		} else if (error == NULL) {
			abort();
		}
		pop3_command_free(&cmd);
		p += used;
		size -= used;
	}
}

static void fuzz_stuff(const char *p, size_t size, unsigned sel)
{
	struct pop3_stuff st;
	struct buf out = BUF_INIT;
	size_t chunk = (sel & 0x0f) + 1;
	pop3_stuff_init(&st, (sel & 0x10) != 0, sel >> 5);
	for (size_t pos = 0; pos < size && !st.done; pos += chunk) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		(void)pop3_stuff_feed(&st, p + pos, n, &out);
	}
	pop3_stuff_finish(&st, &out);
	if (out.len < 3 || memcmp(out.data + out.len - 3, ".\r\n", 3) != 0)
		abort();
	for (size_t i = 0; i < out.len; i++) {
		if (out.data[i] == '\n' && (i == 0 || out.data[i - 1] != '\r'))
			abort();
	}
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	fuzz_commands((const char *)data + 1, size - 1);
	fuzz_stuff((const char *)data + 1, size - 1, data[0]);
	return 0;
}
