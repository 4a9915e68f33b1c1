/* imap_fetch.c — parsing FETCH data items into a list. Runs in the mail
 * workers. Parses client input. */
#include "imap_fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct imap_fetch_item *add(struct imap_fetch *f, enum imap_fetch_kind kind)
{
	f->items = x_reallocarray(f->items, f->n + 1, sizeof(*f->items));
	struct imap_fetch_item *it = &f->items[f->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

static const struct {
	const char *name;
	enum imap_fetch_kind kind;
} simple[] = {
	{ "UID", IMAP_FETCH_UID },
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
	{ "SAVEDATE", IMAP_FETCH_SAVEDATE },
	{ "EMAILID", IMAP_FETCH_EMAILID },
	{ "THREADID", IMAP_FETCH_THREADID },
};

/* "<off.len>" or "<off>" (only in responses; we accept it leniently). */
static int parse_partial(const char *p, struct imap_fetch_item *it)
{
	if (*p == '\0')
		return 0;
	if (*p != '<')
		return -1;
	char *end;
	p++;
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long long off = strtoull(p, &end, 10);
	if (*end != '.')
		return -1;
	p = end + 1;
	if (*p < '1' || *p > '9')
		return -1;
	unsigned long long len = strtoull(p, &end, 10);
	if (strcmp(end, ">") != 0)
		return -1;
	it->partial = true;
	it->p_off = off;
	it->p_len = len;
	return 0;
}

static int parse_section_item(struct imap_cmd *cmd, const char *atom, struct imap_fetch *f)
{
	const char *lb = strchr(atom, '[');
	const char *rb = lb != NULL ? strrchr(lb, ']') : NULL;
	if (lb == NULL || rb == NULL) {
		imap_cmd_bad(cmd, "Invalid FETCH item");
		return -1;
	}
	size_t plen = (size_t)(lb - atom);
	enum imap_fetch_kind kind;
	bool peek = false;
	if (plen == 4 && strncasecmp(atom, "BODY", 4) == 0) {
		kind = IMAP_FETCH_SECTION;
	} else if (plen == 9 && strncasecmp(atom, "BODY.PEEK", 9) == 0) {
		kind = IMAP_FETCH_SECTION;
		peek = true;
	} else if (plen == 6 && strncasecmp(atom, "BINARY", 6) == 0) {
		kind = IMAP_FETCH_BINARY;
	} else if (plen == 11 && strncasecmp(atom, "BINARY.PEEK", 11) == 0) {
		kind = IMAP_FETCH_BINARY;
		peek = true;
	} else if (plen == 11 && strncasecmp(atom, "BINARY.SIZE", 11) == 0) {
		kind = IMAP_FETCH_BINARY_SIZE;
		peek = true;
	} else {
		imap_cmd_bad(cmd, "Invalid FETCH item");
		return -1;
	}
	struct imap_fetch_item *it = add(f, kind);
	it->peek = peek;
	it->has_sec = true;
	const char *error;
	if (mail_section_parse(lb + 1, (size_t)(rb - lb - 1), &it->sec, &error) < 0) {
		imap_cmd_bad(cmd, "Invalid section: %s", error);
		return -1;
	}
	if (kind != IMAP_FETCH_SECTION && !mail_section_is_binary_ok(&it->sec)) {
		imap_cmd_bad(cmd, "BINARY takes only part numbers");
		return -1;
	}
	if (parse_partial(rb + 1, it) < 0 || (kind == IMAP_FETCH_BINARY_SIZE && it->partial)) {
		imap_cmd_bad(cmd, "Invalid partial range");
		return -1;
	}
	/* Echo the section as the client wrote it, name upper-cased. */
	const char *name = kind == IMAP_FETCH_SECTION ? "BODY" :
		kind == IMAP_FETCH_BINARY ? "BINARY" : "BINARY.SIZE";
	it->label = x_asprintf("%s[%.*s]", name, (int)(rb - lb - 1), lb + 1);
	if (!peek)
		f->sets_seen = true;
	return 0;
}

static int parse_one(struct imap_cmd *cmd, const char *atom, struct imap_fetch *f)
{
	for (size_t i = 0; i < N_ELEMENTS(simple); i++) {
		if (strcasecmp(atom, simple[i].name) == 0) {
			add(f, simple[i].kind);
			if (simple[i].kind == IMAP_FETCH_UID)
				f->has_uid = true;
			else if (simple[i].kind == IMAP_FETCH_FLAGS)
				f->has_flags = true;
			else if (simple[i].kind == IMAP_FETCH_MODSEQ)
				f->has_modseq = true;
			return 0;
		}
	}
	if (strcasecmp(atom, "RFC822") == 0 || strcasecmp(atom, "RFC822.HEADER") == 0 ||
	    strcasecmp(atom, "RFC822.TEXT") == 0) {
		struct imap_fetch_item *it = add(f, IMAP_FETCH_SECTION);
		it->has_sec = true;
		const char *spec = atom[6] == '\0' ? "" : atom[7] == 'H' || atom[7] == 'h' ?
			"HEADER" : "TEXT";
		const char *error;
		(void)mail_section_parse(spec, strlen(spec), &it->sec, &error);
		it->label = x_strdup(atom[6] == '\0' ? "RFC822" : atom[7] == 'H' || atom[7] == 'h' ?
				     "RFC822.HEADER" : "RFC822.TEXT");
		it->peek = strcasecmp(atom, "RFC822.HEADER") == 0;
		if (!it->peek)
			f->sets_seen = true;
		return 0;
	}
	return parse_section_item(cmd, atom, f);
}

int imap_fetch_parse(struct imap_cmd *cmd, const struct imap_arg *arg, struct imap_fetch *f)
{
	memset(f, 0, sizeof(*f));
	const struct imap_arg *list;
	size_t n;
	if (imap_arg_list(arg, &list, &n)) {
		if (n == 0) {
			imap_cmd_bad(cmd, "Empty FETCH item list");
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			const char *a = imap_arg_atom(&list[i]);
			if (a == NULL || parse_one(cmd, a, f) < 0) {
				if (a == NULL)
					imap_cmd_bad(cmd, "Invalid FETCH item");
				imap_fetch_free(f);
				return -1;
			}
		}
		return 0;
	}
	const char *a = imap_arg_atom(arg);
	if (a == NULL) {
		imap_cmd_bad(cmd, "Invalid FETCH item");
		return -1;
	}
	static const char *const macros[][5] = {
		{ "ALL", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE" },
		{ "FAST", "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL },
		{ "FULL", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE" },
	};
	for (size_t i = 0; i < N_ELEMENTS(macros); i++) {
		if (strcasecmp(a, macros[i][0]) != 0)
			continue;
		for (size_t j = 1; j < 5 && macros[i][j] != NULL; j++)
			(void)parse_one(cmd, macros[i][j], f);
		if (i == 2)
			(void)parse_one(cmd, "BODY", f);
		return 0;
	}
	if (parse_one(cmd, a, f) < 0) {
		imap_fetch_free(f);
		return -1;
	}
	return 0;
}

void imap_fetch_free(struct imap_fetch *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].label);
		if (f->items[i].has_sec)
			mail_section_free(&f->items[i].sec);
	}
	free(f->items);
	memset(f, 0, sizeof(*f));
}
