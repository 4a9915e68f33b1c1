/* imap_commands.c — the command table. Runs in the mail workers. */
#include "imap_commands.h"

#include <strings.h>

#define ANY IMAP_STATE_ANY
#define NOAUTH IMAP_STATE_NOAUTH
#define LOGGEDIN IMAP_STATE_LOGGEDIN
#define SELECTED IMAP_STATE_SELECTED

static const struct imap_command commands[] = {
	{ "CAPABILITY", imap_cmd_capability, ANY, 0 },
	{ "NOOP", imap_cmd_noop, ANY, 0 },
	{ "LOGOUT", imap_cmd_logout, ANY, IMAP_CMDF_NO_UPDATE },
	{ "STARTTLS", imap_cmd_starttls, NOAUTH, 0 },
	{ "AUTHENTICATE", imap_cmd_authenticate, NOAUTH, 0 },
	{ "LOGIN", imap_cmd_login, NOAUTH, 0 },
	{ "ENABLE", imap_cmd_enable, LOGGEDIN, 0 },
	{ "ID", imap_cmd_id, ANY, 0 },
	{ "SELECT", imap_cmd_select, LOGGEDIN, IMAP_CMDF_NO_UPDATE },
	{ "EXAMINE", imap_cmd_examine, LOGGEDIN, IMAP_CMDF_NO_UPDATE },
	{ "CREATE", imap_cmd_create, LOGGEDIN, 0 },
	{ "DELETE", imap_cmd_delete, LOGGEDIN, 0 },
	{ "RENAME", imap_cmd_rename, LOGGEDIN, 0 },
	{ "SUBSCRIBE", imap_cmd_subscribe, LOGGEDIN, 0 },
	{ "UNSUBSCRIBE", imap_cmd_unsubscribe, LOGGEDIN, 0 },
	{ "LIST", imap_cmd_list, LOGGEDIN, 0 },
	{ "LSUB", imap_cmd_lsub, LOGGEDIN, 0 },
	{ "NAMESPACE", imap_cmd_namespace, LOGGEDIN, 0 },
	{ "STATUS", imap_cmd_status, LOGGEDIN, 0 },
	{ "APPEND", imap_cmd_append, LOGGEDIN, 0 },
	{ "IDLE", imap_cmd_idle, LOGGEDIN, IMAP_CMDF_NO_UPDATE },
	{ "CHECK", imap_cmd_check, SELECTED, 0 },
	{ "CLOSE", imap_cmd_close, SELECTED, IMAP_CMDF_NO_UPDATE },
	{ "UNSELECT", imap_cmd_unselect, SELECTED, IMAP_CMDF_NO_UPDATE },
	{ "EXPUNGE", imap_cmd_expunge, SELECTED, IMAP_CMDF_UID },
	{ "SEARCH", imap_cmd_search, SELECTED, IMAP_CMDF_UID | IMAP_CMDF_NO_EXPUNGE },
	{ "FETCH", imap_cmd_fetch, SELECTED, IMAP_CMDF_UID | IMAP_CMDF_NO_EXPUNGE },
	{ "STORE", imap_cmd_store, SELECTED, IMAP_CMDF_UID | IMAP_CMDF_NO_EXPUNGE },
	{ "COPY", imap_cmd_copy, SELECTED, IMAP_CMDF_UID },
	{ "MOVE", imap_cmd_move, SELECTED, IMAP_CMDF_UID },
	{ "SORT", imap_cmd_sort, SELECTED, IMAP_CMDF_UID | IMAP_CMDF_NO_EXPUNGE },
	{ "THREAD", imap_cmd_thread, SELECTED, IMAP_CMDF_UID | IMAP_CMDF_NO_EXPUNGE },
	{ "COMPRESS", imap_cmd_compress, LOGGEDIN, 0 },
	{ "GETQUOTA", imap_cmd_getquota, LOGGEDIN, 0 },
	{ "GETQUOTAROOT", imap_cmd_getquotaroot, LOGGEDIN, 0 },
	{ "SETQUOTA", imap_cmd_setquota, LOGGEDIN, 0 },
};

const struct imap_command *imap_command_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(commands); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}
