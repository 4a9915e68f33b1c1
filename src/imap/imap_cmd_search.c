/* imap_cmd_search.c — IMAP SEARCH and UID SEARCH (RFC 9051 6.4.4) with
 * ESEARCH (RFC 4731) result options, SEARCHRES SAVE (RFC 5182) and
 * CONDSTORE MODSEQ (RFC 7162). Runs in the mail workers. Parses client
 * input. */
#include "imap_commands.h"
#include "imap_search.h"
#include "imap_seqset.h"

#include <stdlib.h>
#include <string.h>

enum ret_opt {
	RET_MIN = 1 << 0,
	RET_MAX = 1 << 1,
	RET_ALL = 1 << 2,
	RET_COUNT = 1 << 3,
	RET_SAVE = 1 << 4,
};

/* Parses "RETURN (...)" and "CHARSET x" before the keys. Returns the
 * index of the first key, or -1 with a reply sent. */
int imap_search_options(struct imap_cmd *cmd, bool allow_return, unsigned *ret_r,
			bool *esearch_r, const char **charset_r);
int imap_search_options(struct imap_cmd *cmd, bool allow_return, unsigned *ret_r,
			bool *esearch_r, const char **charset_r)
{
	size_t i = 0;
	*ret_r = 0;
	*esearch_r = false;
	*charset_r = NULL;
	const struct imap_arg *l;
	size_t ln;
	if (allow_return && i + 1 < cmd->n_args && imap_arg_atom_is(&cmd->args[i], "RETURN") &&
	    imap_arg_list(&cmd->args[i + 1], &l, &ln)) {
		*esearch_r = true;
		static const struct { const char *name; unsigned bit; } opts[] = {
			{ "MIN", RET_MIN }, { "MAX", RET_MAX }, { "ALL", RET_ALL },
			{ "COUNT", RET_COUNT }, { "SAVE", RET_SAVE },
		};
		for (size_t k = 0; k < ln; k++) {
			size_t j;
			for (j = 0; j < N_ELEMENTS(opts); j++)
				if (imap_arg_atom_is(&l[k], opts[j].name))
					break;
			if (j == N_ELEMENTS(opts)) {
				imap_cmd_bad(cmd, "Unknown RETURN option");
				return -1;
			}
			*ret_r |= opts[j].bit;
		}
		if (*ret_r == 0)
			*ret_r = RET_ALL;
		i += 2;
	}
	if (i + 1 < cmd->n_args && imap_arg_atom_is(&cmd->args[i], "CHARSET")) {
		*charset_r = imap_arg_astring(&cmd->args[i + 1]);
		if (*charset_r == NULL) {
			imap_cmd_bad(cmd, "Invalid charset");
			return -1;
		}
		i += 2;
	}
	return (int)i;
}

struct search_cmd {
	unsigned ret;
	bool esearch;
	bool uses_modseq;
	struct imap_search_job *job;
};

static void search_cmd_free(struct imap_cmd *cmd)
{
	struct search_cmd *c = cmd->ctx;
	if (c->job != NULL)
		imap_search_job_cancel(c->job);
	free(c);
}

/* Sends the result (uids ascending; freed here) and the tagged OK. */
static enum imap_cmd_result search_reply(struct imap_cmd *cmd, int r, uint32_t *uids, size_t n,
					 uint64_t modseq)
{
	struct imap_session *s = cmd->s;
	struct search_cmd *c = cmd->ctx;
	unsigned ret = c->ret;
	if (r < 0) {
		free(uids);
		return imap_cmd_store_error(cmd);
	}
	/* Results in UIDs or message numbers (both ascending). */
	uint32_t *nums = x_calloc(n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		nums[i] = cmd->uid ? uids[i] : store_view_msn(s->view, uids[i]);
	struct buf b = BUF_INIT;
	if (!c->esearch) {
		buf_append_str(&b, "* SEARCH");
		for (size_t i = 0; i < n; i++) {
			buf_append_char(&b, ' ');
			buf_append_u32(&b, nums[i]);
		}
		if (c->uses_modseq && n > 0)
			buf_appendf(&b, " (MODSEQ %llu)", (unsigned long long)modseq);
		buf_append_str(&b, "\r\n");
	} else if (ret != RET_SAVE) {
		buf_append_str(&b, "* ESEARCH (TAG ");
		imap_append_string(&b, cmd->tag, strlen(cmd->tag), false);
		buf_append_char(&b, ')');
		if (cmd->uid)
			buf_append_str(&b, " UID");
		if ((ret & RET_MIN) && n > 0)
			buf_appendf(&b, " MIN %u", nums[0]);
		if ((ret & RET_MAX) && n > 0)
			buf_appendf(&b, " MAX %u", nums[n - 1]);
		if ((ret & RET_ALL) && n > 0) {
			buf_append_str(&b, " ALL ");
			imap_seqset_write(&b, nums, n);
		}
		if (ret & RET_COUNT)
			buf_appendf(&b, " COUNT %zu", n);
		if (c->uses_modseq && n > 0)
			buf_appendf(&b, " MODSEQ %llu", (unsigned long long)modseq);
		buf_append_str(&b, "\r\n");
	}
	if (ret & RET_SAVE) {
		/* RFC 5182: MIN/MAX alone save just those. */
		free(s->searchres);
		s->n_searchres = 0;
		s->searchres = x_calloc(n + 1, sizeof(uint32_t));
		if ((ret & (RET_ALL | RET_COUNT)) == 0 && (ret & (RET_MIN | RET_MAX)) && n > 0) {
			if (ret & RET_MIN)
				s->searchres[s->n_searchres++] = uids[0];
			if ((ret & RET_MAX) && (n > 1 || (ret & RET_MIN) == 0))
				s->searchres[s->n_searchres++] = uids[n - 1];
		} else {
			memcpy(s->searchres, uids, n * sizeof(uint32_t));
			s->n_searchres = n;
		}
	}
	imap_write(s, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	free(nums);
	free(uids);
	return imap_cmd_ok(cmd, "SEARCH completed");
}

static void search_done(void *ctx, int ret, uint32_t *uids, size_t n, uint64_t modseq)
{
	struct imap_cmd *cmd = ctx;
	struct search_cmd *c = cmd->ctx;
	struct conn *conn = cmd->s->conn;
	c->job = NULL;
	conn_cork(conn);	/* result, updates and tagged reply in one write */
	(void)search_reply(cmd, ret, uids, n, modseq);
	imap_cmd_done(cmd);
	conn_uncork(conn);
}

enum imap_cmd_result imap_cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct search_cmd *c = x_calloc(1, sizeof(*c));
	cmd->ctx = c;
	cmd->ctx_free = search_cmd_free;
	const char *charset;
	int first = imap_search_options(cmd, true, &c->ret, &c->esearch, &charset);
	if (first < 0)
		return IMAP_CMD_DONE;
	if ((s->enabled & IMAP_ENABLED_REV2) && !c->esearch) {
		c->esearch = true;
		c->ret = RET_ALL;
	}
	struct imap_search *search = x_calloc(1, sizeof(*search));
	const char *error = NULL;
	bool badcharset;
	if (imap_search_parse(cmd->args + first, cmd->n_args - (size_t)first, charset, search,
			      &error, &badcharset) < 0) {
		free(search);
		if (badcharset)
			return imap_cmd_no(cmd, "%s", imap_search_badcharset());
		return imap_cmd_bad(cmd, "%s", error);
	}
	c->uses_modseq = search->uses_modseq;
	if (search->uses_modseq)
		s->condstore_used = true;
	uint32_t *uids;
	size_t n;
	uint64_t modseq;
	int r;
	if (imap_search_reads(search) == IMAP_SEARCH_INDEX) {
		r = imap_search_run(s, search, &uids, &n, &modseq);
		imap_search_free(search);
		free(search);
	} else {
		r = imap_search_start(s, search, search_done, cmd, &c->job, &uids, &n, &modseq);
		if (r > 0)
			return IMAP_CMD_ASYNC;	/* message files read in a helper thread */
	}
	return search_reply(cmd, r, r < 0 ? NULL : uids, r < 0 ? 0 : n, modseq);
}
