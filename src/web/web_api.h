/* web_api.h — the JSON API handlers, one group per file: sessions and
 * folders (web_api.c), lists (web_list.c), actions on messages
 * (web_action.c), reading (web_message.c), writing (web_compose.c).
 * Runs in the web process. */
#ifndef CORREU_WEB_API_H
#define CORREU_WEB_API_H

#include "web_json.h"
#include "web_private.h"

/* web_message.c */
void web_api_message(struct web_req *r);
void web_api_part(struct web_req *r);
void web_api_raw(struct web_req *r);
/* The FETCH attributes for uid among a reply's untagged data, or NULL. */
const struct imap_node *web_fetch_find(const struct web_imap_reply *rep, uint32_t uid);
/* The value of "BODY[<section>]" in attrs (with or without <origin>). */
const struct imap_node *web_fetch_body(const struct imap_node *attrs, const char *section);
/* The text and HTML parts the reader shows (indexes, -1 for none). */
void web_parts_bodies(const struct web_parts *parts, int *text_r, int *html_r);
/* Whether the reader lists part k as an attachment. */
bool web_part_is_attachment(const struct web_parts *parts, size_t k, int text_idx, int html_idx);
/* The part's file name, or "part-SECTION" (".eml" for messages) in buf. */
const char *web_part_name(const struct web_part *p, char *buf, size_t size);
/* Undoes the part's Content-Transfer-Encoding, appending to out. */
void web_part_decode(const struct web_part *p, const char *data, size_t len, struct buf *out);

/* web_action.c */
void web_api_flags(struct web_req *r);
void web_api_move(struct web_req *r);	/* and /api/copy */
void web_api_delete(struct web_req *r);
void web_api_folder_empty(struct web_req *r);

/* web_compose.c */
void web_api_upload(struct web_req *r);
void web_api_send(struct web_req *r);
void web_api_draft(struct web_req *r);
void web_api_draft_attachments(struct web_req *r);
void web_api_upload_delete(struct web_req *r);

/* web_api.c: helpers shared by the handlers. */
/* Name of the folder with this special use ("\\Sent", "\\Drafts",
 * "\\Trash"), from the last folder list or a common default. */
const char *web_api_special_folder(struct web_session *s, const char *use);
/* Answers for a failed IMAP reply (502 when the server is unreachable). */
void web_api_imap_error(struct web_req *r, const struct web_imap_reply *rep);
/* False (and answers 401) if the session ended while waiting. */
bool web_api_session_ok(struct web_req *r);
/* Appends a UID set "1,5,7" from a JSON array of numbers; false if it is
 * empty or holds anything else. */
bool web_api_uid_set(json_t *arr, struct web_imap_cmd *cmd);

#endif
