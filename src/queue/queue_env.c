/* queue_env.c — queue envelopes in memory and in their file format.
 * Runs in workers (enqueue), the queue process and the command line.
 * Parses envelope files from data_dir/queue: written by correu itself,
 * but read with limits and strict checks, as a damaged file must not
 * crash the queue process. */
#include "queue_env.h"
#include "log.h"
#include "str.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QUEUE_ENV_VERSION "correu-queue 1"

void queue_envelope_init(struct queue_envelope *env)
{
	memset(env, 0, sizeof(*env));
}

static void rcpt_free(struct queue_rcpt *r)
{
	free(r->address);
	free(r->orcpt);
	free(r->last_error);
	free(r->remote_mta);
}

void queue_envelope_free(struct queue_envelope *env)
{
	for (size_t i = 0; i < env->n_rcpts; i++)
		rcpt_free(&env->rcpts[i]);
	free(env->rcpts);
	free(env->id);
	free(env->sender);
	free(env->envid);
	free(env->auth_user);
	free(env->client_ip);
	free(env->client_helo);
	memset(env, 0, sizeof(*env));
}

struct queue_rcpt *queue_envelope_add_rcpt(struct queue_envelope *env, const char *address,
					   unsigned notify, const char *orcpt)
{
	/* Grow by powers of two; n_rcpts is the only size kept. */
	if ((env->n_rcpts & (env->n_rcpts - 1)) == 0) {
		size_t cap = env->n_rcpts == 0 ? 1 : env->n_rcpts * 2;
		env->rcpts = x_reallocarray(env->rcpts, cap, sizeof(*env->rcpts));
	}
	struct queue_rcpt *r = &env->rcpts[env->n_rcpts++];
	memset(r, 0, sizeof(*r));
	r->address = x_strdup(address);
	r->orcpt = orcpt != NULL ? x_strdup(orcpt) : NULL;
	r->notify = notify;
	return r;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? x_strdup(s) : NULL;
}

void queue_envelope_copy(struct queue_envelope *dst, const struct queue_envelope *src)
{
	*dst = *src;
	dst->id = dup_or_null(src->id);
	dst->sender = dup_or_null(src->sender);
	dst->envid = dup_or_null(src->envid);
	dst->auth_user = dup_or_null(src->auth_user);
	dst->client_ip = dup_or_null(src->client_ip);
	dst->client_helo = dup_or_null(src->client_helo);
	dst->rcpts = NULL;
	dst->n_rcpts = 0;
	for (size_t i = 0; i < src->n_rcpts; i++) {
		const struct queue_rcpt *s = &src->rcpts[i];
		struct queue_rcpt *r = queue_envelope_add_rcpt(dst, s->address, s->notify, s->orcpt);
		r->status = s->status;
		r->attempts = s->attempts;
		r->last_attempt = s->last_attempt;
		r->last_error = dup_or_null(s->last_error);
		r->remote_mta = dup_or_null(s->remote_mta);
		memcpy(r->status_code, s->status_code, sizeof(r->status_code));
		r->delay_warned = s->delay_warned;
	}
}

const char *queue_rcpt_status_name(enum queue_rcpt_status st)
{
	switch (st) {
	case QUEUE_RCPT_PENDING:
		return "pending";
	case QUEUE_RCPT_SENT:
		return "sent";
	case QUEUE_RCPT_FAILED:
		return "failed";
	}
	return "pending";
}

static const struct {
	const char *name;
	unsigned bit;
} notify_words[] = {
	{ "NEVER", QUEUE_NOTIFY_NEVER },
	{ "SUCCESS", QUEUE_NOTIFY_SUCCESS },
	{ "FAILURE", QUEUE_NOTIFY_FAILURE },
	{ "DELAY", QUEUE_NOTIFY_DELAY },
};

void queue_notify_format(unsigned notify, struct buf *out)
{
	bool first = true;
	for (size_t i = 0; i < N_ELEMENTS(notify_words); i++) {
		if ((notify & notify_words[i].bit) == 0)
			continue;
		if (!first)
			buf_append_char(out, ',');
		buf_append_str(out, notify_words[i].name);
		first = false;
	}
}

int queue_notify_parse(const char *s, unsigned *notify_r)
{
	unsigned n = 0;
	const char *p = s;
	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < N_ELEMENTS(notify_words); i++) {
			if (strlen(notify_words[i].name) == len &&
			    strncasecmp(p, notify_words[i].name, len) == 0) {
				n |= notify_words[i].bit;
				found = true;
			}
		}
		if (!found)
			return -1;
		p += len;
		if (*p == ',') {
			p++;
			if (*p == '\0')
				return -1;
		}
	}
	if ((n & QUEUE_NOTIFY_NEVER) != 0 && n != QUEUE_NOTIFY_NEVER)
		return -1;
	*notify_r = n;
	return 0;
}

bool queue_rcpt_wants(const struct queue_rcpt *r, unsigned kind)
{
	if (r->notify == 0)
		return kind == QUEUE_NOTIFY_FAILURE || kind == QUEUE_NOTIFY_DELAY;
	return (r->notify & kind) != 0;
}

void queue_env_escape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	if (s == NULL) {
		buf_append_char(out, '-');
		return;
	}
	if (*s == '\0') {
		buf_append_char(out, '%');
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '%' || (*p == '-' && p == (const unsigned char *)s)) {
			buf_append_char(out, '%');
			buf_append_char(out, hex[*p >> 4]);
			buf_append_char(out, hex[*p & 15]);
		} else {
			buf_append_char(out, (char)*p);
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *queue_env_unescape(const char *s, bool *ok_r)
{
	*ok_r = true;
	if (strcmp(s, "-") == 0)
		return NULL;
	if (strcmp(s, "%") == 0)
		return x_strdup("");
	struct buf b = BUF_INIT;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p != '%') {
			buf_append_char(&b, *p);
			continue;
		}
		int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			*ok_r = false;
			buf_free(&b);
			return NULL;
		}
		buf_append_char(&b, (char)(hi * 16 + lo));
		p += 2;
	}
	return buf_steal(&b);
}

static const char *body_name(enum queue_body b)
{
	switch (b) {
	case QUEUE_BODY_8BITMIME:
		return "8BITMIME";
	case QUEUE_BODY_BINARYMIME:
		return "BINARYMIME";
	case QUEUE_BODY_7BIT:
		break;
	}
	return "7BIT";
}

static const char *ret_name(enum queue_ret r)
{
	switch (r) {
	case QUEUE_RET_FULL:
		return "FULL";
	case QUEUE_RET_HDRS:
		return "HDRS";
	case QUEUE_RET_DEFAULT:
		break;
	}
	return "-";
}

static void field(struct buf *out, const char *key, const char *value)
{
	buf_append_str(out, key);
	buf_append_char(out, ' ');
	queue_env_escape(out, value);
	buf_append_char(out, '\n');
}

void queue_env_format(const struct queue_envelope *env, struct buf *out)
{
	buf_appendf(out, "%s\n", QUEUE_ENV_VERSION);
	field(out, "id", env->id);
	buf_appendf(out, "arrival %lld\n", (long long)env->arrival);
	buf_appendf(out, "skip %zu\n", env->skip);
	buf_appendf(out, "size %" PRIu64 "\n", env->size);
	field(out, "sender", env->sender != NULL ? env->sender : "");
	buf_appendf(out, "body %s\n", body_name(env->body));
	buf_appendf(out, "smtputf8 %d\n", env->smtputf8 ? 1 : 0);
	buf_appendf(out, "ret %s\n", ret_name(env->ret));
	field(out, "envid", env->envid);
	field(out, "auth", env->auth_user);
	field(out, "client", env->client_ip);
	field(out, "helo", env->client_helo);
	buf_appendf(out, "held %d\n", env->held ? 1 : 0);
	buf_appendf(out, "dsn %d\n", env->is_dsn ? 1 : 0);
	buf_appendf(out, "next %lld\n", (long long)env->next_attempt);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		buf_append_str(out, "rcpt ");
		queue_env_escape(out, r->address);
		buf_appendf(out, " %s %u %u %lld %d ", queue_rcpt_status_name(r->status),
			    r->notify, r->attempts, (long long)r->last_attempt,
			    r->delay_warned ? 1 : 0);
		queue_env_escape(out, r->status_code[0] != '\0' ? r->status_code : NULL);
		buf_append_char(out, ' ');
		queue_env_escape(out, r->orcpt);
		buf_append_char(out, ' ');
		queue_env_escape(out, r->remote_mta);
		buf_append_char(out, ' ');
		queue_env_escape(out, r->last_error);
		buf_append_char(out, '\n');
	}
	buf_append_str(out, "end\n");
}

/* Splits a line (modified in place) at single spaces. */
static size_t split_words(char *line, char **words, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (n < max) {
		words[n++] = p;
		char *sp = strchr(p, ' ');
		if (sp == NULL)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	return n;
}

static int parse_u64(const char *s, uint64_t *v)
{
	return str_to_uint64(s, v);
}

static int parse_time(const char *s, time_t *t)
{
	uint64_t v;
	if (parse_u64(s, &v) < 0 || v > (uint64_t)INT64_MAX / 2)
		return -1;
	*t = (time_t)v;
	return 0;
}

static int parse_flag(const char *s, bool *b)
{
	if (strcmp(s, "0") == 0)
		*b = false;
	else if (strcmp(s, "1") == 0)
		*b = true;
	else
		return -1;
	return 0;
}

static int set_str(char **dst, const char *value, bool allow_null)
{
	bool ok;
	char *v = queue_env_unescape(value, &ok);
	if (!ok || (v == NULL && !allow_null))
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

static int parse_rcpt(struct queue_envelope *env, char **w, size_t n)
{
	if (n != 10 || env->n_rcpts >= QUEUE_ENV_MAX_RCPTS)
		return -1;
	bool ok;
	char *addr = queue_env_unescape(w[0], &ok);
	if (!ok || addr == NULL)
		return -1;
	struct queue_rcpt *r = queue_envelope_add_rcpt(env, addr, 0, NULL);
	free(addr);
	uint64_t notify, attempts;
	if (strcmp(w[1], "pending") == 0)
		r->status = QUEUE_RCPT_PENDING;
	else if (strcmp(w[1], "sent") == 0)
		r->status = QUEUE_RCPT_SENT;
	else if (strcmp(w[1], "failed") == 0)
		r->status = QUEUE_RCPT_FAILED;
	else
		return -1;
	if (parse_u64(w[2], &notify) < 0 || notify > 15 ||
	    parse_u64(w[3], &attempts) < 0 || attempts > UINT32_MAX ||
	    parse_time(w[4], &r->last_attempt) < 0 || parse_flag(w[5], &r->delay_warned) < 0)
		return -1;
	r->notify = (unsigned)notify;
	r->attempts = (unsigned)attempts;
	char *code = queue_env_unescape(w[6], &ok);
	if (!ok || (code != NULL && strlen(code) >= sizeof(r->status_code))) {
		free(code);
		return -1;
	}
	if (code != NULL)
		strcpy(r->status_code, code);
	free(code);
	if (set_str(&r->orcpt, w[7], true) < 0 || set_str(&r->remote_mta, w[8], true) < 0 ||
	    set_str(&r->last_error, w[9], true) < 0)
		return -1;
	return 0;
}

static int parse_line(struct queue_envelope *env, char *line)
{
	char *w[12];
	size_t n = split_words(line, w, N_ELEMENTS(w));
	if (n < 2)
		return -1;
	const char *k = w[0], *v = w[1];
	if (strcmp(k, "rcpt") == 0)
		return parse_rcpt(env, w + 1, n - 1);
	if (n != 2)
		return -1;
	uint64_t u;
	if (strcmp(k, "id") == 0) {
		if (set_str(&env->id, v, false) < 0 || !queue_id_valid(env->id))
			return -1;
	} else if (strcmp(k, "arrival") == 0) {
		return parse_time(v, &env->arrival);
	} else if (strcmp(k, "skip") == 0) {
		if (parse_u64(v, &u) < 0 || u > SIZE_MAX / 2)
			return -1;
		env->skip = (size_t)u;
	} else if (strcmp(k, "size") == 0) {
		return parse_u64(v, &env->size);
	} else if (strcmp(k, "sender") == 0) {
		return set_str(&env->sender, v, false);
	} else if (strcmp(k, "body") == 0) {
		if (strcmp(v, "7BIT") == 0)
			env->body = QUEUE_BODY_7BIT;
		else if (strcmp(v, "8BITMIME") == 0)
			env->body = QUEUE_BODY_8BITMIME;
		else if (strcmp(v, "BINARYMIME") == 0)
			env->body = QUEUE_BODY_BINARYMIME;
		else
			return -1;
	} else if (strcmp(k, "smtputf8") == 0) {
		return parse_flag(v, &env->smtputf8);
	} else if (strcmp(k, "ret") == 0) {
		if (strcmp(v, "FULL") == 0)
			env->ret = QUEUE_RET_FULL;
		else if (strcmp(v, "HDRS") == 0)
			env->ret = QUEUE_RET_HDRS;
		else if (strcmp(v, "-") == 0)
			env->ret = QUEUE_RET_DEFAULT;
		else
			return -1;
	} else if (strcmp(k, "envid") == 0) {
		return set_str(&env->envid, v, true);
	} else if (strcmp(k, "auth") == 0) {
		return set_str(&env->auth_user, v, true);
	} else if (strcmp(k, "client") == 0) {
		return set_str(&env->client_ip, v, true);
	} else if (strcmp(k, "helo") == 0) {
		return set_str(&env->client_helo, v, true);
	} else if (strcmp(k, "held") == 0) {
		return parse_flag(v, &env->held);
	} else if (strcmp(k, "dsn") == 0) {
		return parse_flag(v, &env->is_dsn);
	} else if (strcmp(k, "next") == 0) {
		return parse_time(v, &env->next_attempt);
	}
	/* Unknown keys are ignored so that a newer version's files load. */
	return 0;
}

int queue_env_parse(const char *data, size_t len, struct queue_envelope *env,
		    const char **error_r)
{
	queue_envelope_init(env);
	if (len > QUEUE_ENV_MAX_SIZE) {
		*error_r = "envelope file too large";
		return -1;
	}
	if (memchr(data, '\0', len) != NULL) {
		*error_r = "NUL byte in envelope file";
		return -1;
	}
	size_t vlen = strlen(QUEUE_ENV_VERSION);
	if (len < vlen + 1 || memcmp(data, QUEUE_ENV_VERSION "\n", vlen + 1) != 0) {
		*error_r = "not a correu queue envelope (version line)";
		return -1;
	}
	const char *p = data + vlen + 1, *end = data + len;
	bool have_end = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			*error_r = "envelope file truncated";
			goto fail;
		}
		char *line = x_strndup(p, (size_t)(nl - p));
		p = nl + 1;
		if (strcmp(line, "end") == 0) {
			free(line);
			have_end = true;
			break;
		}
		int r = parse_line(env, line);
		free(line);
		if (r < 0) {
			*error_r = "malformed line in envelope file";
			goto fail;
		}
	}
	if (!have_end) {
		*error_r = "envelope file truncated";
		goto fail;
	}
	if (env->id == NULL || env->sender == NULL || env->n_rcpts == 0) {
		*error_r = "envelope lacks id, sender or recipients";
		goto fail;
	}
	return 0;
fail:
	queue_envelope_free(env);
	return -1;
}
