/* smtp_submit.c — submission rules for authenticated users (see
 * smtp_submit.h). Runs in the workers. Parses the header section of the
 * submitted message (untrusted, from an authenticated client) through
 * src/mail's lenient header and address parsers. */
#include "smtp_submit.h"
#include "smtp_session.h"
#include "fsutil.h"
#include "log.h"
#include "mail_address.h"
#include "mail_date.h"
#include "mail_header.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define HEADER_READ_MAX (256 * 1024)

/* "local+tag@domain" -> "local@domain" (when the delimiter is set). */
static char *strip_tag(const struct config *cfg, const char *address)
{
	char delim = cfg->recipient_delimiter != NULL ? cfg->recipient_delimiter[0] : '\0';
	const char *at = strrchr(address, '@');
	if (delim == '\0' || at == NULL)
		return NULL;
	const char *d = memchr(address, delim, (size_t)(at - address));
	if (d == NULL || d == address)
		return NULL;
	return x_asprintf("%.*s%s", (int)(d - address), address, at);
}

static bool domain_is(const char *address, const char *domain)
{
	const char *at = strrchr(address, '@');
	return at != NULL && strcasecmp(at + 1, domain) == 0;
}

static bool matches(const char *pattern, const char *address)
{
	if (strcmp(pattern, "*") == 0)
		return true;
	if (pattern[0] == '@')
		return domain_is(address, pattern + 1);
	return strcasecmp(pattern, address) == 0;
}

static bool sender_ok_one(const struct config *cfg, struct auth_db *db, const char *user,
			  const char *address)
{
	if (strcasecmp(address, user) == 0)
		return true;
	struct strv sources;
	strv_init(&sources);
	bool ok = false;
	if (db != NULL && auth_db_aliases_of(db, user, &sources) == 0) {
		for (size_t i = 0; i < sources.n && !ok; i++)
			ok = matches(sources.v[i], address);
	}
	strv_free(&sources);
	for (size_t i = 0; i < cfg->submission_senders.n && !ok; i++) {
		struct strv w;
		strv_init(&w);
		strv_split_ws(&w, cfg->submission_senders.v[i]);
		if (w.n >= 2 && strcasecmp(w.v[0], user) == 0)
			for (size_t j = 1; j < w.n && !ok; j++)
				ok = matches(w.v[j], address);
		strv_free(&w);
	}
	return ok;
}

bool smtp_submit_sender_ok(const struct config *cfg, struct auth_db *db, const char *user,
			   const char *address)
{
	if (address[0] == '\0')
		return true;	/* the null sender names nobody */
	if (sender_ok_one(cfg, db, user, address))
		return true;
	char *plain = strip_tag(cfg, address);
	bool ok = plain != NULL && sender_ok_one(cfg, db, user, plain);
	free(plain);
	return ok;
}

/* The rate file of a user: a token count and the time it was computed. */
struct rate_state {
	double tokens;
	int64_t when;
};

bool smtp_submit_rate_take(const struct config *cfg, const char *user, time_t now)
{
	uint64_t limit = cfg->submission_max_messages_per_hour;
	if (limit == 0)
		return true;
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)user; *p != '\0'; p++) {
		unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
		h = (h ^ c) * 1099511628211ull;
	}
	char *dir = x_asprintf("%s/run/rate", cfg->data_dir);
	char *path = x_asprintf("%s/%016llx", dir, (unsigned long long)h);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && mkdir_p(dir, 0700) == 0)
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(dir);
	free(path);
	if (fd < 0)
		return true;
	bool ok = true;
	if (flock(fd, LOCK_EX) == 0) {
		struct rate_state st;
		if (pread(fd, &st, sizeof(st), 0) != (ssize_t)sizeof(st) || st.tokens < 0 ||
		    st.tokens > (double)limit || st.when > (int64_t)now + 86400) {
			st.tokens = (double)limit;
			st.when = now;
		}
		/* Refill at limit per hour, up to limit. */
		double refill = (double)(now - st.when) * (double)limit / 3600.0;
		if (refill > 0)
			st.tokens = st.tokens + refill > (double)limit ? (double)limit : st.tokens + refill;
		st.when = now;
		if (st.tokens >= 1.0)
			st.tokens -= 1.0;
		else
			ok = false;
		(void)pwrite(fd, &st, sizeof(st), 0);
		flock(fd, LOCK_UN);
	}
	close(fd);
	return ok;
}

bool smtp_submit_mail(struct smtp_session *s, const char *sender)
{
	const struct config *cfg = s->env->cfg;
	if (!smtp_submit_sender_ok(cfg, s->env->accounts, s->auth_user, sender)) {
		log_info("smtp[%s]: sender <%s> refused for user %s", s->id, sender, s->auth_user);
		smtp_error(s, 553, "5.7.1", "<%s>: Sender address rejected: not owned by user %s",
			   sender, s->auth_user);
		return false;
	}
	if (!smtp_submit_rate_take(cfg, s->auth_user, time(NULL))) {
		log_info("smtp[%s]: user %s over submission_max_messages_per_hour", s->id,
			 s->auth_user);
		smtp_error(s, 450, "4.7.1", "Error: too many messages from %s, try again later",
			   s->auth_user);
		return false;
	}
	return true;
}

bool smtp_submit_rcpt(struct smtp_session *s)
{
	/* 0: only smtp_max_recipients (checked by RCPT) applies. */
	uint64_t max = s->env->cfg->submission_max_recipients;
	if (max > 0 && s->txn->n_rcpts >= max) {
		smtp_reply(s, 452, "4.5.3", "Error: too many recipients for one message");
		return false;
	}
	return true;
}

/* Rewrites the spool file with extra header fields inserted at offset
 * at (after the trace fields). */
static int spool_insert(struct smtp_txn *t, size_t at, const struct buf *add)
{
	char *tmp = x_asprintf("%s.sub", t->spool_path);
	int in = open(t->spool_path, O_RDONLY | O_CLOEXEC);
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int ret = -1;
	if (in < 0 || out < 0)
		goto out;
	char buf[8192];
	size_t done = 0;
	while (done < at) {
		size_t n = at - done < sizeof(buf) ? at - done : sizeof(buf);
		ssize_t r = pread(in, buf, n, (off_t)done);
		if (r <= 0 || write_full(out, buf, (size_t)r) < 0)
			goto out;
		done += (size_t)r;
	}
	if (write_full(out, add->data, add->len) < 0)
		goto out;
	loff_t off_in = (loff_t)at;
	size_t left = (size_t)t->file_size - at;
	while (left > 0) {
		ssize_t r = copy_file_range(in, &off_in, out, NULL, left, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		left -= (size_t)r;
	}
	if (rename(tmp, t->spool_path) < 0)
		goto out;
	close(t->fd);
	t->fd = out;
	out = -1;
	t->file_size += add->len;
	ret = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0) {
		close(out);
		unlink(tmp);
	}
	free(tmp);
	return ret;
}

bool smtp_submit_finish(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	const struct config *cfg = s->env->cfg;
	if (s->auth_user == NULL || t->spool_path == NULL)
		return true;
	struct buf hdr = BUF_INIT;
	int fd = open(t->spool_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		size_t want = t->file_size - t->prefix_len < HEADER_READ_MAX ?
			(size_t)(t->file_size - t->prefix_len) : HEADER_READ_MAX;
		char *w = buf_reserve(&hdr, want);
		ssize_t n = pread(fd, w, want, (off_t)t->prefix_len);
		if (n > 0)
			buf_commit(&hdr, (size_t)n);
		close(fd);
	}
	if (fd < 0 || (hdr.len == 0 && t->file_size > t->prefix_len)) {
		buf_free(&hdr);
		smtp_reply(s, 451, "4.3.0", "Error: queue file read error");
		return false;
	}
	/* The first field is our own Received:; the client's start after. */
	struct mail_header_iter it;
	struct mail_header_field f;
	mail_header_iter_init(&it, hdr.data, hdr.len);
	size_t after_trace = 0;
	bool first = true, have_date = false, have_msgid = false;
	char *bad_from = NULL;
	while (mail_header_iter_next(&it, &f)) {
		if (first) {
			first = false;
			after_trace = f.offset + f.size;
			continue;
		}
		if (mail_header_name_is(&f, "Date"))
			have_date = true;
		else if (mail_header_name_is(&f, "Message-ID"))
			have_msgid = true;
		else if (mail_header_name_is(&f, "From") && bad_from == NULL) {
			struct mail_address_list list;
			mail_address_parse(f.value, f.value_len, false, &list);
			for (size_t i = 0; i < list.n && bad_from == NULL; i++) {
				const struct mail_address *a = &list.v[i];
				if (a->domain == NULL)
					continue;	/* group syntax markers */
				struct buf addr = BUF_INIT;
				mail_address_format_addr_spec(a, &addr);
				if (a->invalid || a->mailbox[0] == '\0' ||
				    !smtp_submit_sender_ok(cfg, s->env->accounts, s->auth_user,
							   buf_cstr(&addr)))
					bad_from = buf_steal(&addr);
				buf_free(&addr);
			}
			mail_address_list_free(&list);
		}
	}
	buf_free(&hdr);
	if (bad_from != NULL) {
		log_info("smtp[%s]: %s: From: <%s> refused for user %s", s->id, t->queue_id,
			 bad_from, s->auth_user);
		smtp_error(s, 553, "5.7.1", "Error: From: address <%s> is not owned by user %s",
			   bad_from, s->auth_user);
		free(bad_from);
		return false;
	}
	if (have_date && have_msgid)
		return true;
	struct buf add = BUF_INIT;
	if (!have_date) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		buf_append_str(&add, "Date: ");
		mail_date_format(now, (int)(tm.tm_gmtoff / 60), &add);
		buf_append_str(&add, "\r\n");
	}
	if (!have_msgid)
		buf_appendf(&add, "Message-ID: <%s@%s>\r\n", t->queue_id, cfg->hostname);
	int ret = spool_insert(t, t->prefix_len + after_trace, &add);
	buf_free(&add);
	if (ret < 0) {
		log_error("smtp[%s]: %s: cannot add header fields: %s", s->id, t->queue_id,
			  strerror(errno));
		smtp_reply(s, 451, "4.3.0", "Error: queue file write error");
		return false;
	}
	return true;
}
