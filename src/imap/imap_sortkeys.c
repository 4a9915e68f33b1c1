/* imap_sortkeys.c — extracting SORT/THREAD values from message
 * headers (the header cache when the message has one). Pure: runs in
 * the mail workers' loops and helper threads. Parses untrusted headers
 * through src/mail. */
#include "imap_sortkeys.h"
#include "imap_msgdata.h"
#include "mail_address.h"
#include "mail_date.h"
#include "mail_fold.h"
#include "mail_rfc2047.h"
#include "mail_subject.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REFS 100

static char *first_mailbox(struct imap_msgdata *md, const char *field)
{
	char *v = imap_msgdata_header_get(md, field);
	if (v == NULL)
		return x_strdup("");
	struct mail_address_list list;
	mail_address_parse(v, strlen(v), false, &list);
	free(v);
	char *out = NULL;
	for (size_t i = 0; i < list.n && out == NULL; i++)
		if (list.v[i].domain != NULL && list.v[i].mailbox != NULL)
			out = mail_fold_dup(list.v[i].mailbox, strlen(list.v[i].mailbox), NULL);
	mail_address_list_free(&list);
	return out != NULL ? out : x_strdup("");
}

/* Message ids "<...>" in a header value, in order. */
static void parse_ids(const char *v, char ***ids, size_t *n)
{
	const char *p = v;
	while (p != NULL && *n < MAX_REFS) {
		const char *lt = strchr(p, '<');
		if (lt == NULL)
			break;
		const char *gt = strchr(lt, '>');
		if (gt == NULL)
			break;
		*ids = x_reallocarray(*ids, *n + 1, sizeof(char *));
		(*ids)[(*n)++] = x_strndup(lt, (size_t)(gt - lt + 1));
		p = gt + 1;
	}
}

void imap_sortkeys_compute(struct imap_msgdata *md, unsigned need, struct imap_sortmsg *sm)
{
	sm->uid = md->uid;
	sm->size = md->size;
	sm->arrival = md->idate;
	sm->date = md->idate;
	if (need & IMAP_NEED_DATE) {
		char *d = imap_msgdata_header_get(md, "Date");
		time_t t;
		int tz;
		if (d != NULL && mail_date_parse(d, strlen(d), &t, &tz) == 0)
			sm->date = t;
		free(d);
	}
	if (need & IMAP_NEED_SUBJECT) {
		char *subj = imap_msgdata_header_get(md, "Subject");
		struct buf base = BUF_INIT;
		if (subj != NULL)
			mail_subject_base(subj, strlen(subj), &base, &sm->reply);
		sm->subject = mail_fold_dup(base.data != NULL ? base.data : "", base.len, NULL);
		buf_free(&base);
		free(subj);
	}
	if (need & IMAP_NEED_ADDR) {
		sm->from = first_mailbox(md, "From");
		sm->to = first_mailbox(md, "To");
		sm->cc = first_mailbox(md, "Cc");
	}
	if (need & IMAP_NEED_REFS) {
		char *id = imap_msgdata_header_get(md, "Message-ID");
		char **ids = NULL;
		size_t nids = 0;
		if (id != NULL)
			parse_ids(id, &ids, &nids);
		if (nids > 0) {
			sm->message_id = ids[0];
			for (size_t i = 1; i < nids; i++)
				free(ids[i]);
		}
		free(ids);
		free(id);
		char *refs = imap_msgdata_header_get(md, "References");
		if (refs != NULL)
			parse_ids(refs, &sm->refs, &sm->n_refs);
		free(refs);
		if (sm->n_refs == 0) {
			char *irt = imap_msgdata_header_get(md, "In-Reply-To");
			if (irt != NULL) {
				char **r = NULL;
				size_t nr = 0;
				parse_ids(irt, &r, &nr);
				if (nr > 0) {
					sm->refs = x_calloc(1, sizeof(char *));
					sm->refs[0] = r[0];
					sm->n_refs = 1;
					for (size_t i = 1; i < nr; i++)
						free(r[i]);
				}
				free(r);
				free(irt);
			}
		}
	}
}

void imap_sortkeys_free(struct imap_sortmsg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].subject);
		free(msgs[i].from);
		free(msgs[i].to);
		free(msgs[i].cc);
		free(msgs[i].message_id);
		for (size_t j = 0; j < msgs[i].n_refs; j++)
			free(msgs[i].refs[j]);
		free(msgs[i].refs);
	}
	free(msgs);
}
