/* web_imap_parse.h — parser for IMAP server responses (RFC 3501/9051
 * grammar, read generically): tagged and untagged status responses,
 * continuation requests, and data responses tokenized into a tree of
 * atoms, strings (quoted or literal, binary-safe), NIL and lists.
 * Pure: bytes in, one response out. Runs in the web process. Parses
 * untrusted input (whatever the upstream IMAP server sends). */
#ifndef CORREU_WEB_IMAP_PARSE_H
#define CORREU_WEB_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_node_type {
	IMAP_NODE_ATOM,
	IMAP_NODE_STRING,
	IMAP_NODE_NIL,
	IMAP_NODE_LIST,
};

struct imap_node {
	enum imap_node_type type;
	char *data;		/* atom or string bytes, NUL-terminated */
	size_t len;
	struct imap_node *items;	/* list children */
	size_t n;
};

enum imap_resp_kind {
	IMAP_RESP_TAGGED,	/* tag OK/NO/BAD text */
	IMAP_RESP_STATUS,	/* * OK/NO/BAD/BYE/PREAUTH text */
	IMAP_RESP_DATA,		/* * [number] KEYWORD args... */
	IMAP_RESP_CONTINUE,	/* + text */
};

struct imap_response {
	enum imap_resp_kind kind;
	char *tag;		/* TAGGED only */
	char *status;		/* OK NO BAD BYE PREAUTH (upper case) */
	char *code;		/* response code inside [], or NULL */
	char *text;		/* human-readable text ("" if none) */
	bool has_number;	/* DATA: "* 12 FETCH" */
	uint32_t number;
	char *keyword;		/* DATA: upper-cased ("FETCH", "LIST") */
	struct imap_node args;	/* DATA: the tokens after the keyword */
};

/* Largest literal accepted; bigger responses are an error. */
#define IMAP_MAX_LITERAL (256u * 1024 * 1024)
/* Largest response line outside literals (SEARCH/SORT of a 2,000,000
 * message folder fits). */
#define IMAP_MAX_LINE (16u * 1024 * 1024)

/* Looks for one complete response at the start of data. Returns 1 and
 * fills *resp (caller frees with imap_response_free) with *used_r bytes
 * consumed, 0 if more input is needed, -1 with *error_r if the input is
 * not a valid response (the connection should be dropped). */
int imap_response_parse(const char *data, size_t len, struct imap_response *resp,
			size_t *used_r, const char **error_r);
void imap_response_free(struct imap_response *resp);

/* Helpers over nodes. */
bool imap_node_is(const struct imap_node *n, const char *atom);
/* The string value of an atom or string; NULL for NIL or lists. */
const char *imap_node_str(const struct imap_node *n);
/* For a FETCH attribute list: the value following the attribute name
 * (case-insensitive), or NULL. */
const struct imap_node *imap_fetch_attr(const struct imap_node *list, const char *name);
bool imap_node_uint(const struct imap_node *n, uint64_t *val_r);

#endif
