/* imap_parser.h — IMAP command parsing (RFC 9051 / RFC 3501 grammar,
 * LITERAL+ / LITERAL- (RFC 7888), literal8 (RFC 3516)). Bytes in,
 * events out; never touches a socket, so it can be fed one byte at a
 * time in tests and fuzzed. Runs in the mail workers. Parses client
 * input.
 *
 * A command is "tag SP name *(SP arg) CRLF" where args are atoms, quoted
 * strings, literals and parenthesised lists, which may span literals.
 * Atoms keep "[...]" sections whole, spaces and parentheses included
 * ("BODY[HEADER.FIELDS (From To)]<0.10>" is one atom). */
#ifndef CORREU_IMAP_PARSER_H
#define CORREU_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* includes NIL; see imap_arg_is_nil() */
	IMAP_ARG_STRING,	/* quoted string, unescaped */
	IMAP_ARG_LITERAL,	/* literal kept in memory (may hold NULs) */
	IMAP_ARG_LIST,
	IMAP_ARG_STREAM,	/* literal the caller consumed itself */
};

struct imap_arg {
	enum imap_arg_type type;
	bool literal8;		/* ~{n} */
	size_t len;		/* bytes of str, items of list, size of stream */
	char *str;		/* NUL-terminated (atoms, strings, literals) */
	struct imap_arg *list;
	size_t cap;
};

struct imap_parser_limits {
	size_t max_line;	/* command text, literals excluded */
	size_t max_literal_mem;	/* literal bytes kept in memory per command */
	uint64_t max_stream;	/* largest literal the caller may stream */
	unsigned max_depth;	/* list nesting */
	size_t max_args;	/* arguments per command, all levels */
};

enum imap_parse_result {
	IMAP_PARSE_MORE,	/* need more input */
	IMAP_PARSE_COMMAND,	/* a whole command: see ev; then reset */
	IMAP_PARSE_LITERAL,	/* a literal header: accept or reject it */
	IMAP_PARSE_DATA,	/* streamed literal bytes (ev.data, ev.len) */
	IMAP_PARSE_ERROR,	/* bad command: ev.error; rest is skipped */
};

struct imap_parse_event {
	const char *tag;		/* NULL if none could be read */
	const char *name;		/* command name as sent, or NULL */
	const struct imap_arg *args;	/* top-level arguments */
	size_t n_args;
	/* IMAP_PARSE_LITERAL */
	uint64_t literal_size;
	bool literal_sync;		/* the client waits for "+" */
	bool literal8;
	unsigned literal_depth;		/* 0 = top level */
	const struct imap_arg *literal_list; /* the list it goes into */
	size_t literal_pos;		/* its index in that list */
	/* IMAP_PARSE_DATA */
	const char *data;
	size_t len;
	bool last;			/* the literal's final chunk */
	/* IMAP_PARSE_ERROR */
	const char *error;
	bool fatal;			/* close the connection */
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser **p);

/* Consumes bytes from in and reports the next event. Pointers in ev stay
 * valid until the next call (args until imap_parser_reset). */
enum imap_parse_result imap_parser_parse(struct imap_parser *p, struct buf *in,
					 struct imap_parse_event *ev);
/* After IMAP_PARSE_LITERAL: keep the literal in memory (stream false) or
 * hand its bytes to the caller as IMAP_PARSE_DATA events (stream true).
 * Returns -1 if it is over the limits (then reject it). */
int imap_parser_literal_accept(struct imap_parser *p, bool stream);
/* After IMAP_PARSE_LITERAL: refuse it. For a synchronizing literal the
 * client sends nothing more of the command; a non-synchronizing one is
 * skipped. The command ends as an error with the given text (no further
 * event is reported for it). */
void imap_parser_literal_reject(struct imap_parser *p);
/* Forgets the current command (after IMAP_PARSE_COMMAND or to abort). */
void imap_parser_reset(struct imap_parser *p);
/* Whether the parser holds part of a command. */
bool imap_parser_busy(const struct imap_parser *p);

/* Reads a whole line (up to CRLF or LF) for AUTHENTICATE responses and
 * IDLE's DONE: returns 1 and the line without its ending in *line_r
 * (caller frees) and consumes it, 0 if incomplete, -1 if longer than
 * max (consumed up to the line end as it arrives). */
int imap_parser_read_line(struct imap_parser *p, struct buf *in, size_t max, char **line_r);

/* Argument helpers. */
bool imap_arg_is_nil(const struct imap_arg *a);
/* Atom equal to word, ASCII case-insensitively. */
bool imap_arg_atom_is(const struct imap_arg *a, const char *word);
/* atom | string | literal without NUL -> its text, else NULL. */
const char *imap_arg_astring(const struct imap_arg *a);
/* string | literal without NUL -> its text; NIL -> NULL and *nil_r. */
const char *imap_arg_nstring(const struct imap_arg *a, bool *nil_r);
/* string | literal (not an atom) -> its text. */
const char *imap_arg_string(const struct imap_arg *a);
const char *imap_arg_atom(const struct imap_arg *a);
/* Whether a is a list; sets *list_r / *n_r. */
bool imap_arg_list(const struct imap_arg *a, const struct imap_arg **list_r, size_t *n_r);

#endif
