/* smtp_quota.c — the storage quota of local recipients at RCPT: an
 * account at or over its quota, or one the announced SIZE= does not fit
 * in, gets 452 4.2.2 (a message larger than the whole quota 552 5.2.2);
 * other recipients of the transaction are unaffected. The usage look-up
 * (store_quota_usage: index open, INBOX's new mail taken in) runs in the
 * thread pool while the session waits. What happens at the end of data
 * is in smtp_cmd_data.c (commit_work). Runs in the workers. */
#include "smtp_session.h"
#include "auth_db.h"
#include "auth_resolve.h"
#include "log.h"
#include "store_quota.h"

#include <stdlib.h>
#include <string.h>

void smtp_txn_add_local(struct smtp_txn *t, const char *user, uint64_t quota, uint64_t used)
{
	if (strv_contains_icase(&t->local_users, user))
		return;
	size_t n = t->local_users.n;
	strv_push(&t->local_users, user);
	t->local_quota = x_reallocarray(t->local_quota, n + 1, sizeof(*t->local_quota));
	t->local_used = x_reallocarray(t->local_used, n + 1, sizeof(*t->local_used));
	t->local_quota[n] = quota;
	t->local_used[n] = used;
}

/* One local account of the RCPT that has a quota. */
struct quota_acct {
	char *user;		/* canonical address */
	char *maildir;
	uint64_t quota;
	uint64_t used;		/* SMTP_QUOTA_UNKNOWN if the look-up failed */
};

struct quota_job {
	uv_work_t work;
	struct smtp_session *s;
	struct smtp_rcpt rcpt;
	struct auth_resolved res;
	uint64_t size;		/* SIZE= of MAIL, 0 if not given */
	struct quota_acct *accts;
	size_t n_accts;
};

static void job_free(struct quota_job *j)
{
	for (size_t i = 0; i < j->n_accts; i++) {
		free(j->accts[i].user);
		free(j->accts[i].maildir);
	}
	free(j->accts);
	free(j->rcpt.address);
	free(j->rcpt.orcpt);
	auth_resolved_free(&j->res);
	free(j);
}

static const struct quota_acct *find_acct(const struct quota_job *j, const char *user)
{
	for (size_t i = 0; i < j->n_accts; i++)
		if (strcmp(j->accts[i].user, user) == 0)
			return &j->accts[i];
	return NULL;
}

static enum store_quota_verdict verdict(const struct quota_job *j, const char *user,
					uint64_t *quota_r, uint64_t *used_r)
{
	const struct quota_acct *a = find_acct(j, user);
	*quota_r = a != NULL ? a->quota : 0;
	*used_r = a != NULL ? a->used : 0;
	/* A failed look-up lets the mail in: the quota is a soft limit and
	 * our own trouble is no reason to refuse mail. */
	if (a == NULL || a->used == SMTP_QUOTA_UNKNOWN)
		return STORE_QUOTA_OK;
	return store_quota_check(a->quota, a->used, j->size, false);
}

/* Applies the verdicts: the RCPT is refused when every account it leads
 * to is over quota (and it leads nowhere else); otherwise the accounts
 * over quota go to the queue, which defers them (4.2.2) until there is
 * room, and the others get the message at the end of data. */
static void job_finish(struct quota_job *j)
{
	struct smtp_session *s = j->s;
	struct smtp_txn *t = s->txn;
	size_t n_over = 0, n_too_big = 0;
	for (size_t i = 0; i < j->res.local.n; i++) {
		uint64_t quota, used;
		enum store_quota_verdict v = verdict(j, j->res.local.v[i], &quota, &used);
		n_over += v != STORE_QUOTA_OK;
		n_too_big += v == STORE_QUOTA_TOO_BIG;
		if (v != STORE_QUOTA_OK)
			log_info("smtp[%s]: %s: %s over quota (%llu of %llu bytes used%s) from=<%s> "
				 "to=<%s>", s->id, t->queue_id, j->res.local.v[i],
				 (unsigned long long)used, (unsigned long long)quota,
				 v == STORE_QUOTA_TOO_BIG ? ", message larger than the quota" : "",
				 t->sender, j->rcpt.address);
	}
	if (n_over > 0 && n_over == j->res.local.n && j->res.remote.n == 0) {
		/* Why not 552 for a full mailbox: the user can make room, so
		 * it is a persistent transient condition (RFC 3463 X.2.2) that
		 * the sender's queue should retry, not a bounce at once. */
		if (n_too_big == n_over)
			smtp_reply(s, 552, "5.2.2", "<%s>: Message is larger than the mailbox "
				   "quota of the recipient", j->rcpt.address);
		else
			smtp_reply(s, 452, "4.2.2", "<%s>: Mailbox full", j->rcpt.address);
		return;
	}
	for (size_t i = 0; i < j->res.local.n; i++) {
		const char *user = j->res.local.v[i];
		uint64_t quota, used;
		if (verdict(j, user, &quota, &used) == STORE_QUOTA_OK)
			smtp_txn_add_local(t, user, quota, used);
		else if (!strv_contains_icase(&t->remote, user))
			strv_push(&t->remote, user);
	}
	for (size_t i = 0; i < j->res.remote.n; i++)
		if (!strv_contains_icase(&t->remote, j->res.remote.v[i]))
			strv_push(&t->remote, j->res.remote.v[i]);
	smtp_rcpt_accept(s, &j->rcpt);
}

static void job_work(uv_work_t *w)
{
	struct quota_job *j = w->data;
	for (size_t i = 0; i < j->n_accts; i++) {
		struct quota_acct *a = &j->accts[i];
		const char *error;
		if (store_quota_usage(a->user, a->maildir, &a->used, &error) < 0) {
			log_error("smtp[%s]: quota of %s: %s", j->s->id, a->user, error);
			a->used = SMTP_QUOTA_UNKNOWN;
		}
	}
}

static void job_done(uv_work_t *w, int status)
{
	struct quota_job *j = w->data;
	struct smtp_session *s = j->s;
	s->commit = NULL;
	if (s->closed) {
		job_free(j);
		smtp_session_free(s);
		return;
	}
	if (status != 0)
		for (size_t i = 0; i < j->n_accts; i++)
			j->accts[i].used = SMTP_QUOTA_UNKNOWN;
	job_finish(j);
	job_free(j);
	s->phase = SMTP_PHASE_COMMANDS;
	smtp_session_resume(s);
}

void smtp_quota_rcpt(struct smtp_session *s, struct smtp_rcpt *r, struct auth_resolved *res)
{
	struct quota_job *j = x_calloc(1, sizeof(*j));
	j->s = s;
	j->rcpt = *r;
	memset(r, 0, sizeof(*r));
	j->res = *res;
	auth_resolved_init(res);
	j->size = s->txn->size_declared;
	for (size_t i = 0; i < j->res.local.n; i++) {
		struct auth_user u;
		if (auth_db_user_get(s->env->accounts, j->res.local.v[i], &u) != 1)
			continue;	/* deleted meanwhile: the end of data says so */
		if (u.quota_bytes > 0) {
			j->accts = x_reallocarray(j->accts, j->n_accts + 1, sizeof(*j->accts));
			j->accts[j->n_accts++] = (struct quota_acct){
				.user = x_strdup(j->res.local.v[i]),
				.maildir = x_strdup(u.maildir),
				.quota = u.quota_bytes,
			};
		}
		auth_user_free(&u);
	}
	if (j->n_accts == 0) {
		/* No quota anywhere: nothing to look up. */
		job_finish(j);
		job_free(j);
		return;
	}
	j->work.data = j;
	s->commit = &j->work;
	s->phase = SMTP_PHASE_WAIT;
	conn_pause(s->conn);
	if (uv_queue_work(s->env->loop, &j->work, job_work, job_done) != 0)
		log_fatal("uv_queue_work failed");
}
