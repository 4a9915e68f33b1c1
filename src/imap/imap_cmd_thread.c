/* imap_cmd_thread.c — IMAP THREAD and UID THREAD (RFC 5256) with the
 * ORDEREDSUBJECT and REFERENCES algorithms. Trees are walked with
 * explicit stacks (reply chains can be as deep as the mailbox). The
 * threading runs in the thread pool for large mailboxes
 * (imap_sortjob.c). Runs in the mail workers. Parses client input;
 * message headers are untrusted. */
#include "imap_commands.h"
#include "imap_sortkeys.h"

#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

struct cont {
	struct imap_sortmsg *msg;	/* NULL for a dummy */
	const char *id;
	size_t parent, first, next;	/* first child, next sibling */
	int64_t date;			/* for sorting siblings */
	uint32_t msn;
};

struct tree {
	struct cont *c;
	size_t n, cap;
	/* id -> container (open addressing) */
	size_t *tab;
	size_t tabsize;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static size_t new_cont(struct tree *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		t->c = x_reallocarray(t->c, t->cap, sizeof(*t->c));
	}
	struct cont *c = &t->c[t->n];
	memset(c, 0, sizeof(*c));
	c->parent = c->first = c->next = NONE;
	return t->n++;
}

static size_t lookup(struct tree *t, const char *id, bool create)
{
	size_t h = hash_str(id) & (t->tabsize - 1);
	for (; t->tab[h] != NONE; h = (h + 1) & (t->tabsize - 1))
		if (strcmp(t->c[t->tab[h]].id, id) == 0)
			return t->tab[h];
	if (!create)
		return NONE;
	size_t i = new_cont(t);
	t->c[i].id = id;
	t->tab[h] = i;
	return i;
}

static bool is_ancestor(struct tree *t, size_t anc, size_t x)
{
	for (size_t p = x; p != NONE; p = t->c[p].parent)
		if (p == anc)
			return true;
	return false;
}

static void unlink_child(struct tree *t, size_t child)
{
	size_t p = t->c[child].parent;
	if (p == NONE)
		return;
	size_t *pp = &t->c[p].first;
	while (*pp != NONE && *pp != child)
		pp = &t->c[*pp].next;
	if (*pp == child)
		*pp = t->c[child].next;
	t->c[child].parent = NONE;
	t->c[child].next = NONE;
}

static void add_child(struct tree *t, size_t parent, size_t child)
{
	unlink_child(t, child);
	t->c[child].parent = parent;
	t->c[child].next = NONE;
	size_t *pp = &t->c[parent].first;
	while (*pp != NONE)
		pp = &t->c[*pp].next;
	*pp = child;
}

static int cmp_cont(const void *pa, const void *pb, void *tp)
{
	struct tree *t = tp;
	const struct cont *a = &t->c[*(const size_t *)pa], *b = &t->c[*(const size_t *)pb];
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->msn < b->msn ? -1 : a->msn > b->msn;
}

/* Sorts the children of p by date (a dummy takes its first child's). */
static void sort_children(struct tree *t, size_t p)
{
	size_t n = 0;
	for (size_t c = t->c[p].first; c != NONE; c = t->c[c].next)
		n++;
	if (n < 2)
		return;
	size_t *v = x_calloc(n, sizeof(size_t));
	n = 0;
	for (size_t c = t->c[p].first; c != NONE; c = t->c[c].next)
		v[n++] = c;
	qsort_r(v, n, sizeof(size_t), cmp_cont, t);
	t->c[p].first = v[0];
	for (size_t i = 0; i + 1 < n; i++)
		t->c[v[i]].next = v[i + 1];
	t->c[v[n - 1]].next = NONE;
	free(v);
}

/* Post-order over every container below root (explicit stack): sets
 * dummy dates from their first child after sorting the children. */
static void sort_all(struct tree *t, size_t root)
{
	size_t *stack = x_calloc(t->n + 1, sizeof(size_t));
	bool *done = x_calloc(t->n + 1, sizeof(bool));
	size_t sp = 0;
	stack[sp++] = root;
	while (sp > 0) {
		size_t x = stack[sp - 1];
		if (!done[x]) {
			done[x] = true;
			for (size_t c = t->c[x].first; c != NONE; c = t->c[c].next)
				stack[sp++] = c;
			continue;
		}
		sp--;
		sort_children(t, x);
		if (t->c[x].msg == NULL && t->c[x].first != NONE) {
			t->c[x].date = t->c[t->c[x].first].date;
			t->c[x].msn = t->c[t->c[x].first].msn;
		}
	}
	free(stack);
	free(done);
}

/* Writes the subtree of x (without the outer parentheses). */
static void write_thread(struct tree *t, size_t x, bool uid, struct buf *out)
{
	struct frame {
		size_t node;
		size_t child;
		bool multi;
	};
	struct frame *st = x_calloc(t->n + 1, sizeof(*st));
	size_t sp = 0;
	st[sp++] = (struct frame){ x, NONE, false };
	bool need_space = false;
	for (;;) {
		struct frame *f = &st[sp - 1];
		if (f->child == NONE && !f->multi) {
			/* First visit: the number, then decide the shape. */
			struct cont *c = &t->c[f->node];
			if (c->msg != NULL) {
				buf_appendf(out, "%s%u", need_space ? " " : "",
					    uid ? c->msg->uid : c->msg->msn);
				need_space = true;
			}
			size_t nkids = 0;
			for (size_t k = c->first; k != NONE && nkids < 2; k = t->c[k].next)
				nkids++;
			if (nkids == 1 && c->msg != NULL) {
				/* A chain: continue in the same frame. */
				f->node = c->first;
				continue;
			}
			f->multi = true;
			f->child = c->first;
			if (need_space && nkids > 0)
				buf_append_char(out, ' ');
			need_space = false;
		}
		if (f->child == NONE) {
			if (--sp == 0)
				break;
			buf_append_char(out, ')');
			struct frame *pf = &st[sp - 1];
			pf->child = t->c[pf->child].next;
			continue;
		}
		buf_append_char(out, '(');
		st[sp++] = (struct frame){ f->child, NONE, false };
		need_space = false;
	}
	free(st);
}

static void thread_references(struct imap_sortmsg *msgs, size_t n, struct tree *t)
{
	t->tabsize = 16;
	while (t->tabsize < n * 4 + 16)
		t->tabsize *= 2;
	t->tab = x_malloc(t->tabsize * sizeof(size_t));
	for (size_t i = 0; i < t->tabsize; i++)
		t->tab[i] = NONE;
	for (size_t i = 0; i < n; i++) {
		struct imap_sortmsg *m = &msgs[i];
		size_t mc = NONE;
		if (m->message_id != NULL) {
			size_t e = lookup(t, m->message_id, false);
			if (e == NONE)
				mc = lookup(t, m->message_id, true);
			else if (t->c[e].msg == NULL)
				mc = e;	/* a dummy a reference created: fill it */
		}
		if (mc == NONE)
			mc = new_cont(t);	/* no id, or a duplicate */
		t->c[mc].msg = m;
		t->c[mc].date = m->date;
		t->c[mc].msn = m->msn;
		size_t prev = NONE;
		for (size_t r = 0; r < m->n_refs; r++) {
			size_t rc = lookup(t, m->refs[r], true);
			if (prev != NONE && t->c[rc].parent == NONE && rc != prev &&
			    !is_ancestor(t, rc, prev))
				add_child(t, prev, rc);
			prev = rc;
		}
		if (prev != NONE && prev != mc && !is_ancestor(t, mc, prev))
			add_child(t, prev, mc);
		else if (m->n_refs == 0)
			unlink_child(t, mc);
	}
}

static int cmp_subject(const void *pa, const void *pb, void *tp)
{
	struct tree *t = tp;
	const struct cont *a = &t->c[*(const size_t *)pa], *b = &t->c[*(const size_t *)pb];
	int c = strcmp(a->msg->subject, b->msg->subject);
	if (c != 0)
		return c;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->msn < b->msn ? -1 : a->msn > b->msn;
}

static void thread_orderedsubject(struct imap_sortmsg *msgs, size_t n, struct tree *t,
				  size_t root)
{
	/* Messages sorted by (subject, date, msn): runs of one subject. */
	size_t *order = x_calloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		size_t c = new_cont(t);
		t->c[c].msg = &msgs[i];
		t->c[c].date = msgs[i].date;
		t->c[c].msn = msgs[i].msn;
		order[i] = c;
	}
	qsort_r(order, n, sizeof(size_t), cmp_subject, t);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp(t->c[order[j]].msg->subject, t->c[order[i]].msg->subject) == 0)
			j++;
		add_child(t, root, order[i]);
		for (size_t k = i + 1; k < j; k++)
			add_child(t, order[i], order[k]);
		i = j;
	}
	free(order);
}

/* RFC 5256 4 steps 2-5 for REFERENCES: roots, pruning, subject merge. */
static void references_roots(struct tree *t, size_t root)
{
	size_t n = t->n;
	for (size_t i = 0; i < n; i++)
		if (i != root && t->c[i].parent == NONE)
			add_child(t, root, i);
	/* Prune dummies (iteratively until nothing changes). */
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < t->n; i++) {
			struct cont *c = &t->c[i];
			if (i == root || c->msg != NULL || c->parent == NONE)
				continue;
			if (c->first == NONE) {
				unlink_child(t, i);
				changed = true;
			} else if (c->parent != root || t->c[c->first].next == NONE) {
				size_t p = c->parent;
				while (c->first != NONE)
					add_child(t, p, c->first);
				unlink_child(t, i);
				changed = true;
			}
		}
	}
	/* Subject merging of the roots. */
	size_t nroots = 0;
	for (size_t c = t->c[root].first; c != NONE; c = t->c[c].next)
		nroots++;
	size_t *roots = x_calloc(nroots + 1, sizeof(size_t));
	nroots = 0;
	for (size_t c = t->c[root].first; c != NONE; c = t->c[c].next)
		roots[nroots++] = c;
	const char **subj = x_calloc(nroots + 1, sizeof(char *));
	for (size_t i = 0; i < nroots; i++) {
		struct cont *c = &t->c[roots[i]];
		const struct cont *m = c->msg != NULL ? c : &t->c[c->first];
		subj[i] = m->msg != NULL ? m->msg->subject : "";
	}
	for (size_t i = 0; i < nroots; i++) {
		if (subj[i][0] == '\0' || t->c[roots[i]].parent != root)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (t->c[roots[j]].parent != root || strcmp(subj[i], subj[j]) != 0)
				continue;
			size_t a = roots[j], b = roots[i];
			struct cont *ca = &t->c[a], *cb = &t->c[b];
			if (ca->msg == NULL && cb->msg == NULL) {
				while (cb->first != NONE)
					add_child(t, a, cb->first);
				unlink_child(t, b);
			} else if (ca->msg == NULL) {
				add_child(t, a, b);
			} else if (cb->msg == NULL) {
				add_child(t, b, a);
				roots[j] = b;
			} else if (cb->msg->reply && !ca->msg->reply) {
				add_child(t, a, b);
			} else if (ca->msg->reply && !cb->msg->reply) {
				add_child(t, b, a);
				roots[j] = b;
			} else {
				size_t d = new_cont(t);
				add_child(t, root, d);
				add_child(t, d, a);
				add_child(t, d, b);
				roots[j] = d;
			}
			break;
		}
	}
	free(roots);
	free(subj);
}

struct thread_arg {
	bool references;
	bool uid;
};

/* In a helper thread (imap_sortjob_write_fn). */
static void thread_write(struct imap_sortmsg *msgs, size_t n, const void *arg, struct buf *out)
{
	const struct thread_arg *ta = arg;
	struct tree t;
	memset(&t, 0, sizeof(t));
	size_t root;
	if (ta->references) {
		thread_references(msgs, n, &t);
		root = new_cont(&t);
		references_roots(&t, root);
	} else {
		root = new_cont(&t);
		thread_orderedsubject(msgs, n, &t, root);
	}
	sort_all(&t, root);
	buf_append_str(out, "* THREAD ");
	for (size_t c = t.c[root].first; c != NONE; c = t.c[c].next) {
		buf_append_char(out, '(');
		write_thread(&t, c, ta->uid, out);
		buf_append_char(out, ')');
	}
	buf_append_str(out, "\r\n");
	free(t.c);
	free(t.tab);
}

struct thread_cmd {
	struct imap_sortjob *job;
};

static void thread_cmd_free(struct imap_cmd *cmd)
{
	struct thread_cmd *c = cmd->ctx;
	if (c->job != NULL)
		imap_sortjob_cancel(c->job);
	free(c);
}

static enum imap_cmd_result thread_reply(struct imap_cmd *cmd, int ret, struct buf *out)
{
	if (ret < 0)
		return imap_cmd_store_error(cmd);
	imap_write(cmd->s, out->data != NULL ? out->data : "", out->len);
	return imap_cmd_ok(cmd, "THREAD completed");
}

static void thread_done(struct imap_cmd *cmd, int ret, struct buf *out)
{
	struct thread_cmd *c = cmd->ctx;
	struct conn *conn = cmd->s->conn;
	c->job = NULL;
	conn_cork(conn);
	(void)thread_reply(cmd, ret, out);
	imap_cmd_done(cmd);
	conn_uncork(conn);
}

enum imap_cmd_result imap_cmd_thread(struct imap_cmd *cmd)
{
	if (cmd->n_args < 3)
		return imap_cmd_bad(cmd, "THREAD needs an algorithm, a charset and search keys");
	bool references;
	if (imap_arg_atom_is(&cmd->args[0], "REFERENCES"))
		references = true;
	else if (imap_arg_atom_is(&cmd->args[0], "ORDEREDSUBJECT"))
		references = false;
	else
		return imap_cmd_bad(cmd, "Unknown threading algorithm");
	const char *charset = imap_arg_astring(&cmd->args[1]);
	if (charset == NULL)
		return imap_cmd_bad(cmd, "Invalid charset");
	struct imap_search *search = x_calloc(1, sizeof(*search));
	const char *error = NULL;
	bool badcharset;
	if (imap_search_parse(cmd->args + 2, cmd->n_args - 2, charset, search, &error,
			      &badcharset) < 0) {
		free(search);
		if (badcharset)
			return imap_cmd_no(cmd, "%s", imap_search_badcharset());
		return imap_cmd_bad(cmd, "%s", error);
	}
	struct thread_arg *ta = x_calloc(1, sizeof(*ta));
	ta->references = references;
	ta->uid = cmd->uid;
	struct thread_cmd *c = x_calloc(1, sizeof(*c));
	cmd->ctx = c;
	cmd->ctx_free = thread_cmd_free;
	struct buf out = BUF_INIT;
	int r = imap_sortjob_start(cmd, search, IMAP_NEED_SUBJECT | IMAP_NEED_DATE |
				   (references ? IMAP_NEED_REFS : 0), thread_write, ta, thread_done,
				   &c->job, &out);
	if (r > 0)
		return IMAP_CMD_ASYNC;
	enum imap_cmd_result res = thread_reply(cmd, r, &out);
	buf_free(&out);
	return res;
}
