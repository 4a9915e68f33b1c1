/* queue_attempt.c — the blocking halves of a delivery attempt (see
 * queue_attempt.h). Runs in thread-pool jobs of the queue process. Reads
 * envelope and message files correu wrote; recipient addresses come from
 * clients but were syntax-checked when they were accepted. */
#include "queue_attempt.h"
#include "queue_dsn.h"
#include "queue_env.h"
#include "queue_file.h"
#include "auth_resolve.h"
#include "fsutil.h"
#include "log.h"
#include "store_deliver.h"
#include "store_quota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

struct queue_attempt *queue_attempt_new(const struct config *cfg, const char *id, bool force)
{
	struct queue_attempt *a = x_calloc(1, sizeof(*a));
	a->cfg = cfg;
	a->id = x_strdup(id);
	a->force = force;
	a->fd = -1;
	queue_envelope_init(&a->env);
	strv_init(&a->dsn_ids);
	return a;
}

void queue_attempt_free(struct queue_attempt **ap)
{
	struct queue_attempt *a = *ap;
	if (a == NULL)
		return;
	*ap = NULL;
	if (a->fd >= 0)
		close(a->fd);
	queue_envelope_free(&a->env);
	free(a->outcome);
	free(a->remote);
	free(a->error);
	free(a->id);
	strv_free(&a->dsn_ids);
	free(a);
}

bool queue_address_domain(const char *address, char *out, size_t size)
{
	const char *at = strrchr(address, '@');
	if (at == NULL || at[1] == '\0' || strlen(at + 1) >= size)
		return false;
	strcpy(out, at + 1);
	str_lower(out);
	return true;
}

void queue_attempt_set(struct queue_attempt *a, size_t idx, enum queue_outcome outcome,
		       const char *enhanced, const char *text, const char *mta)
{
	struct queue_rcpt *r = &a->env.rcpts[idx];
	a->outcome[idx] = outcome;
	r->attempts++;
	r->last_attempt = a->now;
	snprintf(r->status_code, sizeof(r->status_code), "%s", enhanced != NULL ? enhanced : "");
	free(r->last_error);
	r->last_error = text != NULL ? x_strdup(text) : NULL;
	free(r->remote_mta);
	r->remote_mta = mta != NULL ? x_strdup(mta) : NULL;
}

/* One accounts handle per helper thread (auth_db.h). */
static struct auth_db *thread_db(const struct config *cfg, const char **error_r)
{
	static _Thread_local struct auth_db *db;
	if (db == NULL)
		db = auth_db_open(cfg, false, error_r);
	return db;
}

/* Writes Return-Path + the message into tmp/ and links it into every
 * Maildir. */
static int deliver_local(struct queue_attempt *a, const struct strv *users,
			 const char **error_r)
{
	static atomic_uint seq;
	struct auth_db *db = thread_db(a->cfg, error_r);
	if (db == NULL)
		return -1;
	struct store_target *targets = x_calloc(users->n, sizeof(*targets));
	struct auth_user *u = x_calloc(users->n, sizeof(*u));
	size_t n = 0;
	int ret = -1;
	int in = -1, out = -1;
	char *tmp = x_asprintf("%s/queue/tmp/%s.local.%u", a->cfg->data_dir, a->id,
			       atomic_fetch_add(&seq, 1));
	for (size_t i = 0; i < users->n; i++) {
		int r = auth_db_user_get(db, users->v[i], &u[n]);
		if (r < 0) {
			*error_r = "accounts database error";
			goto out;
		}
		if (r == 0)
			continue;	/* deleted since it was resolved */
		targets[n].maildir = u[n].maildir;
		targets[n].folder = NULL;
		n++;
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	in = queue_message_open(a->cfg, &a->env);
	out = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (in < 0 || out < 0) {
		*error_r = "cannot open the message for local delivery";
		goto out;
	}
	struct buf hdr = BUF_INIT;
	buf_appendf(&hdr, "Return-Path: <%s>\r\n", a->env.sender);
	int w = write_full(out, hdr.data, hdr.len);
	size_t size = hdr.len + (size_t)a->env.size;
	buf_free(&hdr);
	off_t off = (off_t)a->env.skip;
	size_t left = (size_t)a->env.size;
	while (w == 0 && left > 0) {
		ssize_t k = sendfile(out, in, &off, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			w = -1;
			break;
		}
		left -= (size_t)k;
	}
	if (w < 0) {
		*error_r = "cannot copy the message for local delivery";
		goto out;
	}
	ret = store_deliver_files(out, tmp, size, targets, n, NULL, error_r);
out:
	if (in >= 0)
		close(in);
	if (out >= 0) {
		close(out);
		unlink(tmp);
	}
	free(tmp);
	for (size_t i = 0; i < n; i++)
		auth_user_free(&u[i]);
	free(u);
	free(targets);
	return ret;
}

/* Quota verdicts of the accounts this attempt delivers to, each looked
 * up once (store_quota_usage: index usage after INBOX's new mail). */
struct quota_seen {
	struct strv users;
	enum store_quota_verdict *verdict;
};

static enum store_quota_verdict quota_verdict(struct queue_attempt *a, struct auth_db *db,
					      struct quota_seen *qs, const char *user)
{
	for (size_t i = 0; i < qs->users.n; i++)
		if (strcmp(qs->users.v[i], user) == 0)
			return qs->verdict[i];
	enum store_quota_verdict v = STORE_QUOTA_OK;
	struct auth_user u;
	if (db != NULL && auth_db_user_get(db, user, &u) == 1) {
		uint64_t used = 0;
		const char *error;
		/* The file deliver_local writes: Return-Path + the message. */
		uint64_t size = strlen("Return-Path: <>\r\n") + strlen(a->env.sender) +
			a->env.size;
		if (u.quota_bytes == 0)
			v = STORE_QUOTA_OK;
		else if (store_quota_usage(u.address, u.maildir, &used, &error) < 0)
			log_error("%s: quota of %s: %s", a->id, user, error);	/* let it in */
		else
			v = store_quota_check(u.quota_bytes, used, size, true);
		if (v != STORE_QUOTA_OK)
			log_info("%s: %s over quota (%llu of %llu bytes used, message %llu)", a->id,
				 user, (unsigned long long)used, (unsigned long long)u.quota_bytes,
				 (unsigned long long)size);
		auth_user_free(&u);
	}
	qs->verdict = x_reallocarray(qs->verdict, qs->users.n + 1, sizeof(*qs->verdict));
	qs->verdict[qs->users.n] = v;
	strv_push(&qs->users, user);
	return v;
}

/* The outcome of a recipient whose local accounts are all over quota:
 * temporary (the user can make room; retried until queue_lifetime), or
 * permanent when the message is larger than the whole quota. */
static void set_over_quota(struct queue_attempt *a, size_t idx, bool too_big)
{
	if (too_big)
		queue_attempt_set(a, idx, QUEUE_OUTCOME_PERM, "5.2.2",
				  "message larger than the mailbox quota of the recipient", NULL);
	else
		queue_attempt_set(a, idx, QUEUE_OUTCOME_TEMP, "4.2.2",
				  "mailbox full (quota exceeded)", NULL);
}

/* An account over quota reached through an alias that also leads to
 * other places: it becomes a recipient of its own, deferred, once the
 * alias is done with (parent delivered). */
struct quota_split {
	size_t parent;
	char *address;
	char *orcpt;
	unsigned notify;
	bool too_big;
};

static void push_remote(struct queue_attempt *a, size_t idx)
{
	a->remote = x_reallocarray(a->remote, a->n_remote + 1, sizeof(*a->remote));
	a->remote[a->n_remote++] = idx;
}

static void resolve_recipients(struct queue_attempt *a)
{
	const char *error = NULL;
	struct auth_db *db = thread_db(a->cfg, &error);
	char delim = a->cfg->recipient_delimiter != NULL ? a->cfg->recipient_delimiter[0] : '\0';
	struct strv users;
	strv_init(&users);
	size_t n = a->env.n_rcpts;
	bool *local = x_calloc(n, sizeof(*local));
	struct strv expand_addr, expand_orcpt;
	strv_init(&expand_addr);
	strv_init(&expand_orcpt);
	unsigned *expand_notify = NULL;
	size_t n_expand = 0;
	struct quota_seen qs = { .verdict = NULL };
	strv_init(&qs.users);
	struct quota_split *splits = NULL;
	size_t n_splits = 0;

	for (size_t i = 0; i < n; i++) {
		struct queue_rcpt *r = &a->env.rcpts[i];
		if (r->status != QUEUE_RCPT_PENDING)
			continue;
		char domain[256];
		if (!queue_address_domain(r->address, domain, sizeof(domain))) {
			queue_attempt_set(a, i, QUEUE_OUTCOME_PERM, "5.1.3",
					  "bad recipient address syntax", NULL);
			continue;
		}
		if (db == NULL) {
			queue_attempt_set(a, i, QUEUE_OUTCOME_TEMP, "4.3.0",
					  error != NULL ? error : "accounts database unavailable",
					  NULL);
			continue;
		}
		struct auth_resolved res;
		auth_resolved_init(&res);
		switch (auth_resolve(db, r->address, delim, &res)) {
		case AUTH_RESOLVE_LOCAL: {
			size_t n_over = 0, n_too_big = 0;
			for (size_t j = 0; j < res.local.n; j++) {
				enum store_quota_verdict v = quota_verdict(a, db, &qs, res.local.v[j]);
				n_over += v != STORE_QUOTA_OK;
				n_too_big += v == STORE_QUOTA_TOO_BIG;
			}
			if (n_over > 0 && n_over == res.local.n && res.remote.n == 0) {
				set_over_quota(a, i, n_too_big == n_over);
				break;
			}
			for (size_t j = 0; j < res.local.n; j++) {
				enum store_quota_verdict v = quota_verdict(a, db, &qs, res.local.v[j]);
				if (v == STORE_QUOTA_OK) {
					if (!strv_contains_icase(&users, res.local.v[j]))
						strv_push(&users, res.local.v[j]);
					continue;
				}
				splits = x_reallocarray(splits, n_splits + 1, sizeof(*splits));
				splits[n_splits++] = (struct quota_split){
					.parent = i,
					.address = x_strdup(res.local.v[j]),
					.orcpt = r->orcpt != NULL ? x_strdup(r->orcpt) :
						x_asprintf("rfc822;%s", r->address),
					.notify = r->notify,
					.too_big = v == STORE_QUOTA_TOO_BIG,
				};
			}
			for (size_t j = 0; j < res.remote.n; j++) {
				strv_push(&expand_addr, res.remote.v[j]);
				char *o = r->orcpt != NULL ? x_strdup(r->orcpt) :
					x_asprintf("rfc822;%s", r->address);
				strv_push_owned(&expand_orcpt, o);
				expand_notify = x_reallocarray(expand_notify, n_expand + 1,
							       sizeof(*expand_notify));
				expand_notify[n_expand++] = r->notify;
			}
			local[i] = true;
			break;
		}
		case AUTH_RESOLVE_REMOTE:
			push_remote(a, i);
			break;
		case AUTH_RESOLVE_UNKNOWN:
			queue_attempt_set(a, i, QUEUE_OUTCOME_PERM, "5.1.1",
					  "unknown user: no such mailbox here", NULL);
			break;
		case AUTH_RESOLVE_ERROR:
			queue_attempt_set(a, i, QUEUE_OUTCOME_TEMP, "4.3.0",
					  "accounts database error", NULL);
			break;
		}
		auth_resolved_free(&res);
	}

	if (users.n > 0) {
		const char *derr = NULL;
		bool ok = deliver_local(a, &users, &derr) == 0;
		if (!ok)
			log_warn("%s: local delivery failed: %s", a->id, derr);
		for (size_t i = 0; i < n; i++) {
			if (!local[i])
				continue;
			if (ok)
				queue_attempt_set(a, i, QUEUE_OUTCOME_SENT, "2.0.0",
						  "delivered to mailbox", NULL);
			else
				queue_attempt_set(a, i, QUEUE_OUTCOME_TEMP, "4.3.0",
						  derr != NULL ? derr : "local delivery failed", NULL);
		}
	} else {
		/* Aliases that only lead elsewhere are done once expanded. */
		for (size_t i = 0; i < n; i++)
			if (local[i])
				queue_attempt_set(a, i, QUEUE_OUTCOME_SENT, "2.0.0",
						  "expanded", NULL);
	}
	for (size_t j = 0; j < n_expand; j++) {
		queue_envelope_add_rcpt(&a->env, expand_addr.v[j], expand_notify[j],
					expand_orcpt.v[j]);
		a->outcome = x_reallocarray(a->outcome, a->env.n_rcpts, sizeof(*a->outcome));
		a->outcome[a->env.n_rcpts - 1] = QUEUE_OUTCOME_NONE;
		push_remote(a, a->env.n_rcpts - 1);
	}
	/* An alias whose local delivery failed is tried again in full; its
	 * accounts over quota are split off only once it is done. */
	for (size_t j = 0; j < n_splits; j++) {
		struct quota_split *q = &splits[j];
		if (a->outcome[q->parent] == QUEUE_OUTCOME_SENT) {
			queue_envelope_add_rcpt(&a->env, q->address, q->notify, q->orcpt);
			a->outcome = x_reallocarray(a->outcome, a->env.n_rcpts,
						    sizeof(*a->outcome));
			set_over_quota(a, a->env.n_rcpts - 1, q->too_big);
		}
		free(q->address);
		free(q->orcpt);
	}
	free(splits);
	strv_free(&qs.users);
	free(qs.verdict);
	free(expand_notify);
	strv_free(&expand_addr);
	strv_free(&expand_orcpt);
	strv_free(&users);
	free(local);
}

static void quarantine(struct queue_attempt *a, const char *why)
{
	const char *error;
	if (queue_quarantine(a->cfg, a->id, &error) < 0) {
		log_error("%s: damaged (%s) and %s", a->id, why, error);
		a->error = x_strdup(why);
		return;
	}
	log_error("%s: damaged (%s): moved to queue/corrupt", a->id, why);
	a->gone = true;
}

void queue_attempt_prepare(struct queue_attempt *a)
{
	const char *error = NULL;
	a->now = time(NULL);
	if (queue_env_load(a->cfg, a->id, &a->env, &error) < 0) {
		if (errno == ENOENT) {
			a->gone = true;
		} else if (errno == EINVAL) {
			quarantine(a, error);
		} else {
			a->error = x_strdup(error);
		}
		return;
	}
	a->loaded = true;
	struct stat st;
	char *path = queue_file_path(a->cfg, a->id, NULL);
	int sr = stat(path, &st);
	free(path);
	if ((sr < 0 && errno == ENOENT) ||
	    (sr == 0 && (uint64_t)st.st_size < (uint64_t)a->env.skip + a->env.size)) {
		quarantine(a, sr < 0 ? "message file missing" : "message file shorter than its envelope");
		return;
	}
	if (a->env.held) {
		a->held = true;
		return;
	}
	if (!a->force && a->env.next_attempt > a->now) {
		a->not_due = true;
		return;
	}
	a->outcome = x_calloc(a->env.n_rcpts, sizeof(*a->outcome));
	resolve_recipients(a);
	if (a->n_remote > 0) {
		a->fd = queue_message_open(a->cfg, &a->env);
		if (a->fd < 0) {
			for (size_t i = 0; i < a->n_remote; i++)
				queue_attempt_set(a, a->remote[i], QUEUE_OUTCOME_TEMP, "4.3.0",
						  "cannot open the queued message", NULL);
			a->n_remote = 0;
		}
	}
}

static void send_dsn(struct queue_attempt *a, const struct queue_sched_params *sp,
		     const struct queue_dsn_item *items, size_t n, const char **error_r)
{
	struct queue_dsn_params p = {
		.hostname = a->cfg->hostname,
		.now = a->now,
		.retry_until = queue_sched_expiry(sp, a->env.arrival),
	};
	bool failed = false;
	for (size_t i = 0; i < n; i++)
		if (items[i].action == QUEUE_DSN_FAILED)
			failed = true;
	/* Full content only for bounces that asked for it. */
	bool full = failed && a->env.ret == QUEUE_RET_FULL && a->env.size <= QUEUE_DSN_FULL_MAX;
	struct buf orig = BUF_INIT;
	if (queue_message_read(a->cfg, &a->env, full ? QUEUE_DSN_FULL_MAX : 256 * 1024, !full,
			       &orig, error_r) < 0) {
		/* Report without the original rather than not at all. */
		buf_reset(&orig);
	}
	struct buf msg = BUF_INIT;
	queue_dsn_build(&p, &a->env, items, n, orig.data, orig.len, full, &msg);
	buf_free(&orig);
	struct queue_envelope denv;
	queue_dsn_envelope(&a->env, &denv);
	char *id = NULL;
	if (queue_enqueue_data(a->cfg, msg.data, msg.len, &denv, &id, error_r) == 0) {
		log_info("%s: sender notification (DSN) %s queued as %s", a->id,
			 failed ? "of non-delivery" : "of delay or delivery", id);
		strv_push_owned(&a->dsn_ids, id);
	}
	queue_envelope_free(&denv);
	buf_free(&msg);
}

void queue_attempt_commit(struct queue_attempt *a, const struct queue_sched_params *sp)
{
	const char *error = NULL;
	struct queue_dsn_item *items = x_calloc(a->env.n_rcpts + 1, sizeof(*items));
	size_t n_items = 0;
	bool expired = queue_sched_expired(sp, a->env.arrival, a->now);
	bool warn = queue_sched_warning_due(sp, a->env.arrival, a->now);
	unsigned max_attempts = 0;

	for (size_t i = 0; i < a->env.n_rcpts; i++) {
		struct queue_rcpt *r = &a->env.rcpts[i];
		if (r->status != QUEUE_RCPT_PENDING)
			continue;
		switch (a->outcome != NULL ? a->outcome[i] : QUEUE_OUTCOME_NONE) {
		case QUEUE_OUTCOME_SENT:
			r->status = QUEUE_RCPT_SENT;
			if (r->remote_mta == NULL &&
			    queue_dsn_wanted(&a->env, r, QUEUE_DSN_DELIVERED))
				items[n_items++] = (struct queue_dsn_item){ r, QUEUE_DSN_DELIVERED };
			break;
		case QUEUE_OUTCOME_RELAYED:
			r->status = QUEUE_RCPT_SENT;
			if (queue_dsn_wanted(&a->env, r, QUEUE_DSN_RELAYED))
				items[n_items++] = (struct queue_dsn_item){ r, QUEUE_DSN_RELAYED };
			break;
		case QUEUE_OUTCOME_PERM:
			r->status = QUEUE_RCPT_FAILED;
			if (queue_dsn_wanted(&a->env, r, QUEUE_DSN_FAILED))
				items[n_items++] = (struct queue_dsn_item){ r, QUEUE_DSN_FAILED };
			break;
		case QUEUE_OUTCOME_TEMP:
		case QUEUE_OUTCOME_NONE:
			if (expired) {
				r->status = QUEUE_RCPT_FAILED;
				char *text = x_asprintf("%s (gave up: message too old)",
							r->last_error != NULL ? r->last_error :
							"not delivered");
				free(r->last_error);
				r->last_error = text;
				if (r->status_code[0] == '\0' || r->status_code[0] == '2')
					snprintf(r->status_code, sizeof(r->status_code), "4.4.7");
				if (queue_dsn_wanted(&a->env, r, QUEUE_DSN_FAILED))
					items[n_items++] = (struct queue_dsn_item){ r, QUEUE_DSN_FAILED };
			} else {
				if (warn && !r->delay_warned &&
				    queue_dsn_wanted(&a->env, r, QUEUE_DSN_DELAYED)) {
					r->delay_warned = true;
					items[n_items++] = (struct queue_dsn_item){ r, QUEUE_DSN_DELAYED };
				}
				if (r->attempts > max_attempts)
					max_attempts = r->attempts;
			}
			break;
		}
	}
	if (n_items > 0) {
		size_t before = a->dsn_ids.n;
		send_dsn(a, sp, items, n_items, &error);
		if (a->dsn_ids.n == before) {
			/* Keep the message as it was: the attempt (and the
			 * notification) will be repeated. */
			log_error("%s: cannot queue the DSN: %s", a->id,
				  error != NULL ? error : "unknown error");
			a->error = x_strdup("cannot queue a DSN");
			free(items);
			return;
		}
	}
	free(items);

	bool pending = false;
	for (size_t i = 0; i < a->env.n_rcpts; i++)
		if (a->env.rcpts[i].status == QUEUE_RCPT_PENDING)
			pending = true;
	if (!pending) {
		if (queue_remove(a->cfg, a->id, &error) < 0) {
			log_error("%s: %s", a->id, error);
			a->error = x_strdup(error);
			return;
		}
		a->removed = true;
		return;
	}
	a->env.next_attempt = a->interrupted ? a->now :
		queue_sched_next(sp, a->env.arrival, max_attempts > 0 ? max_attempts : 1, a->now);
	if (queue_env_save(a->cfg, &a->env, false, &error) < 0) {
		log_error("%s: %s", a->id, error);
		a->error = x_strdup(error);
	}
}
