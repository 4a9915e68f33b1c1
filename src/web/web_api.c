/* web_api.c — the JSON API: routing with session and CSRF checks, login
 * (throttled through auth_throttle, checked by logging in to IMAP),
 * logout, the event stream and folders. Runs in the web process. Parses
 * untrusted input (request bodies and parameters, server data). */
#include "web_api.h"
#include "web_list.h"
#include "web_json.h"
#include "web_utf7.h"
#include "auth_throttle.h"
#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct web_imap_events *web_session_imap_events(void);

enum route_flags {
	R_SESSION = 1 << 0,	/* needs a logged-in session */
	R_POST = 1 << 1,	/* POST with CSRF token; otherwise GET/HEAD */
};

struct route {
	const char *path;
	unsigned flags;
	void (*handler)(struct web_req *r);
};

/* ---- helpers ---- */

bool web_api_session_ok(struct web_req *r)
{
	if (r->session->dead || r->session->imap == NULL) {
		web_respond_error(r, 401, "session ended");
		return false;
	}
	return true;
}

void web_api_imap_error(struct web_req *r, const struct web_imap_reply *rep)
{
	web_respond_error(r, rep->status == WEB_IMAP_FAIL ? 502 : 400,
			  rep->text != NULL && rep->text[0] != '\0' ? rep->text : "IMAP error");
}

bool web_api_uid_set(json_t *arr, struct web_imap_cmd *cmd)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 100000)
		return false;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > UINT32_MAX)
			return false;
		web_imap_cmd_printf(cmd, "%s%lld", i > 0 ? "," : "", (long long)json_integer_value(v));
	}
	return true;
}

static const char *json_str(json_t *obj, const char *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *web_api_special_folder(struct web_session *s, const char *use)
{
	size_t i;
	json_t *f;
	if (s->folders != NULL) {
		json_array_foreach(s->folders, i, f) {
			const char *sp = json_str(f, "special");
			if (sp != NULL && strcasecmp(sp, use) == 0)
				return json_str(f, "id");
		}
	}
	if (strcasecmp(use, "\\Sent") == 0)
		return "Sent";
	if (strcasecmp(use, "\\Drafts") == 0)
		return "Drafts";
	if (strcasecmp(use, "\\Junk") == 0)
		return "Junk";
	return "Trash";
}

/* A simple reply: {"ok": true} or the error. */
static void simple_done(const struct web_imap_reply *rep, void *ctx)
{
	struct web_req *r = ctx;
	if (!web_api_session_ok(r))
		return;
	if (rep->status != WEB_IMAP_OK) {
		web_api_imap_error(r, rep);
		return;
	}
	web_respond_json(r, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- login, logout, session ---- */

struct login_op {
	struct web_req *r;
	struct web_imap *imap;
	char *user;
	uv_timer_t delay;
	uint64_t started;	/* loop time when the login began */
	int status;
	const char *message;
};

static void login_delay_closed(uv_handle_t *h)
{
	struct login_op *op = h->data;
	free(op->user);
	free(op);
}

static void login_delay_done(uv_timer_t *t)
{
	struct login_op *op = t->data;
	if (!web_req_gone(op->r))
		web_respond_error(op->r, op->status, op->message);
	else
		web_req_abandon(op->r);
	uv_close((uv_handle_t *)&op->delay, login_delay_closed);
}

static void login_done(const struct web_imap_reply *rep, void *ctx)
{
	struct login_op *op = ctx;
	struct web *w = op->r->w;
	if (rep->status == WEB_IMAP_OK) {
		auth_throttle_success(w->throttle, op->r->peer_ip, op->user);
		struct web_session *s = web_session_new(w, op->user, op->imap);
		web_imap_set_events(op->imap, web_session_imap_events(), s);
		log_info("%s logged in from %s", op->user, op->r->peer_ip);
		char *cookie = web_session_cookie(s);
		json_t *o = json_pack("{s:s, s:s}", "user", s->user, "csrf", s->csrf);
		char *js = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		struct buf hdr = BUF_INIT;
		buf_appendf(&hdr, "%sCache-Control: no-store\r\n", cookie);
		web_respond(op->r, 200, "application/json", js, strlen(js), buf_cstr(&hdr));
		buf_free(&hdr);
		free(js);
		free(cookie);
		free(op->user);
		free(op);
		return;
	}
	/* The IMAP client is freed after this callback returns (deferred
	 * inside web_imap_free). */
	web_imap_free(&op->imap);
	uint64_t delay = 0;
	if (rep->status == WEB_IMAP_FAIL) {
		log_warn("login of %s: mail server unreachable: %s", op->user, rep->text);
		op->status = 502;
		op->message = "The mail server cannot be reached.";
	} else if (rep->code != NULL && strcasecmp(rep->code, "UNAVAILABLE") == 0) {
		/* The server blocks this address or account for now (its own
		 * throttle, RFC 5530): not evidence of a wrong password. */
		log_info("login of %s from %s refused for now: %s", op->user,
			 op->r->peer_ip, rep->text);
		op->status = 503;
		op->message = "The mail server refuses this login for now; try again later.";
	} else {
		/* One delay, not two: the mail server may already have held
		 * its NO back by its own throttle (correu's does, counting the
		 * browser's address from ID), so wait only for what is left
		 * of ours. */
		delay = auth_throttle_failure(w->throttle, op->r->peer_ip, op->user);
		uint64_t waited = uv_now(w->loop) - op->started;
		log_info("login failed for %s from %s (the server took %llu ms, waiting %llu ms more)",
			 op->user, op->r->peer_ip, (unsigned long long)waited,
			 (unsigned long long)(delay > waited ? delay - waited : 0));
		delay = delay > waited ? delay - waited : 0;
		op->status = 401;
		op->message = "Wrong address or password.";
	}
	uv_timer_init(w->loop, &op->delay);
	op->delay.data = op;
	uv_timer_start(&op->delay, login_delay_done, delay, 0);
}

static bool valid_credential(const char *s, size_t max)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static void api_login(struct web_req *r)
{
	const char *user = json_str(r->json, "user");
	const char *password = json_str(r->json, "password");
	if (!valid_credential(user, 320) || !valid_credential(password, 1024)) {
		web_respond_error(r, 400, "address and password are required");
		return;
	}
	if (auth_throttle_blocked(r->w->throttle, r->peer_ip, user)) {
		log_info("login of %s from %s refused: too many failures", user, r->peer_ip);
		web_respond_error(r, 429, "Too many failed logins. Try again later.");
		return;
	}
	struct login_op *op = x_calloc(1, sizeof(*op));
	op->r = r;
	op->user = x_strdup(user);
	op->started = uv_now(r->w->loop);
	op->imap = web_imap_new(r->w->loop, &r->w->imap_up, user, password, NULL, NULL);
	web_imap_set_origin(op->imap, r->peer_ip);
	web_imap_login(op->imap, login_done, op);
}

static void api_session(struct web_req *r)
{
	struct web_session *s = r->session;
	web_respond_json(r, 200, json_pack("{s:s, s:s, s:b, s:b}", "user", s->user, "csrf", s->csrf,
					   "thread", web_imap_has_cap(s->imap, "THREAD=REFERENCES") ||
					   web_imap_has_cap(s->imap, "THREAD=ORDEREDSUBJECT"),
					   "sort", web_imap_has_cap(s->imap, "SORT")));
}

static void api_logout(struct web_req *r)
{
	web_session_end(r->session, "logout");
	const char *body = "{\"ok\":true}";
	web_respond(r, 200, "application/json", body, strlen(body), web_session_clear_cookie());
}

static void api_events(struct web_req *r)
{
	web_stream_start(r, "text/event-stream", NULL);
	static const char hello[] = "retry: 3000\nevent: hello\ndata: {}\n\n";
	web_stream_write(r, hello, sizeof(hello) - 1);
	web_session_add_stream(r->session, r);
}

/* ---- folders ---- */

struct folders_op {
	struct web_req *r;
	json_t *list;
	unsigned pending;
	unsigned creating;
	bool failed;
};

static const char *special_by_name(const char *name)
{
	static const struct {
		const char *name;
		const char *use;
	} names[] = {
		{ "Sent", "\\Sent" }, { "Sent Items", "\\Sent" }, { "Sent Messages", "\\Sent" },
		{ "Drafts", "\\Drafts" }, { "Trash", "\\Trash" }, { "Deleted Items", "\\Trash" },
		{ "Deleted Messages", "\\Trash" }, { "Junk", "\\Junk" }, { "Spam", "\\Junk" },
		{ "Archive", "\\Archive" },
	};
	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		if (strcasecmp(names[i].name, name) == 0)
			return names[i].use;
	return NULL;
}

static int special_rank(const char *special, const char *id)
{
	if (strcasecmp(id, "INBOX") == 0)
		return 0;
	static const char *const order[] = { "\\Drafts", "\\Sent", "\\Archive", "\\Junk", "\\Trash" };
	for (size_t i = 0; special != NULL && i < N_ELEMENTS(order); i++)
		if (strcasecmp(order[i], special) == 0)
			return (int)i + 1;
	return 10;
}

static int folder_cmp(const void *a, const void *b)
{
	json_t *fa = *(json_t *const *)a, *fb = *(json_t *const *)b;
	int ra = special_rank(json_str(fa, "special"), json_str(fa, "id"));
	int rb = special_rank(json_str(fb, "special"), json_str(fb, "id"));
	if (ra != rb)
		return ra - rb;
	return strcasecmp(json_str(fa, "name"), json_str(fb, "name"));
}

static json_t *find_folder(json_t *list, const char *id)
{
	size_t i;
	json_t *f;
	json_array_foreach(list, i, f)
		if (strcmp(json_str(f, "id"), id) == 0)
			return f;
	return NULL;
}

static void apply_status(json_t *list, const struct imap_response *u)
{
	if (strcmp(u->keyword, "STATUS") != 0 || u->args.n < 2)
		return;
	const char *id = imap_node_str(&u->args.items[0]);
	json_t *f = id != NULL ? find_folder(list, id) : NULL;
	const struct imap_node *att = &u->args.items[1];
	if (f == NULL || att->type != IMAP_NODE_LIST)
		return;
	uint64_t v;
	if (imap_node_uint(imap_fetch_attr(att, "MESSAGES"), &v))
		json_object_set_new(f, "total", json_integer((json_int_t)v));
	if (imap_node_uint(imap_fetch_attr(att, "UNSEEN"), &v))
		json_object_set_new(f, "unseen", json_integer((json_int_t)v));
}

static void folders_reply(struct folders_op *op)
{
	struct web_req *r = op->r;
	if (op->failed) {
		json_decref(op->list);
		free(op);
		return;
	}
	size_t n = json_array_size(op->list);
	json_t **v = x_reallocarray(NULL, n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(op->list, i));
	qsort(v, n, sizeof(*v), folder_cmp);
	json_t *sorted = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(sorted, v[i]);
	free(v);
	json_decref(op->list);
	struct web_session *s = r->session;
	if (s->folders != NULL)
		json_decref(s->folders);
	s->folders = json_incref(sorted);
	web_respond_json(r, 200, json_pack("{s:o}", "folders", sorted));
	free(op);
}

static void status_done(const struct web_imap_reply *rep, void *ctx)
{
	struct folders_op *op = ctx;
	if (!op->failed && !web_api_session_ok(op->r))
		op->failed = true;
	for (size_t i = 0; !op->failed && i < rep->n_untagged; i++)
		apply_status(op->list, &rep->untagged[i]);
	if (--op->pending == 0)
		folders_reply(op);
}

static json_t *new_folder(const char *id, char delim, const char *special, bool noselect)
{
	char *name = web_utf7_to_utf8(id);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:i, s:i}", "id", id,
			      "name", name != NULL ? name : id, "delim",
			      delim != '\0' ? (char[]){ delim, '\0' } : "",
			      "special", special, "noselect", noselect, "total", 0, "unseen", 0);
	free(name);
	return f;
}

static void list_done(const struct web_imap_reply *rep, void *ctx);

static void create_done(const struct web_imap_reply *rep, void *ctx)
{
	struct folders_op *op = ctx;
	(void)rep;
	if (--op->creating > 0)
		return;
	if (!web_api_session_ok(op->r)) {
		json_decref(op->list);
		free(op);
		return;
	}
	/* List again, now with the created folders. */
	json_decref(op->list);
	op->list = json_array();
	op->creating = 1000;	/* do not create twice */
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "LIST \"\" \"*\"");
	web_imap_run(op->r->session->imap, NULL, &cmd, list_done, op);
}

static void list_done(const struct web_imap_reply *rep, void *ctx)
{
	struct folders_op *op = ctx;
	struct web_req *r = op->r;
	if (!web_api_session_ok(r) || rep->status != WEB_IMAP_OK) {
		if (!r->session->dead && r->session->imap != NULL)
			web_api_imap_error(r, rep);
		json_decref(op->list);
		free(op);
		return;
	}
	struct web_session *s = r->session;
	bool have[3] = { false, false, false };
	static const char *const needed[3] = { "\\Sent", "\\Drafts", "\\Trash" };
	for (size_t i = 0; i < rep->n_untagged; i++) {
		const struct imap_response *u = &rep->untagged[i];
		if (strcmp(u->keyword, "LIST") != 0 || u->args.n < 3)
			continue;
		const struct imap_node *flags = &u->args.items[0];
		const char *delim = imap_node_str(&u->args.items[1]);
		const char *id = imap_node_str(&u->args.items[2]);
		if (id == NULL || flags->type != IMAP_NODE_LIST)
			continue;
		const char *special = NULL;
		bool noselect = false;
		for (size_t k = 0; k < flags->n; k++) {
			const char *fl = imap_node_str(&flags->items[k]);
			if (fl == NULL)
				continue;
			if (strcasecmp(fl, "\\Noselect") == 0 || strcasecmp(fl, "\\NonExistent") == 0)
				noselect = true;
			for (size_t z = 0; z < 3; z++)
				if (strcasecmp(fl, needed[z]) == 0)
					special = needed[z];
			if (strcasecmp(fl, "\\Junk") == 0 || strcasecmp(fl, "\\Archive") == 0)
				special = fl;
		}
		if (special == NULL)
			special = special_by_name(id);
		for (size_t z = 0; special != NULL && z < 3; z++)
			if (strcasecmp(special, needed[z]) == 0)
				have[z] = true;
		if (find_folder(op->list, id) == NULL)
			json_array_append_new(op->list, new_folder(id, delim != NULL ? delim[0] : '\0',
								   special, noselect));
	}
	for (size_t i = 0; i < rep->n_untagged; i++)
		apply_status(op->list, &rep->untagged[i]);
	/* Sent, Drafts and Trash must exist for compose and delete. */
	if (op->creating == 0) {
		for (size_t z = 0; z < 3; z++) {
			if (have[z])
				continue;
			struct web_imap_cmd cmd;
			web_imap_cmd_init(&cmd);
			web_imap_cmd_printf(&cmd, "CREATE %s", needed[z] + 1);
			op->creating++;
			web_imap_run(s->imap, NULL, &cmd, create_done, op);
		}
		if (op->creating > 0)
			return;
	}
	if (web_imap_has_cap(s->imap, "LIST-STATUS")) {
		folders_reply(op);
		return;
	}
	op->pending = 1;
	size_t i;
	json_t *f;
	json_array_foreach(op->list, i, f) {
		if (json_is_true(json_object_get(f, "noselect")))
			continue;
		struct web_imap_cmd cmd;
		web_imap_cmd_init(&cmd);
		web_imap_cmd_printf(&cmd, "STATUS ");
		const char *id = json_str(f, "id");
		web_imap_cmd_astring(&cmd, id, strlen(id));
		web_imap_cmd_printf(&cmd, " (MESSAGES UNSEEN)");
		op->pending++;
		web_imap_run(s->imap, NULL, &cmd, status_done, op);
	}
	if (--op->pending == 0)
		folders_reply(op);
}

static void api_folders(struct web_req *r)
{
	struct web_session *s = r->session;
	struct folders_op *op = x_calloc(1, sizeof(*op));
	op->r = r;
	op->list = json_array();
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "LIST \"\" \"*\"");
	if (web_imap_has_cap(s->imap, "LIST-STATUS"))
		web_imap_cmd_printf(&cmd, " RETURN (%sSTATUS (MESSAGES UNSEEN))",
				    web_imap_has_cap(s->imap, "SPECIAL-USE") ? "SPECIAL-USE " : "");
	web_imap_run(s->imap, NULL, &cmd, list_done, op);
}

/* Converts a UTF-8 folder name from the browser to an IMAP name. */
static char *folder_arg(struct web_req *r, const char *key)
{
	const char *name = json_str(r->json, key);
	if (name == NULL || name[0] == '\0' || strlen(name) > 1000)
		return NULL;
	return web_utf8_to_utf7(name);
}

static void api_folder_create(struct web_req *r)
{
	char *name = folder_arg(r, "name");
	if (name == NULL) {
		web_respond_error(r, 400, "a folder name is required");
		return;
	}
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "CREATE ");
	web_imap_cmd_astring(&cmd, name, strlen(name));
	free(name);
	web_imap_run(r->session->imap, NULL, &cmd, simple_done, r);
}

static void api_folder_rename(struct web_req *r)
{
	const char *from = json_str(r->json, "folder");
	char *to = folder_arg(r, "name");
	if (from == NULL || to == NULL || strcasecmp(from, "INBOX") == 0) {
		free(to);
		web_respond_error(r, 400, "folder and new name are required");
		return;
	}
	web_imap_unselect(r->session->imap);
	web_session_cache_clear(r->session);
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "RENAME ");
	web_imap_cmd_astring(&cmd, from, strlen(from));
	web_imap_cmd_printf(&cmd, " ");
	web_imap_cmd_astring(&cmd, to, strlen(to));
	free(to);
	web_imap_run(r->session->imap, NULL, &cmd, simple_done, r);
}

static void api_folder_delete(struct web_req *r)
{
	const char *folder = json_str(r->json, "folder");
	if (folder == NULL || strcasecmp(folder, "INBOX") == 0) {
		web_respond_error(r, 400, "this folder cannot be deleted");
		return;
	}
	web_imap_unselect(r->session->imap);
	web_session_cache_clear(r->session);
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "DELETE ");
	web_imap_cmd_astring(&cmd, folder, strlen(folder));
	web_imap_run(r->session->imap, NULL, &cmd, simple_done, r);
}

/* ---- routing ---- */

static const struct route routes[] = {
	{ "/api/login", R_POST, api_login },
	{ "/api/session", R_SESSION, api_session },
	{ "/api/logout", R_SESSION | R_POST, api_logout },
	{ "/api/events", R_SESSION, api_events },
	{ "/api/folders", R_SESSION, api_folders },
	{ "/api/folder/create", R_SESSION | R_POST, api_folder_create },
	{ "/api/folder/rename", R_SESSION | R_POST, api_folder_rename },
	{ "/api/folder/delete", R_SESSION | R_POST, api_folder_delete },
	{ "/api/folder/empty", R_SESSION | R_POST, web_api_folder_empty },
	{ "/api/messages", R_SESSION, web_api_messages },
	{ "/api/message", R_SESSION, web_api_message },
	{ "/api/part", R_SESSION, web_api_part },
	{ "/api/raw", R_SESSION, web_api_raw },
	{ "/api/flags", R_SESSION | R_POST, web_api_flags },
	{ "/api/move", R_SESSION | R_POST, web_api_move },
	{ "/api/copy", R_SESSION | R_POST, web_api_move },
	{ "/api/delete", R_SESSION | R_POST, web_api_delete },
	{ "/api/upload", R_SESSION | R_POST, web_api_upload },
	{ "/api/upload/delete", R_SESSION | R_POST, web_api_upload_delete },
	{ "/api/send", R_SESSION | R_POST, web_api_send },
	{ "/api/draft", R_SESSION | R_POST, web_api_draft },
	{ "/api/draft/attachments", R_SESSION | R_POST, web_api_draft_attachments },
};

/* Cross-site requests are refused: a browser sends Origin on POST, and
 * it must be this very site. */
static bool same_origin(const struct web_req *r)
{
	const char *origin = http_request_header(&r->http, "origin");
	const char *host = http_request_header(&r->http, "host");
	if (origin == NULL)
		return true;
	if (host == NULL || !str_has_prefix(origin, "https://"))
		return false;
	return strcmp(origin + 8, host) == 0;
}

void web_api_dispatch(struct web_req *r)
{
	const struct route *rt = NULL;
	for (size_t i = 0; i < N_ELEMENTS(routes); i++)
		if (strcmp(routes[i].path, r->path) == 0)
			rt = &routes[i];
	if (rt == NULL) {
		web_respond_error(r, 404, "no such API");
		return;
	}
	bool post = strcmp(r->http.method, "POST") == 0;
	bool get = strcmp(r->http.method, "GET") == 0;
	if ((rt->flags & R_POST) ? !post : !get) {
		web_respond_error(r, 405, "method not allowed");
		return;
	}
	if (post && !same_origin(r)) {
		web_respond_error(r, 403, "cross-origin request refused");
		return;
	}
	if (post && rt->handler != web_api_upload && r->json == NULL) {
		web_respond_error(r, 415, "a JSON body is required");
		return;
	}
	if (rt->flags & R_SESSION) {
		struct web_session *s = web_session_lookup(r->w, &r->http);
		if (s == NULL) {
			web_respond_error(r, 401, "not logged in");
			return;
		}
		if (post) {
			const char *tok = http_request_header(&r->http, "x-csrf-token");
			if (tok == NULL || strlen(tok) != 64 || !mem_equal_ct(tok, s->csrf, 64)) {
				web_respond_error(r, 403, "missing or wrong CSRF token");
				return;
			}
		}
		r->session = s;
		web_session_ref(s);
	}
	rt->handler(r);
}
