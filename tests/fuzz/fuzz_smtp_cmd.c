/* fuzz_smtp_cmd.c — libFuzzer target for the SMTP command line splitter
 * and parser, and the ESMTP parameter helpers. */
#include <stdint.h>
#include <string.h>
#include "smtp_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	while (size > 0) {
		size_t len, used;
		if (line_next(p, size, SMTP_COMMAND_LINE_MAX, &len, &used) != LINE_OK) {
			len = size < SMTP_COMMAND_LINE_MAX ? size : SMTP_COMMAND_LINE_MAX;
			used = len;
		}
		struct smtp_command cmd;
		struct smtp_error err;
		if (smtp_command_parse(p, len, &cmd, &err) == 0) {
			bool found;
			(void)smtp_command_param(&cmd, "SIZE", &found);
			if (cmd.path != NULL && cmd.path[0] != '\0')
				(void)smtp_mailbox_valid(cmd.path, true);
			for (size_t i = 0; i < cmd.n_params; i++) {
				char out[128];
				if (cmd.params[i].value != NULL)
					(void)smtp_xtext_decode(cmd.params[i].value, out, sizeof(out));
			}
		}
		smtp_command_free(&cmd);
		p += used;
		size -= used;
	}
	return 0;
}
