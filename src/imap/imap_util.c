/* imap_util.c — helpers shared by the IMAP commands: mailbox names in
 * the client's form, IMAP strings, message sets, flag lists. Runs in the
 * mail workers. Parses client input (names, sets, flags). */
#include "imap_session.h"
#include "imap_seqset.h"
#include "mail_imapstr.h"
#include "store_mutf7.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *imap_mailbox_from_client(struct imap_session *s, const char *name)
{
	size_t len = strlen(name);
	if (imap_session_utf8(s)) {
		if (!store_utf8_valid(name, len))
			return NULL;
		return x_strdup(name);
	}
	struct buf b = BUF_INIT;
	if (store_mutf7_to_utf8(name, len, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

char *imap_cmd_mailbox_arg(struct imap_cmd *cmd, const struct imap_arg *arg)
{
	const char *name = imap_arg_astring(arg);
	if (name == NULL) {
		imap_cmd_bad(cmd, "Invalid mailbox name");
		return NULL;
	}
	char *canon = imap_mailbox_from_client(cmd->s, name);
	if (canon == NULL)
		imap_cmd_no(cmd, "[CANNOT] Mailbox name is not valid %s",
			    imap_session_utf8(cmd->s) ? "UTF-8" : "modified UTF-7");
	return canon;
}

void imap_append_string(struct buf *out, const char *str, size_t len, bool utf8)
{
	mail_imapstr_append(out, str, len, utf8);
}

void imap_append_mailbox(struct imap_session *s, struct buf *out, const char *name)
{
	if (imap_session_utf8(s)) {
		mail_imapstr_append(out, name, strlen(name), true);
		return;
	}
	struct buf m = BUF_INIT;
	if (store_utf8_to_mutf7(name, strlen(name), &m) < 0)
		buf_append_str(&m, name);
	mail_imapstr_append(out, m.data, m.len, false);
	buf_free(&m);
}

void imap_append_astring(struct buf *out, const char *str, bool utf8)
{
	size_t len = strlen(str);
	bool atom = len > 0 && strcasecmp(str, "NIL") != 0;
	for (size_t i = 0; atom && i < len; i++) {
		unsigned char c = (unsigned char)str[i];
		atom = c > 0x20 && c < 0x7f && strchr("(){ %*\"\\]", c) == NULL;
	}
	if (atom)
		buf_append(out, str, len);
	else
		mail_imapstr_append(out, str, len, utf8);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int imap_cmd_uidset(struct imap_cmd *cmd, const char *set, bool uid,
		    uint32_t **uids_r, size_t *n_r)
{
	struct store_view *v = cmd->s->view;
	struct imap_seqset ss;
	*uids_r = NULL;
	*n_r = 0;
	if (set != NULL && strcmp(set, "$") == 0) {
		/* SEARCHRES: the saved result, minus what left the view. */
		uint32_t *out = x_calloc(cmd->s->n_searchres + 1, sizeof(uint32_t));
		size_t n = 0;
		for (size_t i = 0; i < cmd->s->n_searchres; i++)
			if (store_view_msn(v, cmd->s->searchres[i]) != 0)
				out[n++] = cmd->s->searchres[i];
		*uids_r = out;
		*n_r = n;
		return 0;
	}
	if (set == NULL || imap_seqset_parse(set, 100000, &ss) < 0) {
		imap_cmd_bad(cmd, "Invalid message set");
		return -1;
	}
	uint32_t *out = NULL;
	size_t n = 0, cap = 0;
	if (uid) {
		uint32_t star = v->count > 0 ? v->uids[v->count - 1] : 0;
		imap_seqset_normalize(&ss, star);
		for (size_t i = 0; i < ss.n; i++) {
			uint32_t first = store_view_msn(v, ss.r[i].lo);
			if (first == 0) {
				/* Binary search for the first UID >= lo. */
				uint32_t lo = 0, hi = v->count;
				while (lo < hi) {
					uint32_t mid = lo + (hi - lo) / 2;
					if (v->uids[mid] < ss.r[i].lo)
						lo = mid + 1;
					else
						hi = mid;
				}
				first = lo + 1;
			}
			for (uint32_t k = first - 1; k < v->count && v->uids[k] <= ss.r[i].hi; k++) {
				if (n == cap) {
					cap = cap == 0 ? 64 : cap * 2;
					out = x_reallocarray(out, cap, sizeof(uint32_t));
				}
				out[n++] = v->uids[k];
			}
		}
	} else {
		for (size_t i = 0; i < ss.n; i++) {
			if ((ss.r[i].hi != IMAP_SEQ_STAR && ss.r[i].hi > v->count) ||
			    (ss.r[i].lo != IMAP_SEQ_STAR && ss.r[i].lo > v->count)) {
				imap_seqset_free(&ss);
				imap_cmd_bad(cmd, "Invalid message sequence number");
				return -1;
			}
		}
		imap_seqset_normalize(&ss, v->count);
		for (size_t i = 0; i < ss.n; i++) {
			for (uint32_t msn = ss.r[i].lo; msn <= ss.r[i].hi && msn <= v->count; msn++) {
				if (n == cap) {
					cap = cap == 0 ? 64 : cap * 2;
					out = x_reallocarray(out, cap, sizeof(uint32_t));
				}
				out[n++] = v->uids[msn - 1];
			}
		}
	}
	imap_seqset_free(&ss);
	/* Ranges were merged, so the UIDs are sorted and distinct; keep the
	 * guarantee explicit for callers that rely on it. */
	if (n > 1)
		qsort(out, n, sizeof(uint32_t), cmp_u32);
	*uids_r = out;
	*n_r = n;
	return 0;
}

static const struct {
	const char *name;
	uint32_t flag;
} system_flags[] = {
	{ "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Draft", STORE_FLAG_DRAFT },
	{ "$Forwarded", STORE_FLAG_FORWARDED },
};

static bool valid_keyword(const char *k)
{
	if (*k == '\0' || strlen(k) > 100)
		return false;
	for (const unsigned char *p = (const unsigned char *)k; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	return true;
}

int imap_cmd_parse_flags(struct imap_cmd *cmd, const struct imap_arg *list, size_t n,
			 uint32_t *flags_r, const char ***keywords_r, size_t *n_keywords_r)
{
	uint32_t flags = 0;
	const char **kw = NULL;
	size_t nkw = 0;
	for (size_t i = 0; i < n; i++) {
		const char *f = imap_arg_atom(&list[i]);
		if (f == NULL) {
			free(kw);
			imap_cmd_bad(cmd, "Invalid flag");
			return -1;
		}
		size_t j;
		for (j = 0; j < N_ELEMENTS(system_flags); j++)
			if (strcasecmp(f, system_flags[j].name) == 0)
				break;
		if (j < N_ELEMENTS(system_flags)) {
			flags |= system_flags[j].flag;
			continue;
		}
		if (f[0] == '\\') {
			if (strcasecmp(f, "\\Recent") == 0)
				continue;	/* cannot be set; ignored */
			free(kw);
			imap_cmd_bad(cmd, "Invalid system flag %s", f);
			return -1;
		}
		if (!valid_keyword(f)) {
			free(kw);
			imap_cmd_bad(cmd, "Invalid keyword");
			return -1;
		}
		kw = x_reallocarray(kw, nkw + 1, sizeof(char *));
		kw[nkw++] = f;
	}
	*flags_r = flags;
	*keywords_r = kw;
	*n_keywords_r = nkw;
	return 0;
}

void imap_append_flags(struct imap_session *s, struct buf *out, uint32_t flags,
		       uint64_t keywords, bool recent)
{
	size_t start = out->len;
	buf_append_char(out, '(');
	for (size_t i = 0; i < N_ELEMENTS(system_flags); i++) {
		if (flags & system_flags[i].flag) {
			if (out->len > start + 1)
				buf_append_char(out, ' ');
			buf_append_str(out, system_flags[i].name);
		}
	}
	if (keywords != 0 && s->view != NULL) {
		const struct strv *kw = store_mailbox_keywords(s->view->mb);
		for (size_t i = 0; i < kw->n && i < 64; i++) {
			if (keywords & (1ULL << i)) {
				if (out->len > start + 1)
					buf_append_char(out, ' ');
				buf_append_str(out, kw->v[i]);
			}
		}
	}
	if (recent && (s->enabled & IMAP_ENABLED_REV2) == 0) {
		if (out->len > start + 1)
			buf_append_char(out, ' ');
		buf_append_str(out, "\\Recent");
	}
	buf_append_char(out, ')');
}

void imap_send_flags_lines(struct imap_session *s)
{
	const struct strv *kw = store_mailbox_keywords(s->view->mb);
	struct buf b = BUF_INIT;
	buf_append_str(&b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded");
	for (size_t i = 0; i < kw->n; i++)
		buf_appendf(&b, " %s", kw->v[i]);
	buf_append_str(&b, ")\r\n");
	if (s->view->readonly) {
		buf_append_str(&b, "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
	} else {
		buf_append_str(&b, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded");
		for (size_t i = 0; i < kw->n; i++)
			buf_appendf(&b, " %s", kw->v[i]);
		buf_appendf(&b, "%s)] Flags permitted\r\n", kw->n < 64 ? " \\*" : "");
	}
	imap_write(s, b.data, b.len);
	buf_free(&b);
	s->keywords_sent = (uint32_t)kw->n;
}
