/* web_message.c — reading mail: GET /api/message (headers, the text and
 * HTML bodies decoded to UTF-8, attachments, cid: images as data URLs),
 * GET /api/part (one decoded part as a download) and GET /api/raw (the
 * source). MIME structure comes from the server's BODYSTRUCTURE, so only
 * the parts shown are fetched. HTML is sent as is; the browser sanitizes
 * it and shows it in a sandboxed frame. Runs in the web process. Decodes
 * untrusted mail. */
#include "web_api.h"
#include "web_json.h"
#include "mail_base64.h"
#include "mail_charset.h"
#include "mail_qp.h"
#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_INLINE_BYTES (8u * 1024 * 1024)
#define MAX_TEXT_BYTES (16u * 1024 * 1024)

struct msg_op {
	struct web_req *r;
	char *folder;
	uint32_t uid;
	struct web_parts parts;
	json_t *reply;		/* being built */
	int text_idx, html_idx;
	bool seen;
	char *part;		/* /api/part: the section asked for */
};

static void op_free(struct msg_op *op)
{
	free(op->folder);
	free(op->part);
	web_parts_free(&op->parts);
	if (op->reply != NULL)
		json_decref(op->reply);
	free(op);
}

static bool op_ok(struct msg_op *op, const struct web_imap_reply *rep)
{
	if (!web_api_session_ok(op->r)) {
		op_free(op);
		return false;
	}
	if (rep->status != WEB_IMAP_OK) {
		web_api_imap_error(op->r, rep);
		op_free(op);
		return false;
	}
	return true;
}

const struct imap_node *web_fetch_find(const struct web_imap_reply *rep, uint32_t uid)
{
	for (size_t i = 0; i < rep->n_untagged; i++) {
		const struct imap_response *u = &rep->untagged[i];
		uint64_t v;
		if (strcmp(u->keyword, "FETCH") == 0 && u->args.n == 1 &&
		    imap_node_uint(imap_fetch_attr(&u->args.items[0], "UID"), &v) && v == uid)
			return &u->args.items[0];
	}
	return NULL;
}

const struct imap_node *web_fetch_body(const struct imap_node *attrs, const char *section)
{
	char want[80];
	int n = snprintf(want, sizeof(want), "BODY[%s]", section);
	for (size_t i = 0; attrs != NULL && i + 1 < attrs->n; i += 2) {
		const char *name = imap_node_str(&attrs->items[i]);
		if (name != NULL && strncasecmp(name, want, (size_t)n) == 0 &&
		    (name[n] == '\0' || name[n] == '<'))
			return &attrs->items[i + 1];
	}
	return NULL;
}

void web_part_decode(const struct web_part *p, const char *data, size_t len, struct buf *out)
{
	const char *error;
	if (p->encoding != NULL && strcmp(p->encoding, "base64") == 0)
		(void)mail_base64_decode(data, len, out, &error);
	else if (p->encoding != NULL && strcmp(p->encoding, "quoted-printable") == 0)
		(void)mail_qp_decode(data, len, out, &error);
	else
		buf_append(out, data, len);
}

static json_t *decoded_text(const struct web_part *p, const struct imap_node *body)
{
	const char *s = imap_node_str(body);
	if (s == NULL)
		return json_string("");
	struct buf raw = BUF_INIT, utf8 = BUF_INIT;
	web_part_decode(p, s, body->len, &raw);
	const char *error;
	(void)mail_charset_to_utf8(p->charset != NULL ? p->charset : "us-ascii",
				   raw.data != NULL ? raw.data : "", raw.len, &utf8, &error);
	if (utf8.len > MAX_TEXT_BYTES)
		utf8.len = MAX_TEXT_BYTES;
	json_t *j = web_json_string(utf8.data != NULL ? utf8.data : "", utf8.len);
	buf_free(&raw);
	buf_free(&utf8);
	return j;
}

bool web_part_is_attachment(const struct web_parts *parts, size_t k, int text_idx, int html_idx)
{
	const struct web_part *p = &parts->v[k];
	int idx = (int)k;
	if (idx == text_idx || idx == html_idx)
		return false;
	if (p->disposition != NULL && strcmp(p->disposition, "attachment") == 0)
		return true;
	if (strcmp(p->type, "multipart") == 0)
		return false;
	/* Inline images of a related part are shown, not listed. */
	if (p->content_id != NULL && strcmp(p->parent_subtype, "related") == 0)
		return false;
	/* Alternatives not chosen are not attachments. */
	if (strcmp(p->type, "text") == 0 && p->filename == NULL)
		return strcmp(p->parent_subtype, "alternative") != 0 &&
			(p->disposition != NULL && strcmp(p->disposition, "inline") != 0);
	return true;
}

void web_parts_bodies(const struct web_parts *parts, int *text_r, int *html_r)
{
	*text_r = *html_r = -1;
	for (size_t k = 0; k < parts->n; k++) {
		const struct web_part *p = &parts->v[k];
		bool att = p->disposition != NULL && strcmp(p->disposition, "attachment") == 0;
		if (strcmp(p->type, "text") != 0 || att)
			continue;
		if (strcmp(p->subtype, "plain") == 0 && *text_r < 0)
			*text_r = (int)k;
		else if (strcmp(p->subtype, "html") == 0 && *html_r < 0)
			*html_r = (int)k;
	}
}

const char *web_part_name(const struct web_part *p, char *buf, size_t size)
{
	if (p->filename != NULL)
		return p->filename;
	snprintf(buf, size, "part-%s%s", p->section, strcmp(p->type, "message") == 0 ? ".eml" : "");
	return buf;
}

static void bodies_done(const struct web_imap_reply *rep, void *ctx)
{
	struct msg_op *op = ctx;
	if (!op_ok(op, rep))
		return;
	const struct imap_node *attrs = web_fetch_find(rep, op->uid);
	if (op->text_idx >= 0) {
		const struct web_part *p = &op->parts.v[op->text_idx];
		json_object_set_new(op->reply, "text", decoded_text(p, web_fetch_body(attrs, p->section)));
	}
	if (op->html_idx >= 0) {
		const struct web_part *p = &op->parts.v[op->html_idx];
		json_object_set_new(op->reply, "html", decoded_text(p, web_fetch_body(attrs, p->section)));
	}
	json_t *inl = json_object();
	for (size_t i = 0; i < op->parts.n; i++) {
		const struct web_part *p = &op->parts.v[i];
		if (p->content_id == NULL || strcmp(p->type, "image") != 0)
			continue;
		const struct imap_node *body = web_fetch_body(attrs, p->section);
		const char *s = imap_node_str(body);
		if (s == NULL)
			continue;
		struct buf raw = BUF_INIT, url = BUF_INIT;
		web_part_decode(p, s, body->len, &raw);
		/* The subtype is the server's word: keep it to a token. */
		const char *sub = strspn(p->subtype, "abcdefghijklmnopqrstuvwxyz0123456789.+-") ==
			strlen(p->subtype) ? p->subtype : "octet-stream";
		buf_appendf(&url, "data:image/%s;base64,", sub);
		mail_base64_encode(raw.data != NULL ? raw.data : "", raw.len, &url);
		json_object_set_new(inl, p->content_id, web_json_string(url.data, url.len));
		buf_free(&raw);
		buf_free(&url);
	}
	json_object_set_new(op->reply, "inline", inl);
	struct web_req *r = op->r;
	json_t *reply = op->reply;
	op->reply = NULL;
	if (!op->seen) {
		/* Reading marks it read; the reply does not wait for it. */
		struct web_imap_cmd cmd;
		web_imap_cmd_init(&cmd);
		web_imap_cmd_printf(&cmd, "UID STORE %u +FLAGS.SILENT (\\Seen)", op->uid);
		web_imap_run(r->session->imap, op->folder, &cmd, NULL, NULL);
		json_array_append_new(json_object_get(reply, "flags"), json_string("\\Seen"));
	}
	web_respond_json(r, 200, reply);
	op_free(op);
}

static void structure_done(const struct web_imap_reply *rep, void *ctx)
{
	struct msg_op *op = ctx;
	if (!op_ok(op, rep))
		return;
	const struct imap_node *attrs = web_fetch_find(rep, op->uid);
	if (attrs == NULL) {
		web_respond_error(op->r, 404, "no such message");
		op_free(op);
		return;
	}
	json_t *o = web_json_envelope(imap_fetch_attr(attrs, "ENVELOPE"));
	json_t *flags = web_json_flags(imap_fetch_attr(attrs, "FLAGS"));
	size_t i;
	json_t *f;
	json_array_foreach(flags, i, f)
		if (strcasecmp(json_string_value(f), "\\Seen") == 0)
			op->seen = true;
	json_object_set_new(o, "flags", flags);
	json_object_set_new(o, "uid", json_integer(op->uid));
	json_object_set_new(o, "folder", json_string(op->folder));
	uint64_t size = 0;
	(void)imap_node_uint(imap_fetch_attr(attrs, "RFC822.SIZE"), &size);
	json_object_set_new(o, "size", json_integer((json_int_t)size));
	const struct imap_node *refs = web_fetch_body(attrs, "HEADER.FIELDS (REFERENCES)");
	json_object_set_new(o, "references_header", refs != NULL && imap_node_str(refs) != NULL ?
			    web_json_string(refs->data, refs->len) : json_string(""));
	web_parts_from_bodystructure(imap_fetch_attr(attrs, "BODYSTRUCTURE"), &op->parts);
	web_parts_bodies(&op->parts, &op->text_idx, &op->html_idx);
	json_t *atts = json_array();
	for (size_t k = 0; k < op->parts.n; k++) {
		const struct web_part *p = &op->parts.v[k];
		if (!web_part_is_attachment(&op->parts, k, op->text_idx, op->html_idx))
			continue;
		char type[140];
		snprintf(type, sizeof(type), "%s/%s", p->type, p->subtype);
		char fallback[96];
		const char *name = web_part_name(p, fallback, sizeof(fallback));
		json_array_append_new(atts, json_pack("{s:s, s:o, s:s, s:I}", "part", p->section,
						      "filename", web_json_string(name, strlen(name)),
						      "type", type, "size", (json_int_t)p->size));
	}
	json_object_set_new(o, "attachments", atts);
	op->reply = o;
	/* Fetch the bodies shown and the inline images. */
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "UID FETCH %u (UID", op->uid);
	size_t inline_bytes = 0;
	for (size_t k = 0; k < op->parts.n; k++) {
		const struct web_part *p = &op->parts.v[k];
		bool want = (int)k == op->text_idx || (int)k == op->html_idx;
		if (!want && p->content_id != NULL && strcmp(p->type, "image") == 0 &&
		    inline_bytes + p->size < MAX_INLINE_BYTES) {
			inline_bytes += p->size;
			want = true;
		}
		if (want)
			web_imap_cmd_printf(&cmd, " BODY.PEEK[%s]", p->section);
	}
	web_imap_cmd_printf(&cmd, ")");
	web_imap_run(op->r->session->imap, op->folder, &cmd, bodies_done, op);
}

static struct msg_op *op_from_params(struct web_req *r)
{
	const char *folder = web_param(r, "folder");
	const char *uid = web_param(r, "uid");
	uint64_t v;
	if (folder == NULL || uid == NULL || str_to_uint64(uid, &v) < 0 || v == 0 ||
	    v > UINT32_MAX) {
		web_respond_error(r, 400, "folder and uid are required");
		return NULL;
	}
	struct msg_op *op = x_calloc(1, sizeof(*op));
	op->r = r;
	op->folder = x_strdup(folder);
	op->uid = (uint32_t)v;
	return op;
}

void web_api_message(struct web_req *r)
{
	struct msg_op *op = op_from_params(r);
	if (op == NULL)
		return;
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "UID FETCH %u (UID FLAGS ENVELOPE RFC822.SIZE BODYSTRUCTURE "
			    "BODY.PEEK[HEADER.FIELDS (REFERENCES)])", op->uid);
	web_imap_run(r->session->imap, op->folder, &cmd, structure_done, op);
}

/* Content-Disposition with the file name as RFC 6266 / 5987 asks. */
static void disposition(struct buf *h, const char *name)
{
	buf_append_str(h, "Content-Disposition: attachment; filename=\"");
	for (const char *p = name; *p != '\0'; p++)
		buf_append_char(h, (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ? *p : '_');
	buf_append_str(h, "\"; filename*=UTF-8''");
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("!#$&+-.^_`|~", *p) != NULL)
			buf_append_char(h, (char)*p);
		else
			buf_appendf(h, "%%%02X", *p);
	}
	buf_append_str(h, "\r\n");
}

static const char download_headers[] =
	"Cache-Control: private, no-store\r\n"
	"Content-Security-Policy: sandbox; default-src 'none'\r\n";

static void part_done(const struct web_imap_reply *rep, void *ctx)
{
	struct msg_op *op = ctx;
	if (!op_ok(op, rep))
		return;
	const struct imap_node *attrs = web_fetch_find(rep, op->uid);
	web_parts_from_bodystructure(imap_fetch_attr(attrs, "BODYSTRUCTURE"), &op->parts);
	const struct web_part *p = NULL;
	for (size_t k = 0; k < op->parts.n; k++)
		if (strcmp(op->parts.v[k].section, op->part) == 0)
			p = &op->parts.v[k];
	const struct imap_node *body = web_fetch_body(attrs, op->part);
	if (p == NULL || imap_node_str(body) == NULL) {
		web_respond_error(op->r, 404, "no such part");
		op_free(op);
		return;
	}
	struct buf data = BUF_INIT, hdr = BUF_INIT;
	web_part_decode(p, body->data, body->len, &data);
	char fallback[96];
	disposition(&hdr, web_part_name(p, fallback, sizeof(fallback)));
	buf_append_str(&hdr, download_headers);
	/* Downloads are never rendered by the browser as our origin. */
	web_respond(op->r, 200, "application/octet-stream", data.data, data.len, buf_cstr(&hdr));
	buf_free(&data);
	buf_free(&hdr);
	op_free(op);
}

void web_api_part(struct web_req *r)
{
	const char *part = web_param(r, "part");
	if (part == NULL || part[0] == '\0' || strlen(part) > 60 ||
	    strspn(part, "0123456789.") != strlen(part)) {
		web_respond_error(r, 400, "bad part");
		return;
	}
	struct msg_op *op = op_from_params(r);
	if (op == NULL)
		return;
	op->part = x_strdup(part);
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "UID FETCH %u (UID BODYSTRUCTURE BODY.PEEK[%s])", op->uid, part);
	web_imap_run(r->session->imap, op->folder, &cmd, part_done, op);
}

static void raw_done(const struct web_imap_reply *rep, void *ctx)
{
	struct msg_op *op = ctx;
	if (!op_ok(op, rep))
		return;
	const struct imap_node *body = web_fetch_body(web_fetch_find(rep, op->uid), "");
	if (imap_node_str(body) == NULL) {
		web_respond_error(op->r, 404, "no such message");
		op_free(op);
		return;
	}
	struct buf hdr = BUF_INIT;
	buf_append_str(&hdr, download_headers);
	if (web_param(op->r, "download") != NULL) {
		char name[64];
		snprintf(name, sizeof(name), "message-%u.eml", op->uid);
		disposition(&hdr, name);
	}
	web_respond(op->r, 200, "text/plain; charset=utf-8", body->data, body->len, buf_cstr(&hdr));
	buf_free(&hdr);
	op_free(op);
}

void web_api_raw(struct web_req *r)
{
	struct msg_op *op = op_from_params(r);
	if (op == NULL)
		return;
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "UID FETCH %u (UID BODY.PEEK[])", op->uid);
	web_imap_run(r->session->imap, op->folder, &cmd, raw_done, op);
}
