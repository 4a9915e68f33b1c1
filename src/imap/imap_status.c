/* imap_status.c — STATUS items and the "* STATUS" response. Runs in the
 * mail workers. Parses client input (item names). */
#include "imap_status.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	unsigned bit;
} items[] = {
	{ "MESSAGES", IMAP_STATUS_MESSAGES },
	{ "RECENT", IMAP_STATUS_RECENT },
	{ "UIDNEXT", IMAP_STATUS_UIDNEXT },
	{ "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY },
	{ "UNSEEN", IMAP_STATUS_UNSEEN },
	{ "DELETED", IMAP_STATUS_DELETED },
	{ "SIZE", IMAP_STATUS_SIZE },
	{ "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ },
	{ "MAILBOXID", IMAP_STATUS_MAILBOXID },
	{ "APPENDLIMIT", IMAP_STATUS_APPENDLIMIT },
};

int imap_status_parse_items(struct imap_cmd *cmd, const struct imap_arg *list, size_t n,
			    unsigned *items_r)
{
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *a = imap_arg_atom(&list[i]);
		size_t j;
		for (j = 0; a != NULL && j < N_ELEMENTS(items); j++)
			if (strcasecmp(a, items[j].name) == 0)
				break;
		if (a == NULL || j == N_ELEMENTS(items)) {
			imap_cmd_bad(cmd, "Unknown STATUS item");
			return -1;
		}
		bits |= items[j].bit;
	}
	if (bits & IMAP_STATUS_HIGHESTMODSEQ)
		cmd->s->condstore_used = true;
	*items_r = bits;
	return 0;
}

int imap_status_send(struct imap_session *s, const char *name, unsigned want)
{
	struct store_mailbox_info info;
	if (store_mailbox_status(s->store, name, &info) < 0)
		return -1;
	/* The selected mailbox: what this session sees is the truth. */
	uint32_t recent = info.recent;
	if (s->view != NULL && strcmp(store_mailbox_name(s->view->mb), info.name) == 0)
		recent = store_view_recent_count(s->view) + info.recent;
	struct buf b = BUF_INIT;
	buf_append_str(&b, "* STATUS ");
	imap_append_mailbox(s, &b, info.name);
	buf_append_str(&b, " (");
	size_t start = b.len;
#define ITEM(bit, fmt, ...) \
	if (want & (bit)) { \
		if (b.len > start) \
			buf_append_char(&b, ' '); \
		buf_appendf(&b, fmt, __VA_ARGS__); \
	}
	ITEM(IMAP_STATUS_MESSAGES, "MESSAGES %u", info.messages);
	ITEM(IMAP_STATUS_RECENT, "RECENT %u", recent);
	ITEM(IMAP_STATUS_UIDNEXT, "UIDNEXT %u", info.uidnext);
	ITEM(IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY %u", info.uidvalidity);
	ITEM(IMAP_STATUS_UNSEEN, "UNSEEN %u", info.unseen);
	ITEM(IMAP_STATUS_DELETED, "DELETED %u", info.deleted);
	ITEM(IMAP_STATUS_SIZE, "SIZE %llu", (unsigned long long)info.size);
	ITEM(IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ %llu",
	     (unsigned long long)info.highestmodseq);
	ITEM(IMAP_STATUS_MAILBOXID, "MAILBOXID (%s)", info.guid);
	ITEM(IMAP_STATUS_APPENDLIMIT, "APPENDLIMIT %llu",
	     (unsigned long long)s->server->cfg->message_size_limit);
#undef ITEM
	buf_append_str(&b, ")\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	free(info.name);
	return 0;
}
