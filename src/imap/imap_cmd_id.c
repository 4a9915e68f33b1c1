/* imap_cmd_id.c — IMAP ID (RFC 2971): logs what the client says and
 * names the server; takes the client's address ("x-originating-ip")
 * from the built-in webmail when it proves itself with its token
 * (auth_proxy.h), and from a proxy connecting from trusted_proxies (a
 * `correu web` on another host). Runs in the mail workers. Parses
 * client input. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include "auth_proxy.h"
#include "imap_commands.h"
#include "log.h"
#include "net_cidr.h"

enum imap_cmd_result imap_cmd_id(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *list;
	size_t n;
	if (cmd->n_args != 1)
		return imap_cmd_bad(cmd, "ID needs one argument");
	if (imap_arg_list(&cmd->args[0], &list, &n)) {
		if (n % 2 != 0 || n > 60)
			return imap_cmd_bad(cmd, "Invalid ID parameters");
		struct buf b = BUF_INIT;
		const char *origin = NULL;
		bool proxy = false;
		for (size_t i = 0; i + 1 < n; i += 2) {
			bool nil;
			const char *k = imap_arg_string(&list[i]);
			const char *v = imap_arg_nstring(&list[i + 1], &nil);
			if (k == NULL || (v == NULL && !nil)) {
				buf_free(&b);
				return imap_cmd_bad(cmd, "Invalid ID parameters");
			}
			if (strcasecmp(k, "x-correu-proxy") == 0) {
				/* The webmail's token: checked, never logged. */
				proxy = auth_proxy_token_valid(v);
				continue;
			}
			if (strcasecmp(k, "x-originating-ip") == 0)
				origin = v;
			buf_appendf(&b, "%s%.30s=%.100s", b.len > 0 ? ", " : "", k, nil ? "NIL" : v);
		}
		log_info("imap[%s]: client ID: %s", s->id, buf_cstr(&b));
		buf_free(&b);
		/* Only before login, and only for the built-in webmail or a
		 * trusted proxy: the browser's address then counts for the
		 * auth throttle. Anyone else's claim is logged above only. */
		const char *peer = conn_peer_ip(s->conn);
		bool trusted = !proxy && origin != NULL &&
			net_cidr_list_match(&s->server->cfg->trusted_proxies, peer);
		if ((proxy || trusted) && s->state == IMAP_STATE_NOAUTH &&
		    auth_proxy_ip_valid(origin)) {
			snprintf(s->origin_ip, sizeof(s->origin_ip), "%s", origin);
			if (proxy)
				log_info("imap[%s]: speaking for %s (webmail)", s->id, s->origin_ip);
			else
				log_info("imap[%s]: speaking for %s (trusted proxy %s)", s->id,
					 s->origin_ip, peer);
		}
	} else if (!imap_arg_is_nil(&cmd->args[0])) {
		return imap_cmd_bad(cmd, "Invalid ID parameters");
	}
	imap_write(s, "* ID (\"name\" \"correu\" \"vendor\" \"correu\")\r\n", 42);
	return imap_cmd_ok(cmd, "ID completed");
}
