/* web_compose.c — writing mail: POST /api/upload (an attachment kept in
 * the session) and /api/upload/delete, POST /api/send (build, submit
 * over SMTP, APPEND a copy to Sent, drop the draft, mark the original
 * answered), POST /api/draft (APPEND to Drafts) and POST
 * /api/draft/attachments (a stored draft's attachments into the compose
 * form). Runs in the web process. Parses untrusted request bodies and
 * server data. */
#include "web_action.h"
#include "web_api.h"
#include "web_mime.h"
#include "web_smtp.h"
#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct compose_op {
	struct web_req *r;
	bool draft;
	struct buf forward;
	bool have_forward;
	struct buf msg;
	struct strv rcpts;
	char *append_to;
	json_t *result;
};

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void op_free(struct compose_op *op)
{
	buf_free(&op->forward);
	buf_free(&op->msg);
	strv_free(&op->rcpts);
	free(op->append_to);
	if (op->result != NULL)
		json_decref(op->result);
	free(op);
}

/* Keeps data (taken over) as an attachment of the session's compose
 * form. */
static struct web_upload *upload_add(struct web_session *s, const char *name, const char *type,
				     struct buf *data)
{
	struct web_upload *u = x_calloc(1, sizeof(*u));
	u->id = ++s->upload_seq;
	u->filename = x_strdup(name);
	u->type = x_strdup(type != NULL && type[0] != '\0' ? type : "application/octet-stream");
	u->data = *data;
	buf_init(data);
	u->next = s->uploads;
	s->uploads = u;
	s->upload_bytes += u->data.len;
	return u;
}

static json_t *upload_json(const struct web_upload *u)
{
	return json_pack("{s:i, s:s, s:I}", "id", u->id, "name", u->filename,
			 "size", (json_int_t)u->data.len);
}

void web_api_upload(struct web_req *r)
{
	struct web_session *s = r->session;
	const char *name = web_param(r, "name");
	const char *type = web_param(r, "type");
	if (name == NULL || name[0] == '\0' || strlen(name) > 255) {
		web_respond_error(r, 400, "a file name is required");
		return;
	}
	if (s->upload_bytes + r->http.body.len > r->w->max_body) {
		web_respond_error(r, 413, "attachments too large");
		return;
	}
	struct web_upload *u = upload_add(s, name, type, &r->http.body);
	web_respond_json(r, 200, upload_json(u));
}

static struct web_upload *find_upload(struct web_session *s, json_int_t id)
{
	for (struct web_upload *u = s->uploads; u != NULL; u = u->next)
		if ((json_int_t)u->id == id)
			return u;
	return NULL;
}

static void drop_uploads(struct web_session *s, json_t *ids)
{
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		struct web_upload **pp = &s->uploads;
		while (*pp != NULL && (json_int_t)(*pp)->id != json_integer_value(v))
			pp = &(*pp)->next;
		if (*pp != NULL) {
			struct web_upload *u = *pp;
			*pp = u->next;
			s->upload_bytes -= u->data.len;
			free(u->filename);
			free(u->type);
			buf_free(&u->data);
			free(u);
		}
	}
}

void web_api_upload_delete(struct web_req *r)
{
	json_t *ids = json_object_get(r->json, "ids");
	if (!json_is_array(ids) || json_array_size(ids) > 10000) {
		web_respond_error(r, 400, "ids are required");
		return;
	}
	drop_uploads(r->session, ids);
	web_respond_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static bool op_alive(struct compose_op *op)
{
	if (!web_api_session_ok(op->r)) {
		op_free(op);
		return false;
	}
	return true;
}

static void finish(struct compose_op *op)
{
	json_t *ids = json_object_get(op->r->json, "attachments");
	if (!op->draft && json_is_array(ids))
		drop_uploads(op->r->session, ids);
	web_session_cache_clear(op->r->session);
	json_t *res = op->result;
	op->result = NULL;
	web_respond_json(op->r, 200, res);
	op_free(op);
}

static void after_append(const struct web_imap_reply *rep, void *ctx)
{
	struct compose_op *op = ctx;
	if (!op_alive(op))
		return;
	if (rep->status != WEB_IMAP_OK) {
		if (op->draft) {
			web_api_imap_error(op->r, rep);
			op_free(op);
			return;
		}
		/* Sent already; only the copy is missing. */
		json_object_set_new(op->result, "warning",
				    json_string("Sent, but the copy could not be saved in Sent."));
	} else if (rep->code != NULL && strncasecmp(rep->code, "APPENDUID ", 10) == 0) {
		const char *sp = strchr(rep->code + 10, ' ');
		if (sp != NULL)
			json_object_set_new(op->result, "uid", json_integer(atoll(sp + 1)));
	}
	struct web_session *s = op->r->session;
	/* A saved or sent draft replaces the previous version. */
	json_t *old = json_object_get(op->r->json, "draft_uid");
	if (json_is_integer(old) && json_integer_value(old) > 0) {
		char uid[24];
		snprintf(uid, sizeof(uid), "%lld", (long long)json_integer_value(old));
		web_removal_queue(s->imap, web_api_special_folder(s, "\\Drafts"), uid, NULL, NULL);
	}
	json_t *ans = json_object_get(op->r->json, "answered");
	const char *afolder = jstr(ans, "folder");
	json_t *auid = json_object_get(ans, "uid");
	if (!op->draft && afolder != NULL && json_is_integer(auid)) {
		struct web_imap_cmd cmd;
		web_imap_cmd_init(&cmd);
		web_imap_cmd_printf(&cmd, "UID STORE %lld +FLAGS.SILENT (\\Answered)",
				    (long long)json_integer_value(auid));
		web_imap_run(s->imap, afolder, &cmd, NULL, NULL);
	}
	finish(op);
}

static void append_copy(struct compose_op *op)
{
	struct web_session *s = op->r->session;
	op->append_to = x_strdup(web_api_special_folder(s, op->draft ? "\\Drafts" : "\\Sent"));
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "APPEND ");
	web_imap_cmd_astring(&cmd, op->append_to, strlen(op->append_to));
	web_imap_cmd_printf(&cmd, op->draft ? " (\\Draft \\Seen) " : " (\\Seen) ");
	web_imap_cmd_literal(&cmd, op->msg.data, op->msg.len);
	web_imap_run(s->imap, NULL, &cmd, after_append, op);
}

static void sent(bool ok, const char *error, void *ctx)
{
	struct compose_op *op = ctx;
	if (!op_alive(op))
		return;
	if (!ok) {
		web_respond_error(op->r, 502, error != NULL ? error : "sending failed");
		op_free(op);
		return;
	}
	log_info("%s sent a message to %zu recipient%s", op->r->session->user, op->rcpts.n,
		 op->rcpts.n == 1 ? "" : "s");
	append_copy(op);
}

static void build_and_go(struct compose_op *op)
{
	struct web_req *r = op->r;
	struct web_session *s = r->session;
	json_t *j = r->json;
	json_t *ids = json_object_get(j, "attachments");
	size_t n_atts = json_is_array(ids) ? json_array_size(ids) : 0;
	struct web_mime_attachment *atts = x_calloc(n_atts + 1, sizeof(*atts));
	for (size_t i = 0; i < n_atts; i++) {
		json_t *id = json_array_get(ids, i);
		struct web_upload *u = json_is_integer(id) ? find_upload(s, json_integer_value(id)) : NULL;
		if (u == NULL) {
			free(atts);
			web_respond_error(r, 400, "an attachment is gone; upload it again");
			op_free(op);
			return;
		}
		atts[i].filename = u->filename;
		atts[i].type = u->type;
		atts[i].data = u->data.data != NULL ? u->data.data : "";
		atts[i].len = u->data.len;
	}
	struct web_mime_msg m = {
		.from = s->user,
		.from_name = jstr(j, "from_name"),
		.to = jstr(j, "to"),
		.cc = jstr(j, "cc"),
		.bcc = jstr(j, "bcc"),
		.subject = jstr(j, "subject"),
		.text = jstr(j, "text"),
		.in_reply_to = jstr(j, "in_reply_to"),
		.references = jstr(j, "references"),
		.atts = atts,
		.n_atts = n_atts,
		.forward = op->have_forward ? op->forward.data : NULL,
		.forward_len = op->forward.len,
		.keep_bcc = op->draft,
		.date = time(NULL),
	};
	const char *error;
	strv_init(&op->rcpts);
	int ret = web_mime_build(&m, &op->msg, &op->rcpts, &error);
	free(atts);
	if (ret < 0) {
		web_respond_error(r, 400, error);
		op_free(op);
		return;
	}
	if (op->msg.len > r->w->cfg->message_size_limit) {
		web_respond_error(r, 413, "the message is too large");
		op_free(op);
		return;
	}
	op->result = json_pack("{s:b}", "ok", 1);
	if (op->draft) {
		append_copy(op);
		return;
	}
	if (op->rcpts.n == 0) {
		web_respond_error(r, 400, "no recipients");
		op_free(op);
		return;
	}
	web_smtp_send(r->w->loop, &r->w->smtp_up, web_imap_user(s->imap),
		      web_imap_password(s->imap), s->user, &op->rcpts, &op->msg, sent, op);
}

static void forward_fetched(const struct web_imap_reply *rep, void *ctx)
{
	struct compose_op *op = ctx;
	if (!op_alive(op))
		return;
	if (rep->status != WEB_IMAP_OK) {
		web_api_imap_error(op->r, rep);
		op_free(op);
		return;
	}
	for (size_t i = 0; i < rep->n_untagged && !op->have_forward; i++) {
		const struct imap_response *u = &rep->untagged[i];
		if (strcmp(u->keyword, "FETCH") != 0 || u->args.n != 1)
			continue;
		const struct imap_node *a = &u->args.items[0];
		for (size_t k = 0; k + 1 < a->n; k++) {
			const char *name = imap_node_str(&a->items[k]);
			const char *val = imap_node_str(&a->items[k + 1]);
			if (name != NULL && val != NULL && strncasecmp(name, "BODY[]", 6) == 0) {
				buf_append(&op->forward, val, a->items[k + 1].len);
				op->have_forward = true;
				break;
			}
		}
	}
	if (!op->have_forward) {
		web_respond_error(op->r, 404, "the forwarded message is gone");
		op_free(op);
		return;
	}
	build_and_go(op);
}

static void compose(struct web_req *r, bool draft)
{
	struct compose_op *op = x_calloc(1, sizeof(*op));
	op->r = r;
	op->draft = draft;
	json_t *fwd = json_object_get(r->json, "forward");
	const char *ffolder = jstr(fwd, "folder");
	json_t *fuid = json_object_get(fwd, "uid");
	if (ffolder != NULL && json_is_integer(fuid) && json_integer_value(fuid) > 0) {
		struct web_imap_cmd cmd;
		web_imap_cmd_init(&cmd);
		web_imap_cmd_printf(&cmd, "UID FETCH %lld (UID BODY.PEEK[])",
				    (long long)json_integer_value(fuid));
		web_imap_run(r->session->imap, ffolder, &cmd, forward_fetched, op);
		return;
	}
	build_and_go(op);
}

void web_api_send(struct web_req *r)
{
	compose(r, false);
}

void web_api_draft(struct web_req *r)
{
	compose(r, true);
}

/* ---- a draft's attachments, for editing it ---- */

/* POST /api/draft/attachments {folder, uid}: the attachments of a stored
 * draft become attachments of the compose form, kept in the session like
 * uploads (decoded here, never sent through the browser), so that saving
 * or sending the edited draft, which replaces the old one, keeps them. */
struct carry_op {
	struct web_req *r;
	char *folder;
	uint32_t uid;
	struct web_parts parts;
	size_t *atts;		/* indexes into parts */
	size_t n_atts;
};

static void carry_free(struct carry_op *op)
{
	free(op->folder);
	web_parts_free(&op->parts);
	free(op->atts);
	free(op);
}

static bool carry_ok(struct carry_op *op, const struct web_imap_reply *rep)
{
	if (!web_api_session_ok(op->r)) {
		carry_free(op);
		return false;
	}
	if (rep->status != WEB_IMAP_OK) {
		web_api_imap_error(op->r, rep);
		carry_free(op);
		return false;
	}
	return true;
}

static void carry_bodies(const struct web_imap_reply *rep, void *ctx)
{
	struct carry_op *op = ctx;
	if (!carry_ok(op, rep))
		return;
	struct web_session *s = op->r->session;
	const struct imap_node *attrs = web_fetch_find(rep, op->uid);
	struct buf *data = x_calloc(op->n_atts + 1, sizeof(*data));
	size_t total = 0;
	bool ok = attrs != NULL;
	for (size_t i = 0; ok && i < op->n_atts; i++) {
		const struct web_part *p = &op->parts.v[op->atts[i]];
		const struct imap_node *body = web_fetch_body(attrs, p->section);
		if (imap_node_str(body) == NULL) {
			ok = false;
			break;
		}
		buf_init(&data[i]);
		web_part_decode(p, body->data, body->len, &data[i]);
		total += data[i].len;
	}
	if (!ok)
		web_respond_error(op->r, 404, "the draft is gone");
	else if (s->upload_bytes + total > op->r->w->max_body)
		web_respond_error(op->r, 413, "attachments too large");
	if (!ok || s->upload_bytes + total > op->r->w->max_body) {
		for (size_t i = 0; i < op->n_atts; i++)
			buf_free(&data[i]);
		free(data);
		carry_free(op);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < op->n_atts; i++) {
		const struct web_part *p = &op->parts.v[op->atts[i]];
		char fallback[96], type[140];
		snprintf(type, sizeof(type), "%s/%s", p->type, p->subtype);
		struct web_upload *u = upload_add(s, web_part_name(p, fallback, sizeof(fallback)),
						  type, &data[i]);
		json_array_append_new(list, upload_json(u));
	}
	free(data);
	web_respond_json(op->r, 200, json_pack("{s:o}", "attachments", list));
	carry_free(op);
}

static void carry_structure(const struct web_imap_reply *rep, void *ctx)
{
	struct carry_op *op = ctx;
	if (!carry_ok(op, rep))
		return;
	const struct imap_node *attrs = web_fetch_find(rep, op->uid);
	if (attrs == NULL) {
		web_respond_error(op->r, 404, "the draft is gone");
		carry_free(op);
		return;
	}
	web_parts_from_bodystructure(imap_fetch_attr(attrs, "BODYSTRUCTURE"), &op->parts);
	int text_idx, html_idx;
	web_parts_bodies(&op->parts, &text_idx, &html_idx);
	op->atts = x_calloc(op->parts.n + 1, sizeof(*op->atts));
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "UID FETCH %u (UID", op->uid);
	unsigned long long encoded = 0;
	for (size_t k = 0; k < op->parts.n; k++) {
		if (!web_part_is_attachment(&op->parts, k, text_idx, html_idx))
			continue;
		op->atts[op->n_atts++] = k;
		encoded += op->parts.v[k].size;
		web_imap_cmd_printf(&cmd, " BODY.PEEK[%s]", op->parts.v[k].section);
	}
	web_imap_cmd_printf(&cmd, ")");
	if (op->n_atts == 0) {
		web_imap_cmd_free(&cmd);
		web_respond_json(op->r, 200, json_pack("{s:[]}", "attachments"));
		carry_free(op);
		return;
	}
	/* Base64 is a third larger than what it encodes: clearly too much
	 * is refused before fetching it. */
	if (encoded / 4 * 3 > op->r->w->max_body) {
		web_imap_cmd_free(&cmd);
		web_respond_error(op->r, 413, "attachments too large");
		carry_free(op);
		return;
	}
	web_imap_run(op->r->session->imap, op->folder, &cmd, carry_bodies, op);
}

void web_api_draft_attachments(struct web_req *r)
{
	const char *folder = jstr(r->json, "folder");
	json_t *uid = json_object_get(r->json, "uid");
	if (folder == NULL || !json_is_integer(uid) || json_integer_value(uid) <= 0 ||
	    json_integer_value(uid) > UINT32_MAX) {
		web_respond_error(r, 400, "folder and uid are required");
		return;
	}
	struct carry_op *op = x_calloc(1, sizeof(*op));
	op->r = r;
	op->folder = x_strdup(folder);
	op->uid = (uint32_t)json_integer_value(uid);
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "UID FETCH %u (UID BODYSTRUCTURE)", op->uid);
	web_imap_run(r->session->imap, op->folder, &cmd, carry_structure, op);
}
