/* imap_cmd_enable.c — IMAP ENABLE (RFC 5161): CONDSTORE, QRESYNC,
 * UTF8=ACCEPT and IMAP4rev2. Runs in the mail workers. Parses client
 * input. */
#include <stdlib.h>
#include "imap_commands.h"

#include <strings.h>

static const struct {
	const char *name;
	unsigned bit;
} extensions[] = {
	{ "CONDSTORE", IMAP_ENABLED_CONDSTORE },
	{ "QRESYNC", IMAP_ENABLED_QRESYNC | IMAP_ENABLED_CONDSTORE },
	{ "UTF8=ACCEPT", IMAP_ENABLED_UTF8 },
	{ "IMAP4rev2", IMAP_ENABLED_REV2 },
};

enum imap_cmd_result imap_cmd_enable(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args == 0)
		return imap_cmd_bad(cmd, "ENABLE needs capability names");
	struct buf b = BUF_INIT;
	buf_append_str(&b, "* ENABLED");
	for (size_t i = 0; i < cmd->n_args; i++) {
		const char *name = imap_arg_atom(&cmd->args[i]);
		if (name == NULL) {
			buf_free(&b);
			return imap_cmd_bad(cmd, "Invalid capability name");
		}
		for (size_t j = 0; j < N_ELEMENTS(extensions); j++) {
			if (strcasecmp(name, extensions[j].name) != 0)
				continue;
			/* Only newly enabled ones are listed. */
			if ((s->enabled & extensions[j].bit) != extensions[j].bit)
				buf_appendf(&b, " %s", extensions[j].name);
			s->enabled |= extensions[j].bit;
		}
	}
	buf_append_str(&b, "\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	return imap_cmd_ok(cmd, "Enabled");
}
