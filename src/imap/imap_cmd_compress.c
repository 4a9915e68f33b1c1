/* imap_cmd_compress.c — IMAP COMPRESS=DEFLATE (RFC 4978): after the OK,
 * both directions go through raw deflate in the connection layer.
 * Runs in the mail workers. */
#include "imap_commands.h"

enum imap_cmd_result imap_cmd_compress(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 1)
		return imap_cmd_bad(cmd, "COMPRESS needs a mechanism");
	if (!imap_arg_atom_is(&cmd->args[0], "DEFLATE"))
		return imap_cmd_no(cmd, "Unknown compression mechanism");
	if (s->compress)
		return imap_cmd_no(cmd, "[COMPRESSIONACTIVE] Compression is already on");
	imap_cmd_reply(cmd, "OK", "DEFLATE active");
	const char *error;
	if (conn_start_compress(s->conn, &error) < 0) {
		imap_session_bye(s, error);
		return IMAP_CMD_DONE;
	}
	s->compress = true;
	return IMAP_CMD_DONE;
}
