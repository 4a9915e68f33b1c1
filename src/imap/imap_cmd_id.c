/* imap_cmd_id.c — IMAP ID (RFC 2971): logs what the client says and
 * names the server. Runs in the mail workers. Parses client input. */
#include <stdlib.h>
#include "imap_commands.h"
#include "log.h"

enum imap_cmd_result imap_cmd_id(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *list;
	size_t n;
	if (cmd->n_args != 1)
		return imap_cmd_bad(cmd, "ID needs one argument");
	if (imap_arg_list(&cmd->args[0], &list, &n)) {
		if (n % 2 != 0 || n > 60)
			return imap_cmd_bad(cmd, "Invalid ID parameters");
		struct buf b = BUF_INIT;
		for (size_t i = 0; i + 1 < n; i += 2) {
			bool nil;
			const char *k = imap_arg_string(&list[i]);
			const char *v = imap_arg_nstring(&list[i + 1], &nil);
			if (k == NULL || (v == NULL && !nil)) {
				buf_free(&b);
				return imap_cmd_bad(cmd, "Invalid ID parameters");
			}
			buf_appendf(&b, "%s%.30s=%.100s", b.len > 0 ? ", " : "", k, nil ? "NIL" : v);
		}
		log_info("imap[%s]: client ID: %s", s->id, buf_cstr(&b));
		buf_free(&b);
	} else if (!imap_arg_is_nil(&cmd->args[0])) {
		return imap_cmd_bad(cmd, "Invalid ID parameters");
	}
	imap_write(s, "* ID (\"name\" \"correu\" \"vendor\" \"correu\")\r\n", 42);
	return imap_cmd_ok(cmd, "ID completed");
}
