/* imap_cmd_create.c — IMAP CREATE (RFC 9051 6.3.4), with the USE
 * parameter of RFC 6154 accepted. Runs in the mail workers. Parses
 * client input. */
#include "imap_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum imap_cmd_result imap_cmd_create(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args < 1)
		return imap_cmd_bad(cmd, "CREATE needs a mailbox name");
	unsigned special = 0;
	if (cmd->n_args == 2) {
		/* (USE (\Sent ...)) */
		const struct imap_arg *list, *uses;
		size_t n, nu;
		if (!imap_arg_list(&cmd->args[1], &list, &n) || n != 2 ||
		    !imap_arg_atom_is(&list[0], "USE") || !imap_arg_list(&list[1], &uses, &nu))
			return imap_cmd_bad(cmd, "Invalid CREATE parameters");
		static const struct { const char *name; unsigned bit; } map[] = {
			{ "\\Drafts", STORE_SPECIAL_DRAFTS }, { "\\Sent", STORE_SPECIAL_SENT },
			{ "\\Trash", STORE_SPECIAL_TRASH }, { "\\Junk", STORE_SPECIAL_JUNK },
			{ "\\Archive", STORE_SPECIAL_ARCHIVE },
		};
		for (size_t i = 0; i < nu; i++) {
			const char *u = imap_arg_atom(&uses[i]);
			size_t j;
			for (j = 0; u != NULL && j < N_ELEMENTS(map); j++)
				if (strcasecmp(u, map[j].name) == 0)
					break;
			if (u == NULL || j == N_ELEMENTS(map))
				return imap_cmd_no(cmd, "[USEATTR] Unsupported special use");
			special |= map[j].bit;
		}
	} else if (cmd->n_args != 1) {
		return imap_cmd_bad(cmd, "Invalid CREATE arguments");
	}
	char *name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (name == NULL)
		return IMAP_CMD_DONE;
	/* A trailing separator only says "will have children". */
	size_t len = strlen(name);
	if (len > 1 && name[len - 1] == STORE_HIERARCHY_SEP)
		name[len - 1] = '\0';
	int r = store_mailbox_create(s->store, name, special);
	if (r < 0) {
		free(name);
		return imap_cmd_store_error(cmd);
	}
	/* RFC 8474: the new mailbox's MAILBOXID. */
	struct store_mailbox *mb;
	char guid[33] = "";
	if (store_mailbox_open(s->store, name, &mb) == 0) {
		snprintf(guid, sizeof(guid), "%s", store_mailbox_guid(mb));
		store_mailbox_close(&mb);
	}
	free(name);
	if (guid[0] != '\0')
		return imap_cmd_ok(cmd, "[MAILBOXID (%s)] Create completed", guid);
	return imap_cmd_ok(cmd, "Create completed");
}
