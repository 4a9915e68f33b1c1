/* imap_cmd_sort.c — IMAP SORT and UID SORT (RFC 5256): ARRIVAL, CC,
 * DATE, FROM, SIZE, SUBJECT, TO, each optionally REVERSE; ties go by
 * message number. Runs in the mail workers. Parses client input. */
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

static struct criterion *g_crit;	/* qsort has no context argument */
static size_t g_ncrit;

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_msgs(const void *pa, const void *pb)
{
	const struct imap_sortmsg *a = pa, *b = pb;
	for (size_t i = 0; i < g_ncrit; i++) {
		int c = 0;
		switch (g_crit[i].key) {
		case K_ARRIVAL: c = cmp_i64(a->arrival, b->arrival); break;
		case K_DATE: c = cmp_i64(a->date, b->date); break;
		case K_SIZE: c = cmp_i64((int64_t)a->size, (int64_t)b->size); break;
		case K_SUBJECT: c = strcmp(a->subject, b->subject); break;
		case K_FROM: c = strcmp(a->from, b->from); break;
		case K_TO: c = strcmp(a->to, b->to); break;
		case K_CC: c = strcmp(a->cc, b->cc); break;
		}
		if (c != 0)
			return g_crit[i].reverse ? -c : c;
	}
	return a->msn < b->msn ? -1 : a->msn > b->msn;
}

int imap_search_options(struct imap_cmd *cmd, bool allow_return, unsigned *ret_r,
			bool *esearch_r, const char **charset_r);

enum imap_cmd_result imap_cmd_sort(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *l;
	size_t ln;
	if (cmd->n_args < 3 || !imap_arg_list(&cmd->args[0], &l, &ln) || ln == 0)
		return imap_cmd_bad(cmd, "SORT needs criteria, a charset and search keys");
	struct criterion crit[16];
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
		if (j == N_ELEMENTS(names) || ncrit == N_ELEMENTS(crit))
			return imap_cmd_bad(cmd, "Invalid sort criterion");
		crit[ncrit].key = names[j].key;
		crit[ncrit].reverse = reverse;
		need |= names[j].need;
		ncrit++;
		reverse = false;
	}
	if (reverse || ncrit == 0)
		return imap_cmd_bad(cmd, "Invalid sort criteria");
	const char *charset = imap_arg_astring(&cmd->args[1]);
	struct imap_search search;
	const char *error = NULL;
	bool badcharset;
	if (charset == NULL)
		return imap_cmd_bad(cmd, "Invalid charset");
	if (imap_search_parse(cmd->args + 2, cmd->n_args - 2, charset, &search, &error,
			      &badcharset) < 0) {
		if (badcharset)
			return imap_cmd_no(cmd, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
		return imap_cmd_bad(cmd, "%s", error);
	}
	uint32_t *uids;
	size_t n;
	uint64_t modseq;
	int r = imap_search_run(s, &search, &uids, &n, &modseq);
	imap_search_free(&search);
	if (r < 0)
		return imap_cmd_store_error(cmd);
	struct imap_sortmsg *msgs;
	int got = imap_sortkeys_load(s, uids, n, need, &msgs);
	free(uids);
	if (got < 0)
		return imap_cmd_store_error(cmd);
	g_crit = crit;
	g_ncrit = ncrit;
	qsort(msgs, (size_t)got, sizeof(*msgs), cmp_msgs);
	struct buf b = BUF_INIT;
	buf_append_str(&b, "* SORT");
	for (int i = 0; i < got; i++)
		buf_appendf(&b, " %u", cmd->uid ? msgs[i].uid : msgs[i].msn);
	buf_append_str(&b, "\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	imap_sortkeys_free(msgs, (size_t)got);
	return imap_cmd_ok(cmd, "SORT completed");
}
