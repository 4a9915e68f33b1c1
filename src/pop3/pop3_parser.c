/* pop3_parser.c — POP3 command line splitting and parsing.
 * Runs in the workers. Parses untrusted client input: every length is
 * bounded and nothing is written outside the command's own copy. */
#include "pop3_parser.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const verb_names[POP3_VERB_COUNT] = {
	[POP3_VERB_UNKNOWN] = "?",
	[POP3_VERB_USER] = "USER",
	[POP3_VERB_PASS] = "PASS",
	[POP3_VERB_AUTH] = "AUTH",
	[POP3_VERB_STLS] = "STLS",
	[POP3_VERB_CAPA] = "CAPA",
	[POP3_VERB_STAT] = "STAT",
	[POP3_VERB_LIST] = "LIST",
	[POP3_VERB_RETR] = "RETR",
	[POP3_VERB_DELE] = "DELE",
	[POP3_VERB_NOOP] = "NOOP",
	[POP3_VERB_RSET] = "RSET",
	[POP3_VERB_QUIT] = "QUIT",
	[POP3_VERB_TOP] = "TOP",
	[POP3_VERB_UIDL] = "UIDL",
};

/* What arguments each verb takes. */
enum arg_kind {
	ARGS_NONE,	/* nothing (trailing blanks tolerated) */
	ARGS_REST,	/* the rest of the line, required */
	ARGS_AUTH,	/* [mechanism [initial-response]] */
	ARGS_MSG_OPT,	/* [msg] */
	ARGS_MSG,	/* msg */
	ARGS_MSG_N,	/* msg n */
};

static const enum arg_kind verb_args[POP3_VERB_COUNT] = {
	[POP3_VERB_USER] = ARGS_REST,
	[POP3_VERB_PASS] = ARGS_REST,
	[POP3_VERB_AUTH] = ARGS_AUTH,
	[POP3_VERB_LIST] = ARGS_MSG_OPT,
	[POP3_VERB_UIDL] = ARGS_MSG_OPT,
	[POP3_VERB_RETR] = ARGS_MSG,
	[POP3_VERB_DELE] = ARGS_MSG,
	[POP3_VERB_TOP] = ARGS_MSG_N,
};

const char *pop3_verb_name(enum pop3_verb verb)
{
	return verb < POP3_VERB_COUNT ? verb_names[verb] : "?";
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Cuts the next blank-separated token out of *pp (NUL-terminating it in
 * place); NULL when only blanks are left. */
static char *next_token(char **pp)
{
	char *p = *pp;
	while (is_blank(*p))
		p++;
	if (*p == '\0') {
		*pp = p;
		return NULL;
	}
	char *start = p;
	while (*p != '\0' && !is_blank(*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	return start;
}

/* A message number or line count: 1 to 10 decimal digits, <= 2^32-1. */
static bool parse_number(const char *s, uint32_t *val_r)
{
	size_t len = strlen(s);
	if (len == 0 || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*val_r = (uint32_t)v;
	return true;
}

static enum pop3_verb find_verb(const char *kw, size_t len)
{
	for (int v = POP3_VERB_UNKNOWN + 1; v < POP3_VERB_COUNT; v++) {
		if (strlen(verb_names[v]) == len && strncasecmp(kw, verb_names[v], len) == 0)
			return (enum pop3_verb)v;
	}
	return POP3_VERB_UNKNOWN;
}

static int parse_args(struct pop3_command *cmd, char *p, const char **error_r)
{
	char *tok;
	switch (verb_args[cmd->verb]) {
	case ARGS_NONE:
		if (next_token(&p) != NULL) {
			*error_r = "Unexpected argument";
			return -1;
		}
		return 0;
	case ARGS_REST:
		/* Exactly one space after the keyword; the rest is the value
		 * (RFC 1939 lets passwords contain spaces). */
		if (*p != ' ' || p[1] == '\0') {
			*error_r = "Missing argument";
			return -1;
		}
		cmd->arg = p + 1;
		return 0;
	case ARGS_AUTH:
		cmd->arg = next_token(&p);
		cmd->arg2 = cmd->arg != NULL ? next_token(&p) : NULL;
		if (next_token(&p) != NULL) {
			*error_r = "Too many arguments";
			return -1;
		}
		return 0;
	case ARGS_MSG_OPT:
	case ARGS_MSG:
	case ARGS_MSG_N:
		break;
	}
	tok = next_token(&p);
	if (tok == NULL) {
		if (verb_args[cmd->verb] == ARGS_MSG_OPT)
			return 0;
		*error_r = "Missing message number";
		return -1;
	}
	if (!parse_number(tok, &cmd->msg)) {
		*error_r = "Invalid message number";
		return -1;
	}
	cmd->has_msg = true;
	if (verb_args[cmd->verb] == ARGS_MSG_N) {
		tok = next_token(&p);
		if (tok == NULL) {
			*error_r = "Missing number of lines";
			return -1;
		}
		if (!parse_number(tok, &cmd->lines)) {
			*error_r = "Invalid number of lines";
			return -1;
		}
	}
	if (next_token(&p) != NULL) {
		*error_r = "Too many arguments";
		return -1;
	}
	return 0;
}

int pop3_command_parse(const char *line, size_t len, struct pop3_command *cmd,
		       const char **error_r)
{
	memset(cmd, 0, sizeof(*cmd));
	/* NUL would cut strings short; a CR inside a line could smuggle a
	 * second command into a password or user name. */
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL) {
		*error_r = "Invalid characters in command";
		return -1;
	}
	cmd->line = x_strndup(line, len);
	char *p = cmd->line;
	size_t kw_len = 0;
	while (p[kw_len] != '\0' && p[kw_len] != ' ' && p[kw_len] != '\t')
		kw_len++;
	if (kw_len == 0) {
		*error_r = "Empty command";
		return -1;
	}
	cmd->verb = find_verb(p, kw_len);
	if (cmd->verb == POP3_VERB_UNKNOWN) {
		*error_r = "Unknown command";
		return -1;
	}
	return parse_args(cmd, p + kw_len, error_r);
}

void pop3_command_free(struct pop3_command *cmd)
{
	x_free(&cmd->line);
}
