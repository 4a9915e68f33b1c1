/* imap_commands.h — the IMAP command table: name, handler, states in
 * which it is allowed and flags; one handler per imap_cmd_<name>.c.
 * Runs in the mail workers. */
#ifndef CORREU_IMAP_COMMANDS_H
#define CORREU_IMAP_COMMANDS_H

#include "imap_session.h"

enum imap_command_flags {
	IMAP_CMDF_UID = 1 << 0,		/* may follow "UID" */
	IMAP_CMDF_NO_EXPUNGE = 1 << 1,	/* no EXPUNGE replies (non-UID form) */
	IMAP_CMDF_NO_UPDATE = 1 << 2,	/* handler sends its own updates */
};

typedef enum imap_cmd_result imap_cmd_handler_t(struct imap_cmd *cmd);

struct imap_command {
	const char *name;
	imap_cmd_handler_t *handler;
	unsigned states;		/* enum imap_state bits */
	unsigned flags;			/* enum imap_command_flags */
};

/* Looks up a command name (case-insensitive); NULL if unknown. */
const struct imap_command *imap_command_find(const char *name);

imap_cmd_handler_t imap_cmd_capability, imap_cmd_noop, imap_cmd_logout, imap_cmd_starttls,
	imap_cmd_authenticate, imap_cmd_login, imap_cmd_enable, imap_cmd_id,
	imap_cmd_select, imap_cmd_examine, imap_cmd_create, imap_cmd_delete,
	imap_cmd_rename, imap_cmd_subscribe, imap_cmd_unsubscribe, imap_cmd_list,
	imap_cmd_lsub, imap_cmd_namespace, imap_cmd_status, imap_cmd_append,
	imap_cmd_idle, imap_cmd_check, imap_cmd_close, imap_cmd_unselect,
	imap_cmd_expunge, imap_cmd_search, imap_cmd_fetch, imap_cmd_store,
	imap_cmd_copy, imap_cmd_move, imap_cmd_sort, imap_cmd_thread,
	imap_cmd_compress, imap_cmd_getquota, imap_cmd_getquotaroot,
	imap_cmd_setquota;

#endif
