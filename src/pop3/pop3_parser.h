/* pop3_parser.h — POP3 command parsing (RFC 1939, RFC 2449 CAPA, RFC
 * 2595 STLS, RFC 5034 AUTH). Bytes in, a parsed command or the text of
 * an -ERR reply out; never touches a socket. */
#ifndef CORREU_POP3_PARSER_H
#define CORREU_POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "line.h"

/* RFC 2449 allows 255 octets per command; passwords and user names of
 * real clients can be longer, so commands may use this many (with
 * CRLF). SASL responses (RFC 5034 4) carry base64 and get more room. */
#define POP3_COMMAND_LINE_MAX 1024
#define POP3_SASL_LINE_MAX 8192

enum pop3_verb {
	POP3_VERB_UNKNOWN,
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_AUTH,
	POP3_VERB_STLS,
	POP3_VERB_CAPA,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_RETR,
	POP3_VERB_DELE,
	POP3_VERB_NOOP,
	POP3_VERB_RSET,
	POP3_VERB_QUIT,
	POP3_VERB_TOP,
	POP3_VERB_UIDL,
	POP3_VERB_COUNT
};

/* A parsed command. Strings point into `line`, a private NUL-terminated
 * copy owned by the command (free with pop3_command_free). */
struct pop3_command {
	enum pop3_verb verb;
	char *line;
	/* USER, PASS: the rest of the line after one space, verbatim
	 * (passwords may hold spaces). AUTH: the mechanism or NULL. */
	const char *arg;
	/* AUTH: the initial response (base64 or "="), or NULL. */
	const char *arg2;
	/* LIST, UIDL: whether a message number was given. */
	bool has_msg;
	uint32_t msg;		/* message number (>= 1 not checked here) */
	uint32_t lines;		/* TOP */
};


/* Parses one command line (without terminator). Returns 0, or -1 with
 * *error_r set to the text for "-ERR <text>" (static); cmd is freed
 * with pop3_command_free either way. */
int pop3_command_parse(const char *line, size_t len, struct pop3_command *cmd,
		       const char **error_r);
void pop3_command_free(struct pop3_command *cmd);
const char *pop3_verb_name(enum pop3_verb verb);

#endif
