/* cmd_sendmail.c — `correu sendmail` (also run as `sendmail` through a
 * symlink): the sendmail command-line interface used by cron, scripts
 * and PHP. Reads a message on stdin, fixes it up (CRLF line endings;
 * From:, Date: and Message-ID: added when missing; Bcc: removed) and
 * commits it to the queue without any network; the queue process
 * delivers it. Parses the message (from a local user) leniently through
 * src/mail.
 *
 * Options: -t (recipients from To/Cc/Bcc, plus any given), -f SENDER /
 * -r SENDER (envelope sender, "<>" for none), -F NAME (full name for an
 * added From:), -i / -oi (a lone "." does not end the message), -N DSN
 * notify list, -R full|hdrs, -V envid, -C FILE (configuration), -bm
 * (default), -bp (list the queue); other -o... and -B, -v, -L, -U, -G
 * are accepted and ignored as by other MTAs. Exit codes are sysexits(3). */
#include "cmd.h"
#include "cfg.h"
#include "log.h"
#include "mail_address.h"
#include "mail_date.h"
#include "mail_header.h"
#include "queue.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75
#define EX_CONFIG 78

struct sendmail_opts {
	const char *sender;	/* NULL = the invoking user */
	const char *fullname;
	const char *config;
	bool extract;		/* -t */
	bool ignore_dots;	/* -i */
	bool list_queue;	/* -bp */
	unsigned notify;
	enum queue_ret ret;
	const char *envid;
	struct strv rcpts;
};

static int usage(void)
{
	fprintf(stderr, "usage: sendmail [-t] [-i] [-f sender] [-F name] [-N notify] "
		"[-R full|hdrs] [-V envid] [-C config] [recipient...] < message\n");
	return EX_USAGE;
}

/* Options with an argument may be glued ("-fuser") or separate. */
static int take_arg(int argc, char **argv, int *i, const char **val_r)
{
	const char *a = argv[*i];
	if (a[2] != '\0') {
		*val_r = a + 2;
		return 0;
	}
	if (*i + 1 >= argc)
		return -1;
	*val_r = argv[++*i];
	return 0;
}

static int parse_opts(int argc, char **argv, struct sendmail_opts *o)
{
	int i;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		const char *v;
		switch (a[1]) {
		case 't':
			o->extract = true;
			break;
		case 'i':
			o->ignore_dots = true;
			break;
		case 'f':
		case 'r':
			if (take_arg(argc, argv, &i, &o->sender) < 0)
				return -1;
			break;
		case 'F':
			if (take_arg(argc, argv, &i, &o->fullname) < 0)
				return -1;
			break;
		case 'C':
			if (take_arg(argc, argv, &i, &o->config) < 0)
				return -1;
			break;
		case 'N':
			if (take_arg(argc, argv, &i, &v) < 0)
				return -1;
			if (queue_notify_parse(v, &o->notify) < 0) {
				fprintf(stderr, "sendmail: bad -N value \"%s\"\n", v);
				return -1;
			}
			break;
		case 'R':
			if (take_arg(argc, argv, &i, &v) < 0)
				return -1;
			if (strcasecmp(v, "full") == 0)
				o->ret = QUEUE_RET_FULL;
			else if (strcasecmp(v, "hdrs") == 0)
				o->ret = QUEUE_RET_HDRS;
			else
				return -1;
			break;
		case 'V':
			if (take_arg(argc, argv, &i, &o->envid) < 0)
				return -1;
			break;
		case 'o':
			/* -oi is -i; -oem, -odb, -oQ... are sendmail's knobs. */
			if (strcmp(a, "-oi") == 0)
				o->ignore_dots = true;
			else if (a[2] == '\0')
				i++;
			break;
		case 'b':
			if (strcmp(a, "-bp") == 0)
				o->list_queue = true;
			else if (strcmp(a, "-bm") != 0) {
				fprintf(stderr, "sendmail: mode %s is not supported\n", a);
				return -1;
			}
			break;
		case 'B':
		case 'L':
			if (a[2] == '\0')
				i++;
			break;
		case 'v':
		case 'U':
		case 'G':
		case 'n':
		case 'm':
			break;
		default:
			fprintf(stderr, "sendmail: unknown option %s\n", a);
			return -1;
		}
	}
	for (; i < argc; i++)
		strv_split_ws(&o->rcpts, argv[i]);
	return 0;
}

/* Reads stdin into out with CRLF line endings. Without -i a line of a
 * single "." ends the message. */
static int read_message(bool ignore_dots, uint64_t limit, struct buf *out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool first = true;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		size_t len = (size_t)n;
		bool had_nl = len > 0 && line[len - 1] == '\n';
		if (had_nl)
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (!ignore_dots && len == 1 && line[0] == '.')
			break;
		/* An mbox "From " line is not part of the message. */
		if (first && len >= 5 && memcmp(line, "From ", 5) == 0) {
			first = false;
			continue;
		}
		first = false;
		buf_append(out, line, len);
		buf_append_str(out, "\r\n");
		if (out->len > limit) {
			free(line);
			errno = EFBIG;
			return -1;
		}
	}
	free(line);
	if (ferror(stdin))
		return -1;
	return 0;
}

static void add_addresses(const struct mail_header_field *f, struct strv *rcpts)
{
	struct mail_address_list list;
	mail_address_parse(f->value, f->value_len, false, &list);
	for (size_t i = 0; i < list.n; i++) {
		const struct mail_address *a = &list.v[i];
		if (a->domain == NULL || a->mailbox == NULL || a->invalid || a->mailbox[0] == '\0')
			continue;
		struct buf b = BUF_INIT;
		mail_address_format_addr_spec(a, &b);
		if (!strv_contains_icase(rcpts, buf_cstr(&b)))
			strv_push(rcpts, buf_cstr(&b));
		buf_free(&b);
	}
	mail_address_list_free(&list);
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Rebuilds the header: drops Bcc:, adds what is missing, collects -t
 * recipients. */
static void fix_message(const struct config *cfg, const struct sendmail_opts *o,
			const char *sender, const char *fullname, const struct buf *in,
			struct buf *out, struct strv *rcpts)
{
	struct mail_header_iter it;
	struct mail_header_field f;
	bool have_from = false, have_date = false, have_msgid = false;
	mail_header_iter_init(&it, in->data, in->len);
	struct buf hdr = BUF_INIT;
	while (mail_header_iter_next(&it, &f)) {
		if (o->extract && (mail_header_name_is(&f, "To") || mail_header_name_is(&f, "Cc") ||
				   mail_header_name_is(&f, "Bcc")))
			add_addresses(&f, rcpts);
		if (mail_header_name_is(&f, "Bcc"))
			continue;
		if (mail_header_name_is(&f, "From"))
			have_from = true;
		else if (mail_header_name_is(&f, "Date"))
			have_date = true;
		else if (mail_header_name_is(&f, "Message-ID"))
			have_msgid = true;
		buf_append(&hdr, in->data + f.offset, f.size);
	}
	size_t body = it.have_end ? it.body_offset : in->len;
	if (!have_from) {
		buf_append_str(out, "From: ");
		if (fullname != NULL && fullname[0] != '\0') {
			mail_address_append_phrase(out, fullname);
			buf_append_char(out, ' ');
		}
		buf_appendf(out, "<%s>\r\n", sender);
	}
	if (!have_date) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		buf_append_str(out, "Date: ");
		mail_date_format(now, (int)(tm.tm_gmtoff / 60), out);
		buf_append_str(out, "\r\n");
	}
	if (!have_msgid) {
		char *id = queue_id_new();
		buf_appendf(out, "Message-ID: <%s.sendmail@%s>\r\n", id, cfg->hostname);
		free(id);
	}
	buf_append(out, hdr.data, hdr.len);
	buf_free(&hdr);
	buf_append_str(out, "\r\n");
	if (body < in->len)
		buf_append(out, in->data + body, in->len - body);
}

/* Adds @hostname to addresses without a domain, as other MTAs do. */
static char *qualify(const struct config *cfg, const char *addr)
{
	size_t len = strlen(addr);
	char *a = len >= 2 && addr[0] == '<' && addr[len - 1] == '>' ?
		x_strndup(addr + 1, len - 2) : x_strdup(addr);
	if (strchr(a, '@') != NULL || a[0] == '\0')
		return a;
	char *q = x_asprintf("%s@%s", a, cfg->hostname);
	free(a);
	return q;
}

static bool valid_address(const char *a)
{
	const char *at = strrchr(a, '@');
	if (at == NULL || at == a || at[1] == '\0' || strlen(a) > 254)
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p <= ' ' || *p == '<' || *p == '>' || *p == 0x7f)
			return false;
	return true;
}

static int run(const struct sendmail_opts *o, const struct cmd_args *a)
{
	struct cmd_args ca = *a;
	if (o->config != NULL)
		ca.config_path = o->config;
	struct config *cfg = cmd_load_config(&ca, false);
	if (cfg == NULL)
		return EX_CONFIG;
	if (o->list_queue) {
		cfg_free(&cfg);
		struct cmd_args qa = ca;
		char *argv[] = { (char *)"list", NULL };
		qa.argc = 1;
		qa.argv = argv;
		return cmd_queue(&qa);
	}
	int status = EX_SOFTWARE;
	struct buf in = BUF_INIT, msg = BUF_INIT;
	struct strv rcpts;
	strv_init(&rcpts);
	char *sender = NULL;
	char *fullname = NULL;
	struct queue_envelope env;
	queue_envelope_init(&env);

	struct passwd *pw = getpwuid(getuid());
	const char *login = pw != NULL ? pw->pw_name : "nobody";
	if (o->sender != NULL)
		sender = strcmp(o->sender, "<>") == 0 ? x_strdup("") : qualify(cfg, o->sender);
	else
		sender = qualify(cfg, login);
	if (sender[0] != '\0' && !valid_address(sender)) {
		fprintf(stderr, "sendmail: bad sender address \"%s\"\n", sender);
		status = EX_USAGE;
		goto out;
	}
	if (o->fullname != NULL)
		fullname = x_strdup(o->fullname);
	else if (pw != NULL && pw->pw_gecos != NULL && pw->pw_gecos[0] != '\0')
		fullname = x_strndup(pw->pw_gecos, strcspn(pw->pw_gecos, ","));

	if (read_message(o->ignore_dots, cfg->message_size_limit, &in) < 0) {
		fprintf(stderr, "sendmail: %s\n", errno == EFBIG ?
			"message too large (message_size_limit)" : "cannot read the message");
		status = errno == EFBIG ? EX_DATAERR : EX_SOFTWARE;
		goto out;
	}
	struct strv found;
	strv_init(&found);
	fix_message(cfg, o, sender[0] != '\0' ? sender : "MAILER-DAEMON", fullname, &in, &msg,
		    &found);
	for (size_t i = 0; i < o->rcpts.n; i++)
		strv_push_owned(&rcpts, qualify(cfg, o->rcpts.v[i]));
	for (size_t i = 0; i < found.n; i++)
		if (!strv_contains_icase(&rcpts, found.v[i]))
			strv_push_owned(&rcpts, qualify(cfg, found.v[i]));
	strv_free(&found);
	if (rcpts.n == 0) {
		fprintf(stderr, "sendmail: no recipients (give them as arguments or use -t)\n");
		status = EX_USAGE;
		goto out;
	}
	env.sender = x_strdup(sender);
	bool utf8 = !is_ascii(sender);
	for (size_t i = 0; i < rcpts.n; i++) {
		if (!valid_address(rcpts.v[i])) {
			fprintf(stderr, "sendmail: bad recipient address \"%s\"\n", rcpts.v[i]);
			status = EX_USAGE;
			goto out;
		}
		if (!is_ascii(rcpts.v[i]))
			utf8 = true;
		queue_envelope_add_rcpt(&env, rcpts.v[i], o->notify, NULL);
	}
	env.smtputf8 = utf8;
	env.ret = o->ret;
	env.envid = o->envid != NULL ? x_strdup(o->envid) : NULL;
	env.auth_user = x_strdup(login);
	for (size_t i = 0; i < msg.len; i++) {
		if ((unsigned char)msg.data[i] >= 0x80) {
			env.body = QUEUE_BODY_8BITMIME;
			break;
		}
	}
	char *id = NULL;
	const char *error;
	if (queue_enqueue_data(cfg, msg.data, msg.len, &env, &id, &error) < 0) {
		fprintf(stderr, "sendmail: cannot queue the message: %s (%s)\n", error,
			strerror(errno));
		status = errno == EACCES ? EX_CONFIG : EX_TEMPFAIL;
		goto out;
	}
	log_debug("queue %s: from=<%s>, size=%zu, nrcpt=%zu (queued by sendmail for %s)", id,
		 sender, msg.len, rcpts.n, login);
	free(id);
	status = 0;
out:
	queue_envelope_free(&env);
	buf_free(&in);
	buf_free(&msg);
	strv_free(&rcpts);
	free(sender);
	free(fullname);
	cfg_free(&cfg);
	return status;
}

int cmd_sendmail(const struct cmd_args *a)
{
	struct sendmail_opts o;
	memset(&o, 0, sizeof(o));
	strv_init(&o.rcpts);
	int status;
	if (parse_opts(a->argc, a->argv, &o) < 0)
		status = usage();
	else
		status = run(&o, a);
	strv_free(&o.rcpts);
	return status;
}
