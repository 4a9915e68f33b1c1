/* imap_append.c — receiving APPEND's message literal straight into a
 * store save (tmp/ file), checked against APPENDLIMIT and the quota
 * before the client is told to send it. Runs in the mail workers. The
 * literal is the client's message, stored as given. */
#include "imap_append.h"
#include "log.h"

#include <stdlib.h>
#include <strings.h>

bool imap_append_is_message(struct imap_session *s, const struct imap_parse_event *ev)
{
	(void)s;
	if (ev->literal_depth == 0)
		return ev->literal_pos >= 1;
	/* UTF8 (~{n}) of RFC 6855: a list right after the atom UTF8. */
	if (ev->literal_depth == 1 && ev->n_args >= 3 && ev->literal_pos == 0 &&
	    ev->args[ev->n_args - 1].type == IMAP_ARG_LIST &&
	    imap_arg_atom_is(&ev->args[ev->n_args - 2], "UTF8"))
		return true;
	return false;
}

int imap_append_begin(struct imap_session *s, const struct imap_parse_event *ev,
		      const char **code_r, const char **text_r)
{
	*code_r = NULL;
	if (s->state != IMAP_STATE_AUTH && s->state != IMAP_STATE_SELECTED) {
		*code_r = "CANNOT";
		*text_r = "Log in first";
		return -1;
	}
	if (s->append != NULL) {
		*code_r = "CANNOT";
		*text_r = "Only one message per APPEND";
		return -1;
	}
	const struct config *cfg = s->server->cfg;
	if (ev->literal_size > cfg->message_size_limit) {
		*code_r = "TOOBIG";
		*text_r = "Message is larger than APPENDLIMIT";
		return -1;
	}
	if (ev->literal_size == 0) {
		*code_r = "CANNOT";
		*text_r = "Cannot store an empty message";
		return -1;
	}
	const char *name = ev->n_args > 0 ? imap_arg_astring(&ev->args[0]) : NULL;
	char *canon = name != NULL ? imap_mailbox_from_client(s, name) : NULL;
	if (canon == NULL) {
		*code_r = "CANNOT";
		*text_r = "Invalid mailbox name";
		return -1;
	}
	struct store_mailbox *mb;
	int r = store_mailbox_open(s->store, canon, &mb);
	free(canon);
	if (r < 0) {
		if (store_user_error(s->store) == STORE_ERR_NONEXISTENT) {
			*code_r = "TRYCREATE";
			*text_r = "Mailbox doesn't exist";
		} else {
			*code_r = "CANNOT";
			*text_r = store_user_error_text(s->store);
		}
		return -1;
	}
	uint64_t quota = store_user_quota(s->store), used = 0;
	if (quota > 0 && store_user_usage(s->store, &used, NULL) == 0 &&
	    used + ev->literal_size > quota) {
		store_mailbox_close(&mb);
		*code_r = "OVERQUOTA";
		*text_r = "Quota exceeded";
		return -1;
	}
	struct store_save *save = store_save_begin(mb);
	if (save == NULL) {
		store_mailbox_close(&mb);
		*code_r = "UNAVAILABLE";
		*text_r = "Cannot store the message now";
		return -1;
	}
	struct imap_append *a = x_calloc(1, sizeof(*a));
	a->mb = mb;
	a->save = save;
	s->append = a;
	return 0;
}

void imap_append_data(struct imap_session *s, const void *data, size_t len)
{
	struct imap_append *a = s->append;
	if (a == NULL || len == 0 || a->failed)
		return;
	/* Messages are stored with CRLF line endings: a bare LF gets its CR
	 * (so RFC822.SIZE and every section size agree with what is sent). */
	const char *p = data, *end = p + len, *start = p;
	for (; p < end; p++) {
		if (*p == '\n' && !(p > start ? p[-1] == '\r' : a->last_cr)) {
			if ((p > start && store_save_write(a->save, start, (size_t)(p - start)) < 0) ||
			    store_save_write(a->save, "\r", 1) < 0) {
				a->failed = true;
				return;
			}
			start = p;
		}
	}
	if (p > start && store_save_write(a->save, start, (size_t)(p - start)) < 0)
		a->failed = true;
	a->last_cr = ((const char *)data)[len - 1] == '\r';
	a->size += len;
}

void imap_append_free(struct imap_append **ap)
{
	struct imap_append *a = *ap;
	if (a == NULL)
		return;
	*ap = NULL;
	store_save_abort(&a->save);
	store_mailbox_close(&a->mb);
	free(a);
}
