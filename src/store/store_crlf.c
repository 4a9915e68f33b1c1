/* store_crlf.c — converting message files with bare LFs to CRLF when the
 * store first finds them (see store_crlf.h for the steps and why they
 * are crash-safe). Runs in the workers (the check of a small file on the
 * loop, conversions in the thread pool), in rebuilds and commands
 * (blocking). Message files and their names are untrusted. */
#include "store_private.h"
#include "store_crlf.h"
#include "store_deliver.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 65536
/* Failed conversions remembered per user (taken as they are). */
#define FAILED_MAX 1000
/* Files converted by one thread-pool job; the rest by the next. */
#define JOB_MAX 500

void store_crlf_init(struct store_crlf *c)
{
	memset(c, 0, sizeof(*c));
}

void store_crlf_count(struct store_crlf *c, const void *data, size_t len)
{
	const char *p = data, *end = p + len;
	if (len == 0)
		return;
	c->in += len;
	if (p[0] == '\n' && !c->prev_cr)
		c->bare_lf++;
	for (const char *q = p + 1; q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL;
	     q++)
		if (q[-1] != '\r')
			c->bare_lf++;
	c->prev_cr = end[-1] == '\r';
}

void store_crlf_convert(struct store_crlf *c, const void *data, size_t len, struct buf *out)
{
	const char *p = data, *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			store_crlf_count(c, p, (size_t)(end - p));
			buf_append(out, p, (size_t)(end - p));
			return;
		}
		bool bare = nl == p ? !c->prev_cr : nl[-1] != '\r';
		store_crlf_count(c, p, (size_t)(nl - p + 1));
		buf_append(out, p, (size_t)(nl - p));
		if (bare)
			buf_append_char(out, '\r');
		buf_append_char(out, '\n');
		p = nl + 1;
	}
}

bool store_crlf_name_ok(const struct store_maildir_name *n, uint64_t file_size)
{
	return n->has_size && n->has_vsize && n->size == file_size && n->vsize == file_size;
}

static ssize_t read_retry(int fd, void *buf, size_t len)
{
	ssize_t n;
	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

int store_crlf_check_small(int fd, uint64_t file_size, size_t limit)
{
	if (file_size > limit)
		return 0;
	char *chunk = x_malloc(limit + 1);
	struct store_crlf c;
	store_crlf_init(&c);
	ssize_t n;
	size_t total = 0;
	while ((n = read_retry(fd, chunk, limit + 1 - total)) > 0) {
		store_crlf_count(&c, chunk, (size_t)n);
		total += (size_t)n;
		if (total > limit)
			break;
	}
	free(chunk);
	if (n < 0)
		return -1;
	return total <= limit && c.bare_lf == 0 ? 1 : 0;
}

/* Counts the bare LFs of the open file. 0 or -1. */
static int scan_fd(int fd, struct store_crlf *c)
{
	char *chunk = x_malloc(CHUNK);
	ssize_t n;
	store_crlf_init(c);
	while ((n = read_retry(fd, chunk, CHUNK)) > 0)
		store_crlf_count(c, chunk, (size_t)n);
	free(chunk);
	return n < 0 ? -1 : 0;
}

/* Writes the CRLF form of in to out. 0 or -1. */
static int copy_converted(int in, int out)
{
	char *chunk = x_malloc(CHUNK);
	struct buf b = BUF_INIT;
	struct store_crlf c;
	store_crlf_init(&c);
	ssize_t n;
	int ret = 0;
	while ((n = read_retry(in, chunk, CHUNK)) > 0) {
		buf_reset(&b);
		store_crlf_convert(&c, chunk, (size_t)n, &b);
		if (write_full(out, b.data, b.len) < 0) {
			ret = -1;
			break;
		}
	}
	if (n < 0)
		ret = -1;
	free(chunk);
	buf_free(&b);
	return ret;
}

/* Replaces path by tmp: atomically where the file system can exchange
 * names, so a file another tool renamed meanwhile is never duplicated.
 * 0 done (tmp now holds the old file, or is gone), 1 path is gone, -1. */
static int exchange(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	/* No RENAME_EXCHANGE here: a plain rename over, if the file is
	 * still there (a narrow window for a duplicate remains). */
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 1 : -1;
	return rename(tmp, path) == 0 ? 0 : -1;
}

static atomic_uint tmp_seq;

int store_crlf_file(const char *folder, const char *subdir, const char *name,
		    struct buf *newname_r, const char **error_r)
{
	static __thread char errbuf[256];
	struct store_maildir_name n;
	buf_reset(newname_r);
	if (!store_maildir_name_parse(name, &n))
		return 1;
	char *path = x_asprintf("%s/%s/%s", folder, subdir, name);
	char *tmp = NULL;
	int ret = 0, in = -1, out = -1;
	const char *what = "open";
	in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0) {
		ret = errno == ENOENT || errno == ELOOP ? 1 : -1;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = 1;
		goto out;
	}
	struct store_crlf c;
	what = "read";
	if (scan_fd(in, &c) < 0) {
		ret = -1;
		goto out;
	}
	uint64_t size = c.in + c.bare_lf;
	store_maildir_base_with_size(newname_r, &n, size);
	buf_append_str(newname_r, name + n.base_len);	/* ":2,<flags>" */
	if (c.bare_lf > 0) {
		/* The CRLF copy in tmp/, with the original's mode and times. */
		what = "write the converted copy";
		char *tmpdir = x_asprintf("%s/tmp", folder);
		if (mkdir(tmpdir, 0700) < 0 && errno != EEXIST) {
			free(tmpdir);
			ret = -1;
			goto out;
		}
		tmp = x_asprintf("%s/%.*s.%d.%u.crlf", tmpdir, (int)n.unique_len, name,
				 (int)getpid(), atomic_fetch_add(&tmp_seq, 1));
		free(tmpdir);
		out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777);
		const struct timespec times[2] = { st.st_atim, st.st_mtim };
		const char *err;
		if (out < 0 || lseek(in, 0, SEEK_SET) < 0 || copy_converted(in, out) < 0 ||
		    futimens(out, times) < 0 || store_deliver_flush_data(out, &err) < 0) {
			ret = -1;
			goto out;
		}
		close(out);
		out = -1;
		what = "replace";
		ret = exchange(tmp, path);
		if (ret < 0)
			goto out;
		(void)unlink(tmp);	/* the old content, or nothing */
		if (ret == 1)
			goto out;
	}
	if (strcmp(newname_r->data, name) != 0) {
		what = "rename";
		char *to = x_asprintf("%s/%s/%s", folder, subdir, newname_r->data);
		if (rename(path, to) < 0)
			ret = errno == ENOENT ? 1 : -1;
		free(to);
	}
out:
	if (ret < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s %s/%s: %s", what, subdir, name,
			 strerror(errno));
		*error_r = errbuf;
	}
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (tmp != NULL && ret != 0)
		(void)unlink(tmp);
	free(tmp);
	free(path);
	return ret;
}

/* The thread-pool job of one user. */
struct store_crlf_job {
	uv_work_t work;
	struct store_user *user;	/* holds a reference */
	char *dir;			/* folder directory */
	struct strv files;		/* "new/x", "cur/y" */
	struct strv failed;		/* the same form, with their errors */
	struct strv errors;
	int64_t *mailboxes;		/* to look at again afterwards */
	size_t n_mailboxes;
};

static void job_work(uv_work_t *w)
{
	struct store_crlf_job *j = w->data;
	struct buf newname = BUF_INIT;
	bool touched[2] = { false, false };
	for (size_t i = 0; i < j->files.n; i++) {
		const char *f = j->files.v[i];
		const char *slash = strchr(f, '/');
		if (slash == NULL || slash - f != 3)
			continue;
		char subdir[4];
		memcpy(subdir, f, 3);
		subdir[3] = '\0';
		const char *error;
		int r = store_crlf_file(j->dir, subdir, slash + 1, &newname, &error);
		if (r < 0) {
			strv_push(&j->failed, f);
			strv_push(&j->errors, error);
		} else if (r == 0) {
			touched[subdir[0] == 'c'] = true;
		}
	}
	buf_free(&newname);
	/* The new names durable before any index records them. */
	static const char *const subs[] = { "new", "cur" };
	for (size_t i = 0; i < 2; i++) {
		if (!touched[i])
			continue;
		char *d = x_asprintf("%s/%s", j->dir, subs[i]);
		(void)fsync_dir(d);
		free(d);
	}
}

static void job_done(uv_work_t *w, int status)
{
	struct store_crlf_job *j = w->data;
	struct store_user *u = j->user;
	(void)status;
	for (size_t i = 0; i < j->failed.n; i++) {
		log_error("store %s: cannot convert %s to CRLF line ends (%s); taking it as it is",
			  u->address, j->dir, j->errors.v[i]);
		if (u->crlf_failed.n >= FAILED_MAX)
			strv_free(&u->crlf_failed);
		char *key = x_asprintf("%s/%s", j->dir, j->failed.v[i]);
		strv_push_owned(&u->crlf_failed, key);
	}
	/* Every mailbox that has files waiting is listed again in full by
	 * its next sync: the converted files, and those left for later. */
	if (!u->idx->corrupt && store_index_begin_write(u->idx) == 0) {
		for (size_t i = 0; i < j->n_mailboxes; i++) {
			sqlite3_stmt *st = store_index_stmt(u->idx, STMT_MB_SET_NEW_MTIME);
			sqlite3_bind_int64(st, 1, j->mailboxes[i]);
			sqlite3_bind_int64(st, 2, 0);
			(void)store_index_exec_stmt(u->idx, st);
			st = store_index_stmt(u->idx, STMT_MB_SET_CUR_MTIME);
			sqlite3_bind_int64(st, 1, j->mailboxes[i]);
			sqlite3_bind_int64(st, 2, 0);
			(void)store_index_exec_stmt(u->idx, st);
		}
		if (store_index_commit(u->idx) == 0)
			store_user_changed(u);
	}
	u->crlf_job = NULL;
	strv_free(&j->files);
	strv_free(&j->failed);
	strv_free(&j->errors);
	free(j->mailboxes);
	free(j->dir);
	free(j);
	store_user_unref(&u);
}

static void job_want(struct store_crlf_job *j, int64_t mailbox_id)
{
	for (size_t i = 0; i < j->n_mailboxes; i++)
		if (j->mailboxes[i] == mailbox_id)
			return;
	j->mailboxes = x_reallocarray(j->mailboxes, j->n_mailboxes + 1, sizeof(int64_t));
	j->mailboxes[j->n_mailboxes++] = mailbox_id;
}

void store_crlf_queue(struct store_mailbox *mb, const struct strv *files)
{
	struct store_user *u = mb->user;
	if (u->loop == NULL || files->n == 0)
		return;
	if (u->crlf_job != NULL) {
		/* Looked at again when the running job ends. */
		job_want(u->crlf_job, mb->id);
		return;
	}
	struct store_crlf_job *j = x_calloc(1, sizeof(*j));
	j->user = u;
	j->dir = x_strdup(mb->path);
	strv_init(&j->files);
	strv_init(&j->failed);
	strv_init(&j->errors);
	for (size_t i = 0; i < files->n && i < JOB_MAX; i++)
		strv_push(&j->files, files->v[i]);
	job_want(j, mb->id);
	store_user_ref(u);
	u->crlf_job = j;
	j->work.data = j;
	if (uv_queue_work(u->loop, &j->work, job_work, job_done) != 0)
		log_fatal("uv_queue_work failed");
}

bool store_crlf_failed(const struct store_mailbox *mb, const char *subdir, const char *name)
{
	const struct strv *f = &mb->user->crlf_failed;
	if (f->n == 0)
		return false;
	char *key = x_asprintf("%s/%s/%s", mb->path, subdir, name);
	bool found = strv_contains(f, key);
	free(key);
	return found;
}
