/* cmd_sendmail.c — `correu sendmail` (also run as `sendmail` through a
 * symlink): the sendmail command-line interface used by cron, scripts
 * and PHP. Reads a message on stdin, fixes it up (CRLF line endings;
 * From:, Date: and Message-ID: added when missing; Bcc: removed) and
 * hands it to the queue without any network; the queue process delivers
 * it. Root, and users who can write data_dir/queue (the server's user),
 * commit it to the queue directly, which works with the server stopped;
 * everybody else sends it to the queue process's pickup socket
 * (queue_pickup.h), which answers once the message is durably queued.
 * Parses the message (from a local user) leniently through src/mail.
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
#include "queue_ctl.h"
#include "queue_file.h"
#include "queue_pickup.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75
#define EX_CONFIG 78

/* How long the pickup socket may take to take a piece of the request,
 * and to answer after the last (it fsyncs before it does). */
#define PICKUP_SEND_TIMEOUT_SECS 60
#define PICKUP_REPLY_TIMEOUT_MS (5 * 60 * 1000)

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

/* Reads stdin into out with CRLF line endings (a CR alone ends a line
 * too, so that no bare CR reaches the queue). Without -i a line of a
 * single "." ends the message. NUL bytes fail with EINVAL: the queue
 * process refuses them, like the SMTP server. */
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
		if (memchr(line, '\0', len) != NULL) {
			free(line);
			errno = EINVAL;
			return -1;
		}
		for (const char *p = line, *end = line + len;;) {
			const char *cr = memchr(p, '\r', (size_t)(end - p));
			const char *stop = cr != NULL ? cr : end;
			buf_append(out, p, (size_t)(stop - p));
			buf_append_str(out, "\r\n");
			if (cr == NULL)
				break;
			p = cr + 1;
		}
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

/* Root, and whoever may write the queue directory (the server's user),
 * commit directly; that also works while the server is stopped. */
static bool can_write_queue(const struct config *cfg)
{
	if (getuid() == 0 || geteuid() == 0)
		return true;
	char *dir = queue_dir_path(cfg);
	bool ok = access(dir, W_OK | X_OK) == 0 ||
		(errno == ENOENT && access(cfg->data_dir, W_OK | X_OK) == 0);
	free(dir);
	return ok;
}

static int submit_direct(const struct config *cfg, struct queue_envelope *env,
			 const struct buf *msg, const char *login)
{
	env->id = queue_id_new();
	struct buf full = BUF_INIT;
	struct queue_pickup_trace t = {
		.hostname = cfg->hostname,
		.queue_id = env->id,
		.uid = getuid(),
		.user = login,
		.sender = env->sender,
		.warn = false,	/* root or the server's user: trusted */
		.when = time(NULL),
	};
	queue_pickup_trace_append(&full, &t);
	buf_append(&full, msg->data, msg->len);
	char *id = NULL;
	const char *error;
	int status = 0;
	if (queue_enqueue_data(cfg, full.data, full.len, env, &id, &error) < 0) {
		fprintf(stderr, "sendmail: cannot queue the message: %s (%s)\n", error,
			strerror(errno));
		status = errno == EACCES ? EX_CONFIG : EX_TEMPFAIL;
	} else {
		log_debug("queue %s: from=<%s>, size=%zu, nrcpt=%zu (queued by sendmail for %s)",
			  id, env->sender, full.len, env->n_rcpts, login);
	}
	free(id);
	buf_free(&full);
	return status;
}

/* Sends all of data; false when the server stopped reading (it may have
 * answered why: the caller reads the reply next). */
static bool send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads the one-line reply; -1 on timeout, error or EOF before a line. */
static int read_reply(int fd, struct buf *line)
{
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int r = poll(&pfd, 1, PICKUP_REPLY_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		char *p = buf_reserve(line, 256);
		ssize_t n = recv(fd, p, 256, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf_commit(line, (size_t)n);
		if (memchr(line->data, '\n', line->len) != NULL)
			return 0;
		if (line->len >= QUEUE_PICKUP_MAX_REPLY)
			return -1;
	}
}

static int pickup_connect(const char *path)
{
	struct sockaddr_un sun;
	socklen_t len;
	int dfd;
	if (queue_ctl_sockaddr(path, &sun, &len, &dfd) < 0) {
		fprintf(stderr, "sendmail: %s: path too long for a socket\n", path);
		return -EX_CONFIG;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sun, len);
	int err = errno;
	if (dfd >= 0)
		close(dfd);
	if (ret == 0) {
		struct timeval tv = { PICKUP_SEND_TIMEOUT_SECS, 0 };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		return fd;
	}
	if (fd >= 0)
		close(fd);
	if (err == ENOENT || err == ECONNREFUSED) {
		fprintf(stderr, "sendmail: the mail server is not running (nothing listens on %s); "
			"the message was not sent\n", path);
		return -EX_TEMPFAIL;
	}
	if (err == EAGAIN) {
		fprintf(stderr, "sendmail: the mail server is busy (%s); the message was not "
			"sent, try again\n", path);
		return -EX_TEMPFAIL;
	}
	fprintf(stderr, "sendmail: cannot connect to the mail server at %s: %s%s\n", path,
		strerror(err), err == EACCES ? " (every user must be able to reach it: "
		"data_dir needs mode o+x, which `correu serve` started as root sets; or run "
		"sendmail as root or as the server's user)" : "");
	return err == EACCES ? -EX_CONFIG : -EX_TEMPFAIL;
}

/* Hands the message to the queue process over the pickup socket; it
 * adds the trace headers and answers once the message is queued. */
static int submit_pickup(const struct config *cfg, const struct queue_envelope *env,
			 const struct buf *msg)
{
	char *path = queue_pickup_path(cfg);
	int fd = pickup_connect(path);
	if (fd < 0) {
		free(path);
		return -fd;
	}
	struct buf req = BUF_INIT;
	queue_pickup_record(&req, "pickup", QUEUE_PICKUP_VERSION, strlen(QUEUE_PICKUP_VERSION));
	queue_pickup_record(&req, "sender", env->sender, strlen(env->sender));
	for (size_t i = 0; i < env->n_rcpts; i++)
		queue_pickup_record(&req, "rcpt", env->rcpts[i].address,
				    strlen(env->rcpts[i].address));
	if (env->n_rcpts > 0 && env->rcpts[0].notify != 0) {
		struct buf n = BUF_INIT;
		queue_notify_format(env->rcpts[0].notify, &n);
		queue_pickup_record(&req, "notify", n.data, n.len);
		buf_free(&n);
	}
	if (env->ret != QUEUE_RET_DEFAULT)
		queue_pickup_record(&req, "ret", env->ret == QUEUE_RET_FULL ? "full" : "hdrs", 4);
	if (env->envid != NULL)
		queue_pickup_record(&req, "envid", env->envid, strlen(env->envid));
	queue_pickup_record_head(&req, "message", msg->len);
	if (send_all(fd, req.data, req.len))
		(void)send_all(fd, msg->data, msg->len);
	buf_free(&req);

	struct buf line = BUF_INIT;
	int code;
	char *text = NULL;
	int status;
	if (read_reply(fd, &line) < 0 ||
	    queue_pickup_reply_parse(line.data, strcspn(line.data, "\n") + 1, &code, &text) < 0) {
		fprintf(stderr, "sendmail: the mail server (%s) gave no answer; the message was "
			"probably not queued\n", path);
		status = EX_TEMPFAIL;
	} else if (code != 0) {
		fprintf(stderr, "sendmail: the mail server refused the message: %s\n", text);
		status = code;
	} else {
		log_debug("queue %s: from=<%s>, size=%zu, nrcpt=%zu (queued through %s)", text,
			  env->sender, msg->len, env->n_rcpts, path);
		status = 0;
	}
	free(text);
	buf_free(&line);
	close(fd);
	free(path);
	return status;
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
	char *login = x_strdup(pw != NULL ? pw->pw_name : "nobody");
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
			"message too large (message_size_limit)" : errno == EINVAL ?
			"the message contains a NUL byte" : "cannot read the message");
		status = errno == EFBIG || errno == EINVAL ? EX_DATAERR : EX_SOFTWARE;
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
	status = can_write_queue(cfg) ? submit_direct(cfg, &env, &msg, login) :
		submit_pickup(cfg, &env, &msg);
out:
	queue_envelope_free(&env);
	buf_free(&in);
	buf_free(&msg);
	strv_free(&rcpts);
	free(sender);
	free(fullname);
	free(login);
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
