/* smtp_parser.c — SMTP command line splitting and parsing.
 * Runs in the workers. Parses untrusted client input: every length is
 * bounded and nothing is written outside the command's own copy. */
#include "smtp_parser.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const verb_names[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN] = "?",
	[SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_EHLO] = "EHLO",
	[SMTP_VERB_MAIL] = "MAIL",
	[SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA",
	[SMTP_VERB_BDAT] = "BDAT",
	[SMTP_VERB_RSET] = "RSET",
	[SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT",
	[SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN",
	[SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_STARTTLS] = "STARTTLS",
	[SMTP_VERB_AUTH] = "AUTH",
};

const char *smtp_verb_name(enum smtp_verb verb)
{
	return verb < SMTP_VERB_COUNT ? verb_names[verb] : "?";
}

static void set_error(struct smtp_error *err, unsigned code, const char *enhanced,
		      const char *text)
{
	err->code = code;
	err->enhanced = enhanced;
	err->text = text;
}

static bool is_atext(unsigned char c, bool utf8)
{
	if (isalnum(c))
		return true;
	if (c >= 0x80)
		return utf8;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool domain_valid(const char *d, size_t len, bool utf8)
{
	if (len == 0 || len > 255)
		return false;
	if (d[0] == '[') {
		if (d[len - 1] != ']' || len < 3 || len > 64)
			return false;
		char lit[64];
		memcpy(lit, d + 1, len - 2);
		lit[len - 2] = '\0';
		unsigned char addr[16];
		if (strncasecmp(lit, "IPv6:", 5) == 0)
			return inet_pton(AF_INET6, lit + 5, addr) == 1;
		return inet_pton(AF_INET, lit, addr) == 1;
	}
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || (c == '-' && label > 0) || (c >= 0x80 && utf8)))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && d[len - 1] != '-';
}

bool smtp_mailbox_valid(const char *mailbox, bool utf8)
{
	size_t len = strlen(mailbox);
	if (len == 0 || len > SMTP_PATH_MAX)
		return false;
	const char *at;
	if (mailbox[0] == '"') {
		size_t i = 1;
		for (; i < len && mailbox[i] != '"'; i++) {
			unsigned char c = (unsigned char)mailbox[i];
			if (c == '\\') {
				i++;
				if (i >= len || mailbox[i] < 32 || mailbox[i] > 126)
					return false;
			} else if (c < 32 || c == 127 || (c >= 0x80 && !utf8)) {
				return false;
			}
		}
		if (i >= len || mailbox[i + 1] != '@')
			return false;
		at = mailbox + i + 1;
	} else {
		at = strrchr(mailbox, '@');
		if (at == NULL || at == mailbox)
			return false;
		for (const char *p = mailbox; p < at; p++) {
			if (*p == '.') {
				if (p == mailbox || p[1] == '.' || p + 1 == at)
					return false;
			} else if (!is_atext((unsigned char)*p, utf8)) {
				return false;
			}
		}
	}
	return domain_valid(at + 1, strlen(at + 1), utf8);
}

int smtp_xtext_decode(const char *s, char *out, size_t out_size)
{
	size_t o = 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '+') {
			if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
				return -1;
			char hex[3] = { s[1], s[2], '\0' };
			c = (unsigned char)strtoul(hex, NULL, 16);
			s += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return -1;
		}
		if (o + 1 >= out_size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static bool has_utf8(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Parses "<path> params..." (or a bare path, leniently) at p. */
static int parse_path_and_params(struct smtp_command *cmd, char *p, bool is_mail,
				 struct smtp_error *err)
{
	const char *bad_enh = is_mail ? "5.1.7" : "5.1.3";
	while (*p == ' ')
		p++;
	char *path;
	char *rest;
	if (*p == '<') {
		char *q = p + 1;
		bool quoted = false;
		for (; *q != '\0'; q++) {
			if (quoted && *q == '\\' && q[1] != '\0')
				q++;
			else if (*q == '"')
				quoted = !quoted;
			else if (*q == '>' && !quoted)
				break;
		}
		if (*q != '>') {
			set_error(err, 501, bad_enh, "Syntax error in address: missing '>'");
			return -1;
		}
		*q = '\0';
		path = p + 1;
		rest = q + 1;
		if (*rest != '\0' && *rest != ' ') {
			set_error(err, 501, bad_enh, "Syntax error after address");
			return -1;
		}
	} else {
		/* Postfix accepts addresses without brackets; so do we. */
		path = p;
		rest = p + strcspn(p, " ");
		if (*rest != '\0')
			*rest++ = '\0';
		if (*path == '\0') {
			set_error(err, 501, "5.5.4", is_mail ? "Syntax: MAIL FROM:<address>" :
				  "Syntax: RCPT TO:<address>");
			return -1;
		}
	}
	/* Drop an obsolete source route "@a,@b:user@host". */
	if (path[0] == '@') {
		char *colon = strchr(path, ':');
		if (colon == NULL) {
			set_error(err, 501, bad_enh, "Syntax error in source route");
			return -1;
		}
		path = colon + 1;
	}
	if (strlen(path) > SMTP_PATH_MAX) {
		set_error(err, 501, bad_enh, "Address too long");
		return -1;
	}
	cmd->path_utf8 = has_utf8(path);
	if (path[0] == '\0') {
		if (!is_mail) {
			set_error(err, 501, "5.1.3", "Null recipient address");
			return -1;
		}
	} else if (!smtp_mailbox_valid(path, true) &&
		   !(!is_mail && strcasecmp(path, "postmaster") == 0)) {
		set_error(err, 501, bad_enh, "Bad address syntax");
		return -1;
	}
	cmd->path = path;

	char *tok = rest;
	while (*tok != '\0') {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			break;
		char *end = tok + strcspn(tok, " ");
		if (*end != '\0')
			*end++ = '\0';
		if (cmd->n_params >= SMTP_MAX_PARAMS) {
			set_error(err, 501, "5.5.4", "Too many parameters");
			return -1;
		}
		struct smtp_param *prm = &cmd->params[cmd->n_params];
		char *eq = strchr(tok, '=');
		size_t klen = eq != NULL ? (size_t)(eq - tok) : strlen(tok);
		if (klen == 0 || klen >= sizeof(prm->keyword)) {
			set_error(err, 501, "5.5.4", "Bad parameter syntax");
			return -1;
		}
		for (size_t i = 0; i < klen; i++) {
			unsigned char c = (unsigned char)tok[i];
			if (!isalnum(c) && !(c == '-' && i > 0)) {
				set_error(err, 501, "5.5.4", "Bad parameter keyword");
				return -1;
			}
			prm->keyword[i] = (char)toupper(c);
		}
		prm->keyword[klen] = '\0';
		prm->value = NULL;
		if (eq != NULL) {
			prm->value = eq + 1;
			if (*prm->value == '\0') {
				set_error(err, 501, "5.5.4", "Empty parameter value");
				return -1;
			}
			for (const char *v = prm->value; *v != '\0'; v++) {
				unsigned char c = (unsigned char)*v;
				if (c < 33 || c == '=' || c == 127) {
					set_error(err, 501, "5.5.4", "Bad parameter value");
					return -1;
				}
			}
		}
		for (size_t i = 0; i < cmd->n_params; i++) {
			if (strcmp(cmd->params[i].keyword, prm->keyword) == 0) {
				set_error(err, 501, "5.5.4", "Duplicate parameter");
				return -1;
			}
		}
		cmd->n_params++;
		tok = end;
	}
	return 0;
}

int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
		       struct smtp_error *err)
{
	memset(cmd, 0, sizeof(*cmd));
	if (len >= SMTP_COMMAND_LINE_MAX) {
		set_error(err, 500, "5.5.0", "Line too long");
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		set_error(err, 500, "5.5.2", "NUL character in command");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '\r') {
			set_error(err, 500, "5.5.2", "Bare CR in command");
			return -1;
		}
	}
	cmd->line = x_strndup(line, len);
	char *p = cmd->line;
	size_t vlen = strcspn(p, " ");
	cmd->verb = SMTP_VERB_UNKNOWN;
	for (int v = 1; v < SMTP_VERB_COUNT; v++) {
		if (strlen(verb_names[v]) == vlen && strncasecmp(p, verb_names[v], vlen) == 0) {
			cmd->verb = (enum smtp_verb)v;
			break;
		}
	}
	if (cmd->verb == SMTP_VERB_UNKNOWN) {
		set_error(err, 500, "5.5.2", "Error: command not recognized");
		return -1;
	}
	char *arg = p + vlen;
	while (*arg == ' ')
		arg++;
	/* Trailing spaces are common and harmless. */
	size_t alen = strlen(arg);
	while (alen > 0 && arg[alen - 1] == ' ')
		arg[--alen] = '\0';
	cmd->arg = arg;

	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		if (*arg == '\0') {
			set_error(err, 501, "5.5.4", cmd->verb == SMTP_VERB_EHLO ?
				  "Syntax: EHLO hostname" : "Syntax: HELO hostname");
			return -1;
		}
		return 0;
	case SMTP_VERB_MAIL:
		if (strncasecmp(arg, "FROM:", 5) != 0) {
			set_error(err, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
			return -1;
		}
		return parse_path_and_params(cmd, arg + 5, true, err);
	case SMTP_VERB_RCPT:
		if (strncasecmp(arg, "TO:", 3) != 0) {
			set_error(err, 501, "5.5.4", "Syntax: RCPT TO:<address>");
			return -1;
		}
		return parse_path_and_params(cmd, arg + 3, false, err);
	case SMTP_VERB_BDAT: {
		char *end;
		if (!isdigit((unsigned char)*arg)) {
			set_error(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
			return -1;
		}
		size_t digits = strspn(arg, "0123456789");
		if (digits > 15) {
			set_error(err, 552, "5.3.4", "Chunk size too large");
			return -1;
		}
		cmd->chunk_size = strtoull(arg, &end, 10);
		while (*end == ' ')
			end++;
		if (strcasecmp(end, "LAST") == 0) {
			cmd->chunk_last = true;
		} else if (*end != '\0') {
			set_error(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
			return -1;
		}
		return 0;
	}
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		if (*arg != '\0') {
			set_error(err, 501, "5.5.4", "Syntax error: no parameters allowed");
			return -1;
		}
		return 0;
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
	case SMTP_VERB_AUTH:
		if (*arg == '\0') {
			set_error(err, 501, "5.5.4", "Syntax error: argument required");
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

void smtp_command_free(struct smtp_command *cmd)
{
	free(cmd->line);
	memset(cmd, 0, sizeof(*cmd));
}

const char *smtp_command_param(const struct smtp_command *cmd, const char *keyword,
			       bool *found_r)
{
	for (size_t i = 0; i < cmd->n_params; i++) {
		if (strcmp(cmd->params[i].keyword, keyword) == 0) {
			*found_r = true;
			return cmd->params[i].value;
		}
	}
	*found_r = false;
	return NULL;
}
