/* pop3_maildrop.c — the POP3 view of a user's INBOX through the store:
 * opening it after login (account lookup, async store open, the
 * exclusive maildrop lock, a snapshot of the messages), the UPDATE state
 * at QUIT (expunge and \Seen), and UIDLs. Runs in the workers. Reads no
 * client input. */
#include "pop3_session.h"
#include "auth_db.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void open_fail(struct pop3_session *s, const char *reply)
{
	pop3_maildrop_free(s);
	x_free(&s->auth_user);
	s->state = POP3_STATE_AUTHORIZATION;
	s->phase = POP3_PHASE_COMMANDS;
	pop3_err(s, "%s", reply);
	pop3_session_resume(s);
}

/* Lists INBOX: numbering, sizes and names are fixed from here on. */
static int snapshot(struct pop3_session *s)
{
	if (store_mailbox_sync(s->mb) < 0)
		return -1;
	struct store_msg_iter it;
	struct store_msg m;
	uint32_t cap = 0;
	store_msg_iter_init(&it, s->mb, 1, UINT32_MAX);
	while (store_msg_iter_next(&it, &m)) {
		if (s->n_msgs == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			s->msgs = x_reallocarray(s->msgs, cap, sizeof(*s->msgs));
		}
		if (s->names.len > UINT32_MAX - 1024)
			break;	/* four billion bytes of names: keep what fits */
		struct pop3_msg *pm = &s->msgs[s->n_msgs++];
		pm->uid = m.uid;
		pm->size = m.size;
		pm->deleted = false;
		pm->retrieved = false;
		pm->name_ofs = (uint32_t)s->names.len;
		buf_append(&s->names, m.name, strlen(m.name) + 1);
		s->total_size += m.size;
	}
	return store_msg_iter_deinit(&it);
}

static void store_opened(struct store_user *user, const char *error, void *ctx)
{
	struct pop3_session *s = ctx;
	s->open_req = NULL;
	if (error != NULL) {
		log_error("pop3[%s]: cannot open the mail store of %s: %s", s->id, s->auth_user,
			  error);
		open_fail(s, "[SYS/TEMP] Cannot open the mailbox; try again later.");
		return;
	}
	s->store = user;
	if (store_maildrop_lock(user, &s->lock) < 0) {
		if (store_user_error(user) == STORE_ERR_INUSE) {
			log_info("pop3[%s]: %s: maildrop in use", s->id, s->auth_user);
			open_fail(s, "[IN-USE] Mailbox is locked by another POP3 session.");
		} else {
			log_error("pop3[%s]: %s: %s", s->id, s->auth_user,
				  store_user_error_text(user));
			open_fail(s, "[SYS/TEMP] Cannot lock the mailbox; try again later.");
		}
		return;
	}
	if (store_mailbox_open(user, "INBOX", &s->mb) < 0 || snapshot(s) < 0) {
		log_error("pop3[%s]: %s: cannot list INBOX: %s", s->id, s->auth_user,
			  store_user_error_text(user));
		open_fail(s, "[SYS/TEMP] Cannot read the mailbox; try again later.");
		return;
	}
	s->uidvalidity = store_mailbox_uidvalidity(s->mb);
	s->state = POP3_STATE_TRANSACTION;
	s->phase = POP3_PHASE_COMMANDS;
	log_info("pop3[%s]: %s logged in: %" PRIu32 " messages, %" PRIu64 " octets", s->id,
		 s->auth_user, s->n_msgs, s->total_size);
	pop3_ok(s, "Logged in, %" PRIu32 " messages (%" PRIu64 " octets).", s->n_msgs,
		s->total_size);
	pop3_session_resume(s);
}

void pop3_maildrop_open(struct pop3_session *s, const char *account)
{
	struct auth_user u;
	free(s->auth_user);
	s->auth_user = x_strdup(account);
	int r = auth_db_user_get(s->env->accounts, account, &u);
	if (r != 1) {
		log_error("pop3[%s]: account %s authenticated but %s", s->id, account,
			  r == 0 ? "not in the accounts database" : "the accounts database failed");
		open_fail(s, "[SYS/TEMP] Cannot open the mailbox; try again later.");
		return;
	}
	s->phase = POP3_PHASE_WAIT;
	conn_pause(s->conn);
	s->open_req = store_user_open(s->env->loop, u.address, u.maildir, u.quota_bytes,
				      store_opened, s);
	auth_user_free(&u);
}

struct pop3_msg *pop3_maildrop_msg(struct pop3_session *s, uint32_t msg)
{
	if (msg == 0 || msg > s->n_msgs) {
		pop3_err(s, "There is no message %" PRIu32 ".", msg);
		return NULL;
	}
	struct pop3_msg *m = &s->msgs[msg - 1];
	if (m->deleted) {
		pop3_err(s, "Message %" PRIu32 " is deleted.", msg);
		return NULL;
	}
	return m;
}

void pop3_uidl(const struct pop3_session *s, const struct pop3_msg *m, char out[17])
{
	snprintf(out, 17, "%08" PRIX32 "%08" PRIX32, m->uid, s->uidvalidity);
}

static void flags_ignored(void *ctx, uint32_t uid, uint32_t flags, uint64_t keywords,
			  uint64_t modseq, bool changed, bool failed)
{
	(void)ctx, (void)uid, (void)flags, (void)keywords, (void)modseq, (void)changed,
		(void)failed;
}

int pop3_maildrop_update(struct pop3_session *s, uint32_t *expunged_r)
{
	*expunged_r = 0;
	uint32_t *uids = x_reallocarray(NULL, s->n_msgs + 1, sizeof(uint32_t));
	size_t n = 0;
	int ret = 0;
	/* msgs[] is in UID order, as the store wants the lists. */
	for (uint32_t i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].deleted)
			uids[n++] = s->msgs[i].uid;
	}
	if (n > 0) {
		if (store_msg_expunge(s->mb, uids, n, false, NULL, NULL) < 0) {
			log_error("pop3[%s]: %s: expunge failed: %s", s->id, s->auth_user,
				  store_user_error_text(s->store));
			ret = -1;
		} else {
			*expunged_r = (uint32_t)n;
		}
	}
	n = 0;
	for (uint32_t i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].retrieved && !s->msgs[i].deleted)
			uids[n++] = s->msgs[i].uid;
	}
	if (n > 0) {
		const struct store_flag_change seen = {
			.mode = STORE_MODIFY_ADD,
			.flags = STORE_FLAG_SEEN,
		};
		/* Best effort: a lost \Seen is no reason to fail QUIT. */
		if (store_msg_update_flags(s->mb, uids, n, &seen, flags_ignored, NULL) < 0)
			log_warn("pop3[%s]: %s: cannot set \\Seen: %s", s->id, s->auth_user,
				 store_user_error_text(s->store));
	}
	free(uids);
	return ret;
}

void pop3_maildrop_free(struct pop3_session *s)
{
	if (s->open_req != NULL)
		store_open_req_cancel(s->open_req);
	s->open_req = NULL;
	store_mailbox_close(&s->mb);
	store_maildrop_unlock(&s->lock);
	if (s->store != NULL)
		store_user_unref(&s->store);
	x_free(&s->msgs);
	s->n_msgs = 0;
	s->n_deleted = 0;
	s->deleted_size = 0;
	s->total_size = 0;
	buf_free(&s->names);
}
