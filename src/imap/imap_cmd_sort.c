/* imap_cmd_sort.c — IMAP SORT and UID SORT (RFC 5256): ARRIVAL, CC,
 * DATE, FROM, SIZE, SUBJECT, TO, each optionally REVERSE; ties go by
 * message number. The sorting runs in the thread pool for large
 * mailboxes (imap_sortjob.c). Runs in the mail workers. Parses client
 * input. */
#include "imap_commands.h"
#include "imap_search.h"
#include "imap_sortkeys.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum sort_key { K_ARRIVAL, K_CC, K_DATE, K_FROM, K_SIZE, K_SUBJECT, K_TO };

struct criterion {
	enum sort_key key;
	bool reverse;
};

struct sort_arg {
	size_t ncrit;
	bool uid;
	struct criterion crit[16];
};

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_msgs(const void *pa, const void *pb, void *ctx)
{
	const struct imap_sortmsg *a = pa, *b = pb;
	const struct sort_arg *sa = ctx;
	for (size_t i = 0; i < sa->ncrit; i++) {
		int c = 0;
		switch (sa->crit[i].key) {
		case K_ARRIVAL: c = cmp_i64(a->arrival, b->arrival); break;
		case K_DATE: c = cmp_i64(a->date, b->date); break;
		case K_SIZE: c = cmp_i64((int64_t)a->size, (int64_t)b->size); break;
		case K_SUBJECT: c = strcmp(a->subject, b->subject); break;
		case K_FROM: c = strcmp(a->from, b->from); break;
		case K_TO: c = strcmp(a->to, b->to); break;
		case K_CC: c = strcmp(a->cc, b->cc); break;
		}
		if (c != 0)
			return sa->crit[i].reverse ? -c : c;
	}
	return a->msn < b->msn ? -1 : a->msn > b->msn;
}

/* In a helper thread (imap_sortjob_write_fn). */
static void sort_write(struct imap_sortmsg *msgs, size_t n, const void *arg, struct buf *out)
{
	const struct sort_arg *sa = arg;
	qsort_r(msgs, n, sizeof(*msgs), cmp_msgs, (void *)sa);
	buf_append_str(out, "* SORT");
	for (size_t i = 0; i < n; i++) {
		buf_append_char(out, ' ');
		buf_append_u32(out, sa->uid ? msgs[i].uid : msgs[i].msn);
	}
	buf_append_str(out, "\r\n");
}

struct sort_cmd {
	struct imap_sortjob *job;
};

static void sort_cmd_free(struct imap_cmd *cmd)
{
	struct sort_cmd *c = cmd->ctx;
	if (c->job != NULL)
		imap_sortjob_cancel(c->job);
	free(c);
}

static enum imap_cmd_result sort_reply(struct imap_cmd *cmd, int ret, struct buf *out)
{
	if (ret < 0)
		return imap_cmd_store_error(cmd);
	imap_write(cmd->s, out->data != NULL ? out->data : "", out->len);
	return imap_cmd_ok(cmd, "SORT completed");
}

static void sort_done(struct imap_cmd *cmd, int ret, struct buf *out)
{
	struct sort_cmd *c = cmd->ctx;
	struct conn *conn = cmd->s->conn;
	c->job = NULL;
	conn_cork(conn);
	(void)sort_reply(cmd, ret, out);
	imap_cmd_done(cmd);
	conn_uncork(conn);
}

int imap_search_options(struct imap_cmd *cmd, bool allow_return, unsigned *ret_r,
			bool *esearch_r, const char **charset_r);

enum imap_cmd_result imap_cmd_sort(struct imap_cmd *cmd)
{
	const struct imap_arg *l;
	size_t ln;
	if (cmd->n_args < 3 || !imap_arg_list(&cmd->args[0], &l, &ln) || ln == 0)
		return imap_cmd_bad(cmd, "SORT needs criteria, a charset and search keys");
	struct sort_arg *sa = x_calloc(1, sizeof(*sa));
	struct criterion *crit = sa->crit;
	size_t ncrit = 0;
	unsigned need = 0;
	static const struct { const char *name; enum sort_key key; unsigned need; } names[] = {
		{ "ARRIVAL", K_ARRIVAL, 0 }, { "CC", K_CC, IMAP_NEED_ADDR },
		{ "DATE", K_DATE, IMAP_NEED_DATE }, { "FROM", K_FROM, IMAP_NEED_ADDR },
		{ "SIZE", K_SIZE, 0 }, { "SUBJECT", K_SUBJECT, IMAP_NEED_SUBJECT },
		{ "TO", K_TO, IMAP_NEED_ADDR },
	};
	bool reverse = false;
	for (size_t i = 0; i < ln; i++) {
		if (imap_arg_atom_is(&l[i], "REVERSE")) {
			reverse = true;
			continue;
		}
		size_t j;
		for (j = 0; j < N_ELEMENTS(names); j++)
			if (imap_arg_atom_is(&l[i], names[j].name))
				break;
		if (j == N_ELEMENTS(names) || ncrit == N_ELEMENTS(sa->crit)) {
			free(sa);
			return imap_cmd_bad(cmd, "Invalid sort criterion");
		}
		crit[ncrit].key = names[j].key;
		crit[ncrit].reverse = reverse;
		need |= names[j].need;
		ncrit++;
		reverse = false;
	}
	if (reverse || ncrit == 0) {
		free(sa);
		return imap_cmd_bad(cmd, "Invalid sort criteria");
	}
	sa->ncrit = ncrit;
	sa->uid = cmd->uid;
	const char *charset = imap_arg_astring(&cmd->args[1]);
	if (charset == NULL) {
		free(sa);
		return imap_cmd_bad(cmd, "Invalid charset");
	}
	struct imap_search *search = x_calloc(1, sizeof(*search));
	const char *error = NULL;
	bool badcharset;
	if (imap_search_parse(cmd->args + 2, cmd->n_args - 2, charset, search, &error,
			      &badcharset) < 0) {
		free(search);
		free(sa);
		if (badcharset)
			return imap_cmd_no(cmd, "%s", imap_search_badcharset());
		return imap_cmd_bad(cmd, "%s", error);
	}
	struct sort_cmd *c = x_calloc(1, sizeof(*c));
	cmd->ctx = c;
	cmd->ctx_free = sort_cmd_free;
	struct buf out = BUF_INIT;
	int r = imap_sortjob_start(cmd, search, need, sort_write, sa, sort_done, &c->job, &out);
	if (r > 0)
		return IMAP_CMD_ASYNC;
	enum imap_cmd_result res = sort_reply(cmd, r, &out);
	buf_free(&out);
	return res;
}
