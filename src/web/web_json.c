/* web_json.c — IMAP ENVELOPE, FLAGS and BODYSTRUCTURE data as JSON and
 * part lists for the webmail (see web_json.h). Runs in the web process.
 * Converts untrusted input (whatever the IMAP server returns). */
#include "web_json.h"
#include "buf.h"
#include "mail_charset.h"
#include "mail_param.h"
#include "mail_rfc2047.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *web_json_string(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	mail_utf8_append_valid(&b, s, len);
	json_t *j = json_stringn(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return j != NULL ? j : json_string("");
}

json_t *web_json_header_text(const struct imap_node *n)
{
	const char *s = imap_node_str(n);
	if (s == NULL)
		return json_string("");
	struct buf b = BUF_INIT;
	mail_rfc2047_decode(s, n->len, &b);
	json_t *j = web_json_string(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return j;
}

static json_t *addresses(const struct imap_node *list)
{
	json_t *arr = json_array();
	if (list == NULL || list->type != IMAP_NODE_LIST)
		return arr;
	for (size_t i = 0; i < list->n; i++) {
		const struct imap_node *a = &list->items[i];
		if (a->type != IMAP_NODE_LIST || a->n < 4)
			continue;
		const char *mbox = imap_node_str(&a->items[2]);
		const char *host = imap_node_str(&a->items[3]);
		/* Group syntax markers carry no address. */
		if (mbox == NULL || host == NULL)
			continue;
		struct buf email = BUF_INIT;
		buf_appendf(&email, "%s@%s", mbox, host);
		json_t *o = json_object();
		json_object_set_new(o, "name", web_json_header_text(&a->items[0]));
		json_object_set_new(o, "email", web_json_string(email.data, email.len));
		json_array_append_new(arr, o);
		buf_free(&email);
	}
	return arr;
}

static json_t *plain(const struct imap_node *n)
{
	const char *s = imap_node_str(n);
	return s != NULL ? web_json_string(s, n->len) : json_string("");
}

json_t *web_json_envelope(const struct imap_node *env)
{
	json_t *o = json_object();
	const struct imap_node *f = env != NULL && env->type == IMAP_NODE_LIST && env->n >= 10 ?
		env->items : NULL;
	json_object_set_new(o, "date", plain(f != NULL ? &f[0] : NULL));
	json_object_set_new(o, "subject", web_json_header_text(f != NULL ? &f[1] : NULL));
	json_object_set_new(o, "from", addresses(f != NULL ? &f[2] : NULL));
	json_object_set_new(o, "sender", addresses(f != NULL ? &f[3] : NULL));
	json_object_set_new(o, "reply_to", addresses(f != NULL ? &f[4] : NULL));
	json_object_set_new(o, "to", addresses(f != NULL ? &f[5] : NULL));
	json_object_set_new(o, "cc", addresses(f != NULL ? &f[6] : NULL));
	json_object_set_new(o, "bcc", addresses(f != NULL ? &f[7] : NULL));
	json_object_set_new(o, "in_reply_to", plain(f != NULL ? &f[8] : NULL));
	json_object_set_new(o, "message_id", plain(f != NULL ? &f[9] : NULL));
	return o;
}

json_t *web_json_flags(const struct imap_node *flags)
{
	json_t *arr = json_array();
	if (flags == NULL || flags->type != IMAP_NODE_LIST)
		return arr;
	for (size_t i = 0; i < flags->n; i++) {
		const char *s = imap_node_str(&flags->items[i]);
		/* \Recent is about IMAP sessions, not the message: the page
		 * never needs it. */
		if (s != NULL && strcasecmp(s, "\\Recent") != 0)
			json_array_append_new(arr, web_json_string(s, flags->items[i].len));
	}
	return arr;
}

static void lower_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
	str_lower(dst);
}

/* Parameter list (name value name value ...) into mail_params. */
static void params_from_list(const struct imap_node *list, struct mail_params *p)
{
	memset(p, 0, sizeof(*p));
	if (list == NULL || list->type != IMAP_NODE_LIST)
		return;
	for (size_t i = 0; i + 1 < list->n; i += 2) {
		const char *name = imap_node_str(&list->items[i]);
		const char *value = imap_node_str(&list->items[i + 1]);
		if (name == NULL || value == NULL)
			continue;
		char *lname = str_lower(x_strdup(name));
		mail_params_add(p, lname, value);
		free(lname);
	}
}

static char *param_utf8(const struct mail_params *p, const char *name)
{
	struct buf b = BUF_INIT;
	if (!mail_param_get_utf8(p, name, &b)) {
		buf_free(&b);
		return NULL;
	}
	return b.data != NULL ? buf_steal(&b) : x_strdup("");
}

static void walk(const struct imap_node *bs, const char *section, const char *parent_sub,
		 int depth, struct web_parts *parts)
{
	if (bs == NULL || bs->type != IMAP_NODE_LIST || bs->n == 0 || depth > 40 ||
	    parts->n >= 1000)
		return;
	if (bs->items[0].type == IMAP_NODE_LIST) {
		/* multipart: children, then the subtype. */
		size_t nchild = 0;
		while (nchild < bs->n && bs->items[nchild].type == IMAP_NODE_LIST)
			nchild++;
		char sub[64];
		lower_copy(sub, sizeof(sub), nchild < bs->n ? imap_node_str(&bs->items[nchild]) : "mixed");
		for (size_t i = 0; i < nchild; i++) {
			char child[64];
			if (section[0] == '\0')
				snprintf(child, sizeof(child), "%zu", i + 1);
			else
				snprintf(child, sizeof(child), "%s.%zu", section, i + 1);
			walk(&bs->items[i], child, sub, depth + 1, parts);
		}
		return;
	}
	if (bs->n < 7)
		return;
	parts->v = x_reallocarray(parts->v, parts->n + 1, sizeof(*parts->v));
	struct web_part *p = &parts->v[parts->n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->section, sizeof(p->section), "%s", section[0] != '\0' ? section : "1");
	snprintf(p->parent_subtype, sizeof(p->parent_subtype), "%s", parent_sub);
	lower_copy(p->type, sizeof(p->type), imap_node_str(&bs->items[0]));
	lower_copy(p->subtype, sizeof(p->subtype), imap_node_str(&bs->items[1]));
	p->depth = depth;
	struct mail_params params;
	params_from_list(&bs->items[2], &params);
	const char *cs = mail_param_get(&params, "charset");
	p->charset = cs != NULL ? x_strdup(cs) : NULL;
	const char *id = imap_node_str(&bs->items[3]);
	if (id != NULL) {
		const char *s = id[0] == '<' ? id + 1 : id;
		size_t len = strlen(s);
		if (len > 0 && s[len - 1] == '>')
			len--;
		p->content_id = x_strndup(s, len);
	}
	const char *enc = imap_node_str(&bs->items[5]);
	p->encoding = enc != NULL ? str_lower(x_strdup(enc)) : NULL;
	uint64_t size = 0;
	(void)imap_node_uint(&bs->items[6], &size);
	p->size = size;
	/* Extension data: after lines (text) or envelope/body/lines
	 * (message/rfc822) comes md5, then disposition. */
	size_t ext = 7;
	if (strcmp(p->type, "text") == 0)
		ext = 8;
	else if (strcmp(p->type, "message") == 0 && strcmp(p->subtype, "rfc822") == 0)
		ext = 10;
	char *filename = NULL;
	if (bs->n > ext + 1 && bs->items[ext + 1].type == IMAP_NODE_LIST &&
	    bs->items[ext + 1].n >= 1) {
		const struct imap_node *dsp = &bs->items[ext + 1];
		const char *d = imap_node_str(&dsp->items[0]);
		p->disposition = d != NULL ? str_lower(x_strdup(d)) : NULL;
		if (dsp->n >= 2) {
			struct mail_params dp;
			params_from_list(&dsp->items[1], &dp);
			filename = param_utf8(&dp, "filename");
			mail_params_free(&dp);
		}
	}
	if (filename == NULL)
		filename = param_utf8(&params, "name");
	p->filename = filename;
	mail_params_free(&params);
}

void web_parts_from_bodystructure(const struct imap_node *bs, struct web_parts *parts)
{
	memset(parts, 0, sizeof(*parts));
	walk(bs, "", "", 0, parts);
}

void web_parts_free(struct web_parts *parts)
{
	for (size_t i = 0; i < parts->n; i++) {
		free(parts->v[i].charset);
		free(parts->v[i].encoding);
		free(parts->v[i].filename);
		free(parts->v[i].content_id);
		free(parts->v[i].disposition);
	}
	free(parts->v);
	memset(parts, 0, sizeof(*parts));
}
