/* web_static.c — the front end's files (HTML, scripts, styles) from
 * web_static_dir, with ETag revalidation and caching headers; DOMPurify
 * from the npm package installed beside them. Runs in the web process.
 * Reads untrusted request paths (checked against a strict pattern). */
#include "web_private.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_STATIC (8u * 1024 * 1024)

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".webmanifest", "application/manifest+json" },
};

static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot != NULL && i < N_ELEMENTS(types); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

static bool path_ok(const char *p)
{
	if (strlen(p) > 200 || strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789._-/") != strlen(p))
		return false;
	/* No "..", no hidden files, no empty segments. */
	return strstr(p, "/.") == NULL && strstr(p, "//") == NULL;
}

void web_static_serve(struct web_req *r)
{
	const char *path = r->path;
	char *file;
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		file = x_asprintf("%s/index.html", r->w->static_dir);
	else if (strcmp(path, "/vendor/purify.min.js") == 0)
		file = x_asprintf("%s/node_modules/dompurify/dist/purify.min.js", r->w->static_dir);
	else if (path_ok(path) && str_has_prefix(path, "/static/"))
		file = x_asprintf("%s%s", r->w->static_dir, path);
	else {
		web_respond(r, 404, "text/plain; charset=utf-8", "Not Found\n", 10, NULL);
		return;
	}
	const char *type = type_of(file);
	struct stat st;
	if (type == NULL || stat(file, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (strstr(file, "purify") != NULL)
			log_error("%s is missing: run `npm ci` in the web directory "
				  "(scripts/deps does)", file);
		free(file);
		web_respond(r, 404, "text/plain; charset=utf-8", "Not Found\n", 10, NULL);
		return;
	}
	char etag[64];
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
		 (unsigned long long)st.st_size);
	bool html = str_has_prefix(type, "text/html");
	const char *cache = html ? "no-cache" : "public, max-age=3600";
	char *hdr = x_asprintf("ETag: %s\r\nCache-Control: %s\r\n", etag, cache);
	const char *inm = http_request_header(&r->http, "if-none-match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		web_respond(r, 304, NULL, NULL, 0, hdr);
		free(hdr);
		free(file);
		return;
	}
	struct buf data = BUF_INIT;
	if (read_file(file, &data, MAX_STATIC) < 0) {
		web_respond(r, 500, "text/plain; charset=utf-8", "Cannot read file\n", 17, NULL);
	} else {
		web_respond(r, 200, type, data.data, data.len, hdr);
	}
	buf_free(&data);
	free(hdr);
	free(file);
}
