/* smtp_parser.h — SMTP command parsing (RFC 5321, with the ESMTP
 * parameters of SIZE, BODY, SMTPUTF8, DSN, AUTH). Bytes in, a parsed
 * command or a reply-worthy error out; never touches a socket. */
#ifndef CORREU_SMTP_PARSER_H
#define CORREU_SMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "line.h"

#define SMTP_COMMAND_LINE_MAX 512	/* RFC 5321 4.5.3.1.4, incl. CRLF */
#define SMTP_TEXT_LINE_MAX 1000		/* RFC 5321 4.5.3.1.6, incl. CRLF */
#define SMTP_PATH_MAX 256		/* RFC 5321 4.5.3.1.3 */
#define SMTP_MAX_PARAMS 16

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

struct smtp_param {
	char keyword[24];	/* upper-cased */
	const char *value;	/* points into the command copy; NULL if none */
};

/* A parsed command. Strings point into `line`, a private NUL-terminated
 * copy owned by the command (free with smtp_command_free). */
struct smtp_command {
	enum smtp_verb verb;
	char *line;
	const char *arg;	/* text after the verb (HELO/EHLO/VRFY/HELP/AUTH/NOOP) */
	const char *path;	/* MAIL/RCPT mailbox without brackets; "" = <> */
	bool path_utf8;		/* path has non-ASCII (needs SMTPUTF8) */
	struct smtp_param params[SMTP_MAX_PARAMS];
	size_t n_params;
	uint64_t chunk_size;	/* BDAT */
	bool chunk_last;	/* BDAT ... LAST */
};

/* A parse error carries the reply to send: code, enhanced code, text. */
struct smtp_error {
	unsigned code;
	const char *enhanced;
	const char *text;
};


/* Parses one command line (without terminator). On error fills err and
 * returns -1; cmd is then still freed with smtp_command_free. */
int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
		       struct smtp_error *err);
void smtp_command_free(struct smtp_command *cmd);
const char *smtp_verb_name(enum smtp_verb verb);
/* Parameter value by keyword (upper case); found_r tells presence. */
const char *smtp_command_param(const struct smtp_command *cmd, const char *keyword,
			       bool *found_r);

/* Validates an RFC 5321 mailbox "local@domain" (dot-string or quoted
 * local part; domain or address literal); utf8 allows UTF-8 (RFC 6531). */
bool smtp_mailbox_valid(const char *mailbox, bool utf8);
/* Validates an xtext value (RFC 3461 4) and decodes it into out (NUL-
 * terminated, at most out_size - 1 bytes). */
int smtp_xtext_decode(const char *s, char *out, size_t out_size);

#endif
