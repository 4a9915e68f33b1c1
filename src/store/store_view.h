/* store_view.h — one session's view of a selected mailbox: message
 * sequence numbers (MSN -> UID), \Recent, and what changed since the
 * session last looked (new messages, expunges, flag changes by others),
 * so the protocol can send EXISTS, EXPUNGE/VANISHED and FETCH FLAGS at
 * the moments the RFCs allow, and each message's system flags as of the
 * last update, so FETCH FLAGS and flag searches need no index scan.
 * Runs in the workers; memory: 5 bytes per message in view. */
#ifndef CORREU_STORE_VIEW_H
#define CORREU_STORE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_mailbox;
struct store_msg;

/* flags[msn - 1]: enum store_flag bits, and this one if the message
 * has keywords (their mask is in the index). */
#define STORE_VIEW_HAS_KEYWORDS 0x40u

struct store_view {
	struct store_mailbox *mb;
	uint32_t *uids;		/* uids[msn - 1], ascending */
	uint8_t *flags;		/* flags[msn - 1], see STORE_VIEW_HAS_KEYWORDS */
	uint32_t count;
	uint32_t cap;
	uint64_t modseq;	/* changes up to this modseq are reported */
	/* \Recent for this session: UIDs in [lo, hi] ranges. */
	struct { uint32_t lo, hi; } *recent;
	uint32_t n_recent;
	/* Expunged by others but not yet reported (EXPUNGE not allowed
	 * during FETCH/STORE/SEARCH); still counted in uids[]. */
	uint32_t *expunged;
	uint32_t n_expunged;
	bool readonly;
};

/* Opens a view on mb (which the view then owns). Unless readonly, this
 * session claims the mailbox's \Recent messages. */
int store_view_open(struct store_mailbox *mb, bool readonly, struct store_view **view_r);
void store_view_close(struct store_view **view);

struct store_view_events {
	/* A message left the view; msn is its number just before. */
	void (*expunge)(void *ctx, uint32_t msn, uint32_t uid);
	/* Flags of a message in view changed (by another session or tool). */
	void (*flags)(void *ctx, uint32_t msn, const struct store_msg *msg);
};

/* Syncs the mailbox and applies the changes: new messages join the view
 * (read view->count afterwards for EXISTS), flag changes are reported,
 * and expunges are reported and applied when allow_expunge, else kept
 * pending. Expunges are reported in descending MSN order, so each msn is
 * valid as sent. ev may be NULL. */
int store_view_update(struct store_view *view, bool allow_expunge,
		      const struct store_view_events *ev, void *ctx);

/* Marks the view as having seen every change up to the mailbox's
 * current modseq (after the session's own flag change, whose new flags
 * the session gives with store_view_set_flags). */
void store_view_caught_up(struct store_view *view, uint64_t modseq);
/* Records the flags of a message in view after the session changed them
 * itself. */
void store_view_set_flags(struct store_view *view, uint32_t uid, uint32_t flags,
			  uint64_t keywords);
/* Re-reads every message's flags from the index (after a failed flag
 * change whose callbacks were already applied). */
int store_view_reload_flags(struct store_view *view);

/* MSN of uid (1-based) or 0 if not in view. Binary search. */
uint32_t store_view_msn(const struct store_view *view, uint32_t uid);
bool store_view_is_recent(const struct store_view *view, uint32_t uid);
uint32_t store_view_recent_count(const struct store_view *view);
/* Whether uid was expunged by another session (and not yet reported). */
bool store_view_is_expunged(const struct store_view *view, uint32_t uid);
/* Adds UIDs this session itself created (APPEND/COPY into the selected
 * mailbox) — they arrive through store_view_update like any other. */

#endif
