/* imap_load.c — IMAP load generator for bench/imap: many concurrent
 * IMAPS sessions doing a realistic mix (LOGIN, SELECT, FETCH headers and
 * bodies, STORE, SEARCH, APPEND, EXPUNGE, IDLE, LOGOUT), a login-only
 * mode, an idle mode that holds N connections in IDLE, and a big-mailbox
 * mode that times SELECT, FETCH 1:* and SEARCH. Prints operations per
 * second per command. Blocking OpenSSL sockets, one thread per session.
 *
 *   imap_load mix   HOST PORT USERFMT NUSERS PASS THREADS SECONDS
 *   imap_load login HOST PORT USERFMT NUSERS PASS THREADS SECONDS
 *   imap_load idle  HOST PORT USERFMT NUSERS PASS CONNS HOLD_SECONDS
 *   imap_load big   HOST PORT USER PASS WORD
 * USERFMT is a printf format with one %d (user number from 1). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum op { OP_LOGIN, OP_SELECT, OP_FETCH_HDR, OP_FETCH_BODY, OP_STORE, OP_SEARCH, OP_APPEND,
	  OP_EXPUNGE, OP_IDLE, OP_NOOP, OP_LOGOUT, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
	"LOGIN", "SELECT", "FETCH headers", "FETCH body", "STORE", "SEARCH", "APPEND",
	"EXPUNGE", "IDLE", "NOOP", "LOGOUT",
};

static atomic_ullong op_count[OP_COUNT];
static atomic_ullong op_ns[OP_COUNT];
static atomic_ullong errors;
static const char *host, *userfmt, *password;
static int port, nusers;
static volatile bool stop;
static SSL_CTX *ctx;

struct conn {
	int fd;
	SSL *ssl;
	char buf[65536];
	size_t len, off;
	unsigned tag;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int conn_open(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, host, &sin.sin_addr);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(c->fd);
		return -1;
	}
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		SSL_free(c->ssl);
		close(c->fd);
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		close(c->fd);
		c->ssl = NULL;
	}
}

static int send_all(struct conn *c, const void *p, size_t n)
{
	while (n > 0) {
		int w = SSL_write(c->ssl, p, (int)n);
		if (w <= 0)
			return -1;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one line (without CRLF) into line; literals are skipped. The
 * buffer holds c->buf[c->off..c->len): consumed lines only move the
 * offset (a memmove per line made the client the bottleneck of big
 * FETCH responses). */
static int fill(struct conn *c)
{
	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		c->len = 0;	/* absurdly long line: drop */
	int r = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	return 0;
}

static int read_line(struct conn *c, char *line, size_t size)
{
	for (;;) {
		char *start = c->buf + c->off;
		char *lf = memchr(start, '\n', c->len - c->off);
		if (lf == NULL) {
			if (fill(c) < 0)
				return -1;
			continue;
		}
		size_t n = (size_t)(lf - start) + 1;
		size_t copy = n - 1 < size - 1 ? n - 1 : size - 1;
		memcpy(line, start, copy);
		if (copy > 0 && line[copy - 1] == '\r')
			copy--;
		line[copy] = '\0';
		c->off += n;
		/* A literal follows: skip its bytes. */
		size_t l = strlen(line);
		if (l > 2 && line[l - 1] == '}') {
			char *open = strrchr(line, '{');
			if (open != NULL) {
				unsigned long long lit = strtoull(open + 1, NULL, 10);
				while (lit > 0) {
					if (c->off == c->len && fill(c) < 0)
						return -1;
					size_t avail = c->len - c->off;
					size_t take = avail < lit ? avail : (size_t)lit;
					c->off += take;
					lit -= take;
				}
			}
		}
		return 0;
	}
}

/* Sends a command and waits for its tagged reply; 0 on OK. */
static int command(struct conn *c, enum op op, char *untagged, size_t usize, const char *fmt, ...)
{
	char cmd[4096], tag[16], line[8192];
	snprintf(tag, sizeof(tag), "a%u", ++c->tag);
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(cmd, sizeof(cmd), "%s ", tag);
	n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "\r\n");
	uint64_t t0 = now_ns();
	if (send_all(c, cmd, (size_t)n) < 0)
		return -1;
	size_t tl = strlen(tag);
	for (;;) {
		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
		if (strncmp(line, tag, tl) == 0 && line[tl] == ' ') {
			if (op < OP_COUNT) {
				atomic_fetch_add(&op_count[op], 1);
				atomic_fetch_add(&op_ns[op], now_ns() - t0);
			}
			bool ok = strncmp(line + tl + 1, "OK", 2) == 0;
			if (!ok) {
				atomic_fetch_add(&errors, 1);
				if (getenv("IMAP_LOAD_VERBOSE") != NULL)
					fprintf(stderr, "%s-> %s\n", cmd, line);
			}
			return ok ? 0 : -1;
		}
		if (untagged != NULL && line[0] == '*' && strlen(line) < usize)
			strcpy(untagged, line);
	}
}

static int login(struct conn *c, int user)
{
	char line[1024], name[256];
	if (read_line(c, line, sizeof(line)) < 0)
		return -1;
	snprintf(name, sizeof(name), userfmt, user);
	return command(c, OP_LOGIN, NULL, 0, "LOGIN \"%s\" \"%s\"", name, password);
}

static const char body[] =
	"From: Load Generator <load@example.test>\r\n"
	"To: bench@example.test\r\n"
	"Subject: appended by the load generator\r\n"
	"Message-ID: <load@example.test>\r\n\r\n"
	"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\r\n"
	"tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam,\r\n"
	"quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo.\r\n";

static int append(struct conn *c, unsigned *uid_r)
{
	char cmd[128], line[1024], tag[16];
	snprintf(tag, sizeof(tag), "a%u", ++c->tag);
	int n = snprintf(cmd, sizeof(cmd), "%s APPEND INBOX {%zu+}\r\n", tag, sizeof(body) - 1);
	uint64_t t0 = now_ns();
	if (send_all(c, cmd, (size_t)n) < 0 || send_all(c, body, sizeof(body) - 1) < 0 ||
	    send_all(c, "\r\n", 2) < 0)
		return -1;
	for (;;) {
		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
		if (strncmp(line, tag, strlen(tag)) == 0) {
			atomic_fetch_add(&op_count[OP_APPEND], 1);
			atomic_fetch_add(&op_ns[OP_APPEND], now_ns() - t0);
			char *p = strstr(line, "[APPENDUID ");
			*uid_r = p != NULL ? (unsigned)strtoul(strchr(p + 11, ' ') + 1, NULL, 10) : 0;
			return strstr(line, " OK") != NULL ? 0 : -1;
		}
	}
}

static int idle(struct conn *c)
{
	char line[1024], cmd[32];
	snprintf(cmd, sizeof(cmd), "a%u IDLE\r\n", ++c->tag);
	uint64_t t0 = now_ns();
	if (send_all(c, cmd, strlen(cmd)) < 0)
		return -1;
	do {
		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
	} while (line[0] != '+');
	if (send_all(c, "DONE\r\n", 6) < 0)
		return -1;
	do {
		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
	} while (line[0] == '*');
	atomic_fetch_add(&op_count[OP_IDLE], 1);
	atomic_fetch_add(&op_ns[OP_IDLE], now_ns() - t0);
	return 0;
}

static void *mix_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;
	int user = (int)((uintptr_t)arg % (uintptr_t)nusers) + 1;
	while (!stop) {
		struct conn c;
		if (conn_open(&c) < 0 || login(&c, user) < 0) {
			atomic_fetch_add(&errors, 1);
			conn_close(&c);
			usleep(10000);
			continue;
		}
		char exists[256] = "";
		command(&c, OP_SELECT, exists, sizeof(exists), "SELECT INBOX");
		unsigned count = 0;
		/* the EXISTS line is not the last untagged one: ask STATUS */
		char st[256] = "";
		command(&c, OP_COUNT, st, sizeof(st), "STATUS INBOX (MESSAGES)");
		char *m = strstr(st, "MESSAGES ");
		count = m != NULL ? (unsigned)strtoul(m + 9, NULL, 10) : 0;
		for (int round = 0; round < 10 && !stop && count > 20; round++) {
			unsigned first = 1 + (unsigned)rand_r(&seed) % (count - 20);
			command(&c, OP_FETCH_HDR, NULL, 0, "FETCH %u:%u (UID FLAGS RFC822.SIZE "
				"BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])", first, first + 19);
			unsigned one = 1 + (unsigned)rand_r(&seed) % count;
			command(&c, OP_FETCH_BODY, NULL, 0, "FETCH %u BODY.PEEK[]", one);
			command(&c, OP_STORE, NULL, 0, "STORE %u %sFLAGS.SILENT (\\Seen)", one,
				rand_r(&seed) % 2 ? "+" : "-");
			command(&c, OP_SEARCH, NULL, 0, rand_r(&seed) % 2 ? "UID SEARCH UNSEEN" :
				"SEARCH SUBJECT \"report\"");
			unsigned uid = 0;
			if (append(&c, &uid) == 0 && uid != 0) {
				uint64_t t0 = now_ns();
				command(&c, OP_COUNT, NULL, 0, "UID STORE %u +FLAGS.SILENT (\\Deleted)", uid);
				command(&c, OP_COUNT, NULL, 0, "UID EXPUNGE %u", uid);
				atomic_fetch_add(&op_count[OP_EXPUNGE], 1);
				atomic_fetch_add(&op_ns[OP_EXPUNGE], now_ns() - t0);
			}
			command(&c, OP_NOOP, NULL, 0, "NOOP");
		}
		idle(&c);
		command(&c, OP_LOGOUT, NULL, 0, "LOGOUT");
		conn_close(&c);
	}
	return NULL;
}

static void *login_thread(void *arg)
{
	int user = (int)((uintptr_t)arg % (uintptr_t)nusers) + 1;
	while (!stop) {
		struct conn c;
		if (conn_open(&c) < 0 || login(&c, user) < 0)
			atomic_fetch_add(&errors, 1);
		else
			command(&c, OP_LOGOUT, NULL, 0, "LOGOUT");
		conn_close(&c);
		user = user % nusers + 1;
	}
	return NULL;
}

static void report(double secs)
{
	unsigned long long total = 0;
	for (int i = 0; i < OP_COUNT; i++) {
		unsigned long long n = op_count[i];
		if (n == 0)
			continue;
		total += n;
		printf("%-14s %9llu ops %10.1f ops/s %8.2f ms avg\n", op_names[i], n, n / secs,
		       op_ns[i] / 1e6 / (double)n);
	}
	printf("%-14s %9llu ops %10.1f ops/s\n", "TOTAL", total, total / secs);
	printf("errors %llu\n", (unsigned long long)errors);
}

static int run_threads(void *(*fn)(void *), int threads, int seconds)
{
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	uint64_t t0 = now_ns();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i);
	sleep((unsigned)seconds);
	stop = true;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	report((now_ns() - t0) / 1e9);
	free(t);
	return 0;
}

static int run_idle(int conns, int hold)
{
	struct conn *c = calloc((size_t)conns, sizeof(*c));
	int ok = 0;
	for (int i = 0; i < conns; i++) {
		if (conn_open(&c[i]) < 0 || login(&c[i], i % nusers + 1) < 0 ||
		    command(&c[i], OP_SELECT, NULL, 0, "SELECT INBOX") < 0) {
			fprintf(stderr, "connection %d failed\n", i);
			break;
		}
		char cmd[32], line[1024];
		snprintf(cmd, sizeof(cmd), "a%u IDLE\r\n", ++c[i].tag);
		send_all(&c[i], cmd, strlen(cmd));
		do {
			if (read_line(&c[i], line, sizeof(line)) < 0)
				break;
		} while (line[0] != '+');
		ok++;
	}
	printf("idle %d\n", ok);
	fflush(stdout);
	sleep((unsigned)hold);
	for (int i = 0; i < ok; i++)
		conn_close(&c[i]);
	free(c);
	return 0;
}

static double timed(struct conn *c, char *untagged, size_t usize, const char *fmt, const char *arg)
{
	uint64_t t0 = now_ns();
	command(c, OP_COUNT, untagged, usize, fmt, arg);
	return (now_ns() - t0) / 1e6;
}

static int run_big(const char *user, const char *word)
{
	struct conn c;
	char line[1024];
	if (conn_open(&c) < 0 || read_line(&c, line, sizeof(line)) < 0)
		return 1;
	command(&c, OP_LOGIN, NULL, 0, "LOGIN \"%s\" \"%s\"", user, password);
	printf("SELECT                    %8.1f ms\n", timed(&c, NULL, 0, "SELECT %s", "INBOX"));
	printf("FETCH 1:* (FLAGS UID)     %8.1f ms\n", timed(&c, NULL, 0, "FETCH 1:* (%s)", "FLAGS UID"));
	printf("UID SEARCH UNSEEN         %8.1f ms\n", timed(&c, NULL, 0, "UID SEARCH %s", "UNSEEN"));
	printf("SEARCH BODY \"%s\" %*s%8.1f ms\n", word, (int)(11 - strlen(word)), "",
	       timed(&c, NULL, 0, "SEARCH BODY \"%s\"", word));
	command(&c, OP_LOGOUT, NULL, 0, "LOGOUT");
	conn_close(&c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: see the header of imap_load.c\n");
		return 2;
	}
	SSL_library_init();
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	host = argv[2];
	port = atoi(argv[3]);
	if (strcmp(argv[1], "big") == 0) {
		password = argv[5];
		return run_big(argv[4], argc > 6 ? argv[6] : "needle");
	}
	if (argc < 9) {
		fprintf(stderr, "usage: see the header of imap_load.c\n");
		return 2;
	}
	userfmt = argv[4];
	nusers = atoi(argv[5]);
	password = argv[6];
	int n = atoi(argv[7]), secs = atoi(argv[8]);
	if (strcmp(argv[1], "mix") == 0)
		return run_threads(mix_thread, n, secs);
	if (strcmp(argv[1], "login") == 0)
		return run_threads(login_thread, n, secs);
	if (strcmp(argv[1], "idle") == 0)
		return run_idle(n, secs);
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
