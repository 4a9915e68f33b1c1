/* pop3_cmd_retr.c — RETR and TOP (RFC 1939 7): the message file is read
 * in chunks, dot-stuffed (pop3_stuff.h) and queued while the connection
 * keeps up; when output piles up the stream waits for on_drain, so a
 * big message never sits in memory whole. Runs in the workers. */
#include "pop3_session.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

/* Queue output up to this much before waiting for the drain mark. */
#define POP3_STREAM_HIGH (256 * 1024)
#define POP3_READ_CHUNK (64 * 1024)

/* One loop per process, and a chunk never outlives pump(). */
static char read_chunk[POP3_READ_CHUNK];

static void stream_end(struct pop3_session *s)
{
	if (s->stream_fd >= 0)
		close(s->stream_fd);
	s->stream_fd = -1;
	buf_free(&s->stream_out);
}

/* Queues output until enough is pending or the message is done.
 * Returns true when the response is complete. */
static bool pump(struct pop3_session *s)
{
	while (conn_output_pending(s->conn) < POP3_STREAM_HIGH) {
		ssize_t n = read(s->stream_fd, read_chunk, sizeof(read_chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("pop3[%s]: %s: reading a message: %m", s->id, s->auth_user);
			/* The +OK is out: the only honest end is a cut. */
			stream_end(s);
			s->phase = POP3_PHASE_QUIT;
			conn_abort(s->conn, "read error");
			return false;
		}
		if (n > 0)
			pop3_stuff_feed(&s->stuff, read_chunk, (size_t)n, &s->stream_out);
		bool last = n == 0 || s->stuff.done;
		if (last)
			pop3_stuff_finish(&s->stuff, &s->stream_out);
		conn_write(s->conn, s->stream_out.data, s->stream_out.len);
		s->bytes_sent += s->stream_out.len;
		buf_reset(&s->stream_out);
		if (last) {
			stream_end(s);
			s->phase = POP3_PHASE_COMMANDS;
			return true;
		}
	}
	return false;
}

static void start(struct pop3_session *s, struct pop3_command *cmd, bool top)
{
	uint32_t num = cmd->msg;
	struct pop3_msg *m = pop3_maildrop_msg(s, num);
	if (m == NULL)
		return;
	int fd;
	if (store_msg_open(s->mb, m->uid, s->names.data + m->name_ofs, &fd) < 0) {
		if (store_user_error(s->store) == STORE_ERR_EXPUNGED) {
			pop3_err(s, "Message %" PRIu32 " was removed by another session.", num);
		} else {
			log_error("pop3[%s]: %s: %s", s->id, s->auth_user,
				  store_user_error_text(s->store));
			pop3_err(s, "[SYS/TEMP] Cannot read message %" PRIu32 ".", num);
		}
		return;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (top) {
		pop3_ok(s, "Top of message %" PRIu32 " follows.", num);
	} else {
		m->retrieved = true;
		s->n_retr++;
		pop3_ok(s, "%" PRIu64 " octets", m->size);
	}
	s->stream_fd = fd;
	pop3_stuff_init(&s->stuff, top, cmd->lines);
	s->phase = POP3_PHASE_STREAM;
	/* Whether done now or later, the input loop goes on by itself:
	 * pop3_session_input's loop now, pop3_stream_drain later. */
	(void)pump(s);
}

void pop3_cmd_retr(struct pop3_session *s, struct pop3_command *cmd)
{
	start(s, cmd, false);
}

void pop3_cmd_top(struct pop3_session *s, struct pop3_command *cmd)
{
	start(s, cmd, true);
}

void pop3_stream_drain(struct pop3_session *s)
{
	s->stream_progress = true;
	if (pump(s))
		pop3_session_input(s);	/* pipelined commands */
}

void pop3_stream_free(struct pop3_session *s)
{
	stream_end(s);
}
