/* web_list.h — the message list API and its per-session cache of the
 * ordered UID list. Runs in the web process. */
#ifndef CORREU_WEB_LIST_H
#define CORREU_WEB_LIST_H

#include "web_private.h"

struct web_list_cache;

void web_list_cache_free(struct web_list_cache **c);
/* Frees the cache if its order depends on flags. */
void web_list_cache_flags_changed(struct web_list_cache **c);
/* GET /api/messages?folder=&offset=&limit=&sort=&order=&thread=&q=... */
void web_api_messages(struct web_req *r);

#endif
