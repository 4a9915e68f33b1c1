/* web_action.c — the actions on messages of the JSON API: flags, move,
 * copy, delete (to Trash, or for good in Trash) and emptying a folder,
 * and how messages leave a folder on servers with and without MOVE and
 * UIDPLUS (web_action.h). Runs in the web process. Parses untrusted
 * request bodies. */
#include "web_action.h"
#include "web_api.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

enum web_removal web_removal_plan(bool move, bool have_move, bool have_uidplus)
{
	if (move && have_move)
		return WEB_REMOVE_MOVE;
	/* A plain EXPUNGE would also remove every other \Deleted message
	 * of the folder (another client's pending deletions): without
	 * UIDPLUS's UID EXPUNGE, leave ours \Deleted; the list hides them
	 * (web_list.c) until the folder is emptied or another client
	 * expunges. */
	return have_uidplus ? WEB_REMOVE_EXPUNGE : WEB_REMOVE_HIDE;
}

enum web_removal web_removal(const struct web_imap *im, bool move)
{
	return web_removal_plan(move, web_imap_has_cap(im, "MOVE"), web_imap_has_cap(im, "UIDPLUS"));
}

struct removal {
	struct web_imap *im;
	char *folder;
	char *uids;
	web_imap_cb *cb;
	void *ctx;
};

static void removal_stored(const struct web_imap_reply *rep, void *ctx)
{
	struct removal *rm = ctx;
	if (rep->status == WEB_IMAP_OK && web_removal(rm->im, false) == WEB_REMOVE_EXPUNGE) {
		struct web_imap_cmd cmd;
		web_imap_cmd_init(&cmd);
		web_imap_cmd_printf(&cmd, "UID EXPUNGE %s", rm->uids);
		web_imap_run(rm->im, rm->folder, &cmd, rm->cb, rm->ctx);
	} else if (rm->cb != NULL) {
		rm->cb(rep, rm->ctx);
	}
	free(rm->folder);
	free(rm->uids);
	free(rm);
}

void web_removal_queue(struct web_imap *im, const char *folder, const char *uids,
		       web_imap_cb *cb, void *ctx)
{
	struct removal *rm = x_calloc(1, sizeof(*rm));
	rm->im = im;
	rm->folder = x_strdup(folder);
	rm->uids = x_strdup(uids);
	rm->cb = cb;
	rm->ctx = ctx;
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "UID STORE %s +FLAGS.SILENT (\\Deleted)", uids);
	web_imap_run(im, folder, &cmd, removal_stored, rm);
}

struct action_op {
	struct web_req *r;
	char *folder;
	struct buf set;		/* UID set */
	bool flags_only;	/* no message comes or goes */
};

static void action_free(struct action_op *op)
{
	free(op->folder);
	buf_free(&op->set);
	free(op);
}

static bool action_ok(struct action_op *op, const struct web_imap_reply *rep)
{
	if (!web_api_session_ok(op->r)) {
		action_free(op);
		return false;
	}
	if (rep->status != WEB_IMAP_OK) {
		web_api_imap_error(op->r, rep);
		action_free(op);
		return false;
	}
	return true;
}

static void action_done(const struct web_imap_reply *rep, void *ctx)
{
	struct action_op *op = ctx;
	if (!action_ok(op, rep))
		return;
	struct web_session *s = op->r->session;
	if (op->flags_only)
		web_session_flags_changed(s);
	else
		web_session_cache_clear(s);
	web_respond_json(op->r, 200, json_pack("{s:b}", "ok", 1));
	action_free(op);
}

/* After COPY: the originals leave the folder. */
static void copied(const struct web_imap_reply *rep, void *ctx)
{
	struct action_op *op = ctx;
	if (!action_ok(op, rep))
		return;
	web_removal_queue(op->r->session->imap, op->folder, buf_cstr(&op->set), action_done, op);
}

static const char *json_str(json_t *obj, const char *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Reads folder and uids; returns NULL after answering 400. */
static struct action_op *action_new(struct web_req *r)
{
	const char *folder = json_str(r->json, "folder");
	struct web_imap_cmd tmp;
	web_imap_cmd_init(&tmp);
	if (folder == NULL || !web_api_uid_set(json_object_get(r->json, "uids"), &tmp)) {
		web_imap_cmd_free(&tmp);
		web_respond_error(r, 400, "folder and uids are required");
		return NULL;
	}
	struct action_op *op = x_calloc(1, sizeof(*op));
	op->r = r;
	op->folder = x_strdup(folder);
	op->set = tmp.text;
	free(tmp.lits);
	return op;
}

static bool valid_flag(const char *f)
{
	if (f == NULL || f[0] == '\0' || strlen(f) > 100)
		return false;
	for (const char *p = f + (f[0] == '\\' ? 1 : 0); *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

static bool flag_list(json_t *arr, struct buf *out)
{
	if (arr == NULL)
		return true;
	if (!json_is_array(arr) || json_array_size(arr) > 20)
		return false;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || !valid_flag(json_string_value(v)))
			return false;
		buf_appendf(out, "%s%s", out->len > 0 ? " " : "", json_string_value(v));
	}
	return true;
}

void web_api_flags(struct web_req *r)
{
	struct action_op *op = action_new(r);
	if (op == NULL)
		return;
	struct buf add = BUF_INIT, del = BUF_INIT;
	if (!flag_list(json_object_get(r->json, "add"), &add) ||
	    !flag_list(json_object_get(r->json, "remove"), &del) || add.len + del.len == 0) {
		buf_free(&add);
		buf_free(&del);
		action_free(op);
		web_respond_error(r, 400, "bad flags");
		return;
	}
	struct web_session *s = r->session;
	op->flags_only = true;
	if (add.len > 0 && del.len > 0) {
		/* Two commands; the first one's reply is not waited for, the
		 * queue keeps them in order and the second reports. */
		struct web_imap_cmd c1;
		web_imap_cmd_init(&c1);
		web_imap_cmd_printf(&c1, "UID STORE %s +FLAGS.SILENT (%s)", buf_cstr(&op->set), add.data);
		web_imap_run(s->imap, op->folder, &c1, NULL, NULL);
	}
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	if (del.len > 0)
		web_imap_cmd_printf(&cmd, "UID STORE %s -FLAGS.SILENT (%s)", buf_cstr(&op->set), del.data);
	else
		web_imap_cmd_printf(&cmd, "UID STORE %s +FLAGS.SILENT (%s)", buf_cstr(&op->set), add.data);
	buf_free(&add);
	buf_free(&del);
	web_imap_run(s->imap, op->folder, &cmd, action_done, op);
}

static void move_to(struct web_req *r, struct action_op *op, const char *dest, bool copy)
{
	struct web_session *s = r->session;
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	bool move = !copy && web_removal(s->imap, true) == WEB_REMOVE_MOVE;
	web_imap_cmd_printf(&cmd, "UID %s %s ", move ? "MOVE" : "COPY", buf_cstr(&op->set));
	web_imap_cmd_astring(&cmd, dest, strlen(dest));
	web_imap_run(s->imap, op->folder, &cmd, copy || move ? action_done : copied, op);
}

void web_api_move(struct web_req *r)
{
	const char *dest = json_str(r->json, "to");
	if (dest == NULL) {
		web_respond_error(r, 400, "destination folder required");
		return;
	}
	struct action_op *op = action_new(r);
	if (op != NULL)
		move_to(r, op, dest, strcmp(r->path, "/api/copy") == 0);
}

void web_api_delete(struct web_req *r)
{
	struct action_op *op = action_new(r);
	if (op == NULL)
		return;
	const char *trash = web_api_special_folder(r->session, "\\Trash");
	if (strcmp(op->folder, trash) == 0 || json_is_true(json_object_get(r->json, "permanent"))) {
		web_removal_queue(r->session->imap, op->folder, buf_cstr(&op->set), action_done, op);
		return;
	}
	move_to(r, op, trash, false);
}

void web_api_folder_empty(struct web_req *r)
{
	const char *folder = json_str(r->json, "folder");
	if (folder == NULL) {
		web_respond_error(r, 400, "folder required");
		return;
	}
	struct action_op *op = x_calloc(1, sizeof(*op));
	op->r = r;
	op->folder = x_strdup(folder);
	/* Every message goes, so a plain EXPUNGE is what is meant, with or
	 * without UIDPLUS. "UID STORE 1:*" fails on an empty folder with
	 * some servers, and SEARCH first would cost a round trip: sequence
	 * numbers. */
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "STORE 1:* +FLAGS.SILENT (\\Deleted)");
	web_imap_run(r->session->imap, folder, &cmd, NULL, NULL);
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "EXPUNGE");
	web_imap_run(r->session->imap, folder, &cmd, action_done, op);
}
