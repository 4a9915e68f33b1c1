/* mail_downgrade.c — 8-bit to 7-bit conversion of a whole message for a
 * next hop without 8BITMIME (RFC 6152): 8-bit text leaves become quoted-
 * printable, other 8-bit leaves base64, Content-Transfer-Encoding of
 * their ancestors becomes 7bit. Pure function; runs in the queue process.
 * Parses untrusted input (any accepted message) through mail_mime. */
#include "mail_downgrade.h"
#include "mail_base64.h"
#include "mail_header.h"
#include "mail_mime.h"
#include "mail_qp.h"

#include <string.h>
#include <strings.h>

bool mail_downgrade_needed(const void *msg, size_t len)
{
	const unsigned char *p = msg;
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x80)
			return true;
	}
	return false;
}

/* Appends bytes with bare LF turned into CRLF. */
static void copy_crlf(struct buf *out, const char *p, size_t n)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
			buf_append(out, p + s, i - s);
			buf_append(out, "\r\n", 2);
			s = i + 1;
		}
	}
	buf_append(out, p + s, n - s);
}

/* Writes part's MIME header with Content-Transfer-Encoding replaced by
 * cte (added before the empty line if missing). */
static void write_header(struct buf *out, const char *msg,
			 const struct mail_part *part, const char *cte,
			 bool add_mime_version)
{
	const char *hdr = msg + part->header.offset;
	size_t len = (size_t)part->header.size;
	struct mail_header_iter it;
	struct mail_header_field f;
	mail_header_iter_init(&it, hdr, len);
	while (mail_header_iter_next(&it, &f)) {
		if (mail_header_name_is(&f, "Content-Transfer-Encoding"))
			continue;
		copy_crlf(out, hdr + f.offset, f.size);
		if (f.size > 0 && hdr[f.offset + f.size - 1] != '\n')
			buf_append(out, "\r\n", 2);
	}
	if (add_mime_version)
		buf_append_str(out, "MIME-Version: 1.0\r\n");
	buf_appendf(out, "Content-Transfer-Encoding: %s\r\n", cte);
	buf_append(out, "\r\n", 2);
}

static bool inside_signed(const struct mail_part *part)
{
	for (const struct mail_part *p = part->parent; p != NULL; p = p->parent) {
		if (mail_part_is_type(p, "multipart", "signed") ||
		    mail_part_is_type(p, "multipart", "encrypted"))
			return true;
	}
	return false;
}

int mail_downgrade_7bit(const void *msgv, size_t len, struct buf *out,
			bool *changed_r, const char **error_r)
{
	const char *msg = msgv;
	size_t start = out->len;
	*changed_r = false;
	if (!mail_downgrade_needed(msg, len)) {
		copy_crlf(out, msg, len);
		return 0;
	}
	struct mail_part *root = mail_mime_parse(msg, len, NULL);
	int ret = 0;
	/* check first, so nothing half-converted is ever produced */
	for (const struct mail_part *p = root; p != NULL; p = mail_part_next_dfs(root, p)) {
		if ((p->flags & MAIL_PART_HDR_8BIT) != 0) {
			*error_r = "8-bit bytes in a header cannot be downgraded";
			ret = -1;
			break;
		}
		bool leaf = p->children == NULL;
		if ((p->flags & MAIL_PART_BODY_8BIT) != 0 && !leaf) {
			*error_r = "8-bit bytes in a multipart preamble or epilogue";
			ret = -1;
			break;
		}
		if (leaf && (p->flags & MAIL_PART_BODY_8BIT) != 0) {
			if (p->cte == MAIL_CTE_BASE64 || p->cte == MAIL_CTE_QP) {
				*error_r = "8-bit bytes in base64 or quoted-printable content";
				ret = -1;
				break;
			}
			if (inside_signed(p)) {
				*error_r = "8-bit content inside a signed or encrypted part";
				ret = -1;
				break;
			}
			if (mail_part_is_type(p, "message", NULL) ||
			    mail_part_is_type(p, "multipart", NULL)) {
				*error_r = "8-bit content in a part that cannot be re-encoded";
				ret = -1;
				break;
			}
		}
	}
	if (ret < 0) {
		mail_part_free(&root);
		return -1;
	}
	bool has_mime_version = false;
	{
		struct mail_header_field f;
		has_mime_version = mail_header_find(msg, (size_t)root->header.size,
						    "MIME-Version", &f);
	}
	/* Walk in order; copy bytes between the rewritten ranges. */
	uint64_t copied = 0;
	for (const struct mail_part *p = root; p != NULL; p = mail_part_next_dfs(root, p)) {
		bool leaf = p->children == NULL;
		bool convert = leaf && (p->flags & MAIL_PART_BODY_8BIT) != 0 &&
			p->cte != MAIL_CTE_BASE64 && p->cte != MAIL_CTE_QP;
		bool relabel = !leaf && (p->cte == MAIL_CTE_8BIT || p->cte == MAIL_CTE_BINARY);
		if (!convert && !relabel)
			continue;
		copy_crlf(out, msg + copied, (size_t)(p->header.offset - copied));
		bool text = mail_part_is_type(p, "text", NULL);
		const char *cte = relabel ? "7bit" : text ? "quoted-printable" : "base64";
		write_header(out, msg, p, cte, p == root && !has_mime_version);
		copied = p->header.offset + p->header.size;
		if (relabel)
			continue;
		const char *body = msg + p->body.offset;
		size_t blen = (size_t)p->body.size;
		if (text) {
			mail_qp_encode(body, blen, out);
		} else {
			struct mail_base64_encoder e;
			mail_base64_encoder_init(&e, 76);
			mail_base64_encode_more(&e, body, blen, out);
			mail_base64_encode_finish(&e, out);
			/* the encoder ended its last line; the CRLF before
			 * the next boundary is still copied after this */
			if (out->len >= 2)
				out->len -= 2;
		}
		copied = p->body.offset + p->body.size;
		*changed_r = true;
	}
	copy_crlf(out, msg + copied, len - (size_t)copied);
	mail_part_free(&root);
	if (mail_downgrade_needed(out->data + start, out->len - start)) {
		/* 8-bit bytes outside any content: on a boundary line */
		*error_r = "8-bit bytes outside the parts' content";
		out->len = start;
		buf_append(out, "", 0);
		*changed_r = false;
		return -1;
	}
	return 0;
}
