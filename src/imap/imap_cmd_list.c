/* imap_cmd_list.c — IMAP LIST (RFC 9051 6.3.9) with LIST-EXTENDED
 * (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154) and
 * CHILDREN, and IMAP4rev1 LSUB (RFC 3501 6.3.9). Runs in the mail
 * workers. Parses client input. */
#include "imap_commands.h"
#include "imap_match.h"
#include "imap_status.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum list_sel {
	SEL_SUBSCRIBED = 1 << 0,
	SEL_RECURSIVE = 1 << 1,
	SEL_SPECIAL = 1 << 2,
};

enum list_ret {
	RET_SUBSCRIBED = 1 << 0,
	RET_CHILDREN = 1 << 1,
	RET_SPECIAL = 1 << 2,
	RET_STATUS = 1 << 3,
};

struct entry {
	char *name;
	unsigned special;
	bool exists;
	bool subscribed;
	bool children;
	bool subscribed_child;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static struct entry *find(struct entry *v, size_t n, const char *name)
{
	struct entry key = { .name = (char *)name };
	return bsearch(&key, v, n, sizeof(*v), cmp_entry);
}

static void add(struct entry **v, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 32 : *cap * 2;
		*v = x_reallocarray(*v, *cap, sizeof(**v));
	}
	struct entry *e = &(*v)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->name = x_strdup(name);
}

/* All mailboxes, subscriptions and implied parents, sorted, with their
 * attributes worked out. */
static int collect(struct imap_session *s, struct entry **v_r, size_t *n_r)
{
	struct store_mailbox_info *list;
	size_t nlist;
	if (store_mailbox_list(s->store, &list, &nlist) < 0)
		return -1;
	struct strv subs;
	strv_init(&subs);
	if (store_subscriptions(s->store, &subs) < 0) {
		store_mailbox_info_free(list, nlist);
		return -1;
	}
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < nlist; i++) {
		add(&v, &n, &cap, list[i].name);
		v[n - 1].exists = true;
		v[n - 1].special = list[i].special;
	}
	qsort(v, n, sizeof(*v), cmp_entry);
	size_t sorted = n;
	for (size_t i = 0; i < subs.n; i++) {
		struct entry *e = find(v, sorted, subs.v[i]);
		if (e != NULL)
			e->subscribed = true;
		else {
			add(&v, &n, &cap, subs.v[i]);
			v[n - 1].subscribed = true;
		}
	}
	qsort(v, n, sizeof(*v), cmp_entry);
	/* Parents that are not mailboxes themselves. */
	size_t base = n;
	for (size_t i = 0; i < base; i++) {
		char *name = x_strdup(v[i].name);
		for (char *p = strrchr(name, STORE_HIERARCHY_SEP); p != NULL;
		     p = strrchr(name, STORE_HIERARCHY_SEP)) {
			*p = '\0';
			if (find(v, base, name) != NULL)
				continue;
			bool dup = false;
			for (size_t j = base; j < n && !dup; j++)
				dup = strcmp(v[j].name, name) == 0;
			if (!dup)
				add(&v, &n, &cap, name);
		}
		free(name);
	}
	qsort(v, n, sizeof(*v), cmp_entry);
	/* Children: sorted order puts "a.x" right after "a" and its other
	 * descendants; a prefix check on the next entries suffices. */
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i].name);
		for (size_t j = i + 1; j < n; j++) {
			if (strncmp(v[j].name, v[i].name, len) != 0)
				break;
			if (v[j].name[len] != STORE_HIERARCHY_SEP)
				continue;
			if (v[j].exists)
				v[i].children = true;
			if (v[j].subscribed)
				v[i].subscribed_child = true;
		}
	}
	strv_free(&subs);
	store_mailbox_info_free(list, nlist);
	*v_r = v;
	*n_r = n;
	return 0;
}

static void free_entries(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static bool matches(const struct strv *patterns, const char *name)
{
	for (size_t i = 0; i < patterns->n; i++)
		if (imap_match(patterns->v[i], name, STORE_HIERARCHY_SEP))
			return true;
	return false;
}

static void append_special(struct buf *b, unsigned special)
{
	static const struct { unsigned bit; const char *name; } map[] = {
		{ STORE_SPECIAL_DRAFTS, "\\Drafts" }, { STORE_SPECIAL_SENT, "\\Sent" },
		{ STORE_SPECIAL_TRASH, "\\Trash" }, { STORE_SPECIAL_JUNK, "\\Junk" },
		{ STORE_SPECIAL_ARCHIVE, "\\Archive" },
	};
	for (size_t i = 0; i < N_ELEMENTS(map); i++)
		if (special & map[i].bit)
			buf_appendf(b, " %s", map[i].name);
}

static enum imap_cmd_result list_run(struct imap_cmd *cmd, bool lsub)
{
	struct imap_session *s = cmd->s;
	size_t i = 0;
	unsigned sel = 0, ret = 0, status_items = 0;
	bool extended = false;
	const struct imap_arg *l;
	size_t ln;
	if (!lsub && i < cmd->n_args && imap_arg_list(&cmd->args[i], &l, &ln)) {
		extended = true;
		for (size_t k = 0; k < ln; k++) {
			if (imap_arg_atom_is(&l[k], "SUBSCRIBED"))
				sel |= SEL_SUBSCRIBED;
			else if (imap_arg_atom_is(&l[k], "RECURSIVEMATCH"))
				sel |= SEL_RECURSIVE;
			else if (imap_arg_atom_is(&l[k], "SPECIAL-USE"))
				sel |= SEL_SPECIAL;
			else if (!imap_arg_atom_is(&l[k], "REMOTE"))
				return imap_cmd_bad(cmd, "Unknown LIST selection option");
		}
		if ((sel & SEL_RECURSIVE) && (sel & ~SEL_RECURSIVE) == 0)
			return imap_cmd_bad(cmd, "RECURSIVEMATCH needs another selection option");
		i++;
	}
	if (cmd->n_args < i + 2)
		return imap_cmd_bad(cmd, "Missing reference or pattern");
	const char *ref = imap_arg_astring(&cmd->args[i]);
	if (ref == NULL)
		return imap_cmd_bad(cmd, "Invalid reference");
	struct strv raw;
	strv_init(&raw);
	if (!lsub && imap_arg_list(&cmd->args[i + 1], &l, &ln)) {
		extended = true;
		for (size_t k = 0; k < ln; k++) {
			const char *p = imap_arg_astring(&l[k]);
			if (p == NULL) {
				strv_free(&raw);
				return imap_cmd_bad(cmd, "Invalid pattern");
			}
			strv_push(&raw, p);
		}
	} else {
		const char *p = imap_arg_astring(&cmd->args[i + 1]);
		if (p == NULL)
			return imap_cmd_bad(cmd, "Invalid pattern");
		strv_push(&raw, p);
	}
	i += 2;
	if (i < cmd->n_args) {
		if (lsub || !imap_arg_atom_is(&cmd->args[i], "RETURN") || i + 2 != cmd->n_args ||
		    !imap_arg_list(&cmd->args[i + 1], &l, &ln)) {
			strv_free(&raw);
			return imap_cmd_bad(cmd, "Invalid LIST arguments");
		}
		extended = true;
		for (size_t k = 0; k < ln; k++) {
			const struct imap_arg *sl;
			size_t sn;
			if (imap_arg_atom_is(&l[k], "SUBSCRIBED")) {
				ret |= RET_SUBSCRIBED;
			} else if (imap_arg_atom_is(&l[k], "CHILDREN")) {
				ret |= RET_CHILDREN;
			} else if (imap_arg_atom_is(&l[k], "SPECIAL-USE")) {
				ret |= RET_SPECIAL;
			} else if (imap_arg_atom_is(&l[k], "STATUS") && k + 1 < ln &&
				   imap_arg_list(&l[k + 1], &sl, &sn)) {
				if (imap_status_parse_items(cmd, sl, sn, &status_items) < 0) {
					strv_free(&raw);
					return IMAP_CMD_DONE;
				}
				ret |= RET_STATUS;
				k++;
			} else {
				strv_free(&raw);
				return imap_cmd_bad(cmd, "Unknown LIST return option");
			}
		}
	}
	/* LIST "" "": the hierarchy separator. */
	if (raw.n == 1 && raw.v[0][0] == '\0' && !extended) {
		strv_free(&raw);
		imap_printf(s, "* %s (\\Noselect) \".\" \"\"\r\n", lsub ? "LSUB" : "LIST");
		return imap_cmd_ok(cmd, "%s completed", lsub ? "LSUB" : "LIST");
	}
	struct strv patterns;
	strv_init(&patterns);
	for (size_t k = 0; k < raw.n; k++) {
		char *full = x_asprintf("%s%s", ref, raw.v[k]);
		char *p = imap_mailbox_from_client(s, full);
		free(full);
		if (p != NULL)
			strv_push_owned(&patterns, p);
	}
	strv_free(&raw);
	struct entry *v;
	size_t n;
	if (collect(s, &v, &n) < 0) {
		strv_free(&patterns);
		return imap_cmd_store_error(cmd);
	}
	if (lsub)
		sel = SEL_SUBSCRIBED;
	struct buf b = BUF_INIT;
	for (size_t k = 0; k < n; k++) {
		struct entry *e = &v[k];
		if (!matches(&patterns, e->name))
			continue;
		bool childinfo = false;
		if (sel & SEL_SUBSCRIBED) {
			if (!e->subscribed) {
				if (lsub && e->subscribed_child) {
					/* "%" reaching a parent of subscribed ones */
				} else if ((sel & SEL_RECURSIVE) && e->subscribed_child) {
					childinfo = true;
				} else {
					continue;
				}
			}
		} else if (!e->exists && !e->children) {
			continue;	/* subscribed-only name */
		}
		if ((sel & SEL_SPECIAL) && e->special == 0 && !childinfo)
			continue;
		buf_reset(&b);
		buf_appendf(&b, "* %s (", lsub ? "LSUB" : "LIST");
		size_t start = b.len;
		if (!e->exists || (lsub && !e->subscribed)) {
			if (extended && !lsub && !e->exists)
				buf_append_str(&b, "\\NonExistent ");
			buf_append_str(&b, "\\Noselect ");
		}
		if (!lsub)
			buf_append_str(&b, e->children ? "\\HasChildren" : "\\HasNoChildren");
		if ((ret & RET_SUBSCRIBED) || ((sel & SEL_SUBSCRIBED) && !lsub)) {
			if (e->subscribed)
				buf_append_str(&b, " \\Subscribed");
		}
		if (e->exists && !lsub)
			append_special(&b, e->special);
		if (b.len > start && b.data[b.len - 1] == ' ')
			b.len--;
		buf_append_str(&b, ") \".\" ");
		imap_append_mailbox(s, &b, e->name);
		if (childinfo)
			buf_append_str(&b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
		buf_append_str(&b, "\r\n");
		imap_write(s, b.data, b.len);
		if ((ret & RET_STATUS) && e->exists)
			(void)imap_status_send(s, e->name, status_items);
	}
	buf_free(&b);
	free_entries(v, n);
	strv_free(&patterns);
	return imap_cmd_ok(cmd, "%s completed", lsub ? "LSUB" : "LIST");
}

enum imap_cmd_result imap_cmd_list(struct imap_cmd *cmd)
{
	return list_run(cmd, false);
}

enum imap_cmd_result imap_cmd_lsub(struct imap_cmd *cmd)
{
	return list_run(cmd, true);
}
