/* cmd_queue.c — `correu queue list|show|flush|delete|hold|release|run`:
 * inspect and steer the outbound queue. Changes go through the running
 * queue process (control socket) so they never race an attempt; when
 * none runs, hold/release/delete edit the files themselves. `queue run`
 * runs the queue process in the foreground (debugging, tests). Runs as
 * the administrator; reads only correu's own queue files. */
#include "cmd.h"
#include "cfg.h"
#include "log.h"
#include "queue.h"
#include "queue_ctl.h"
#include "queue_env.h"
#include "queue_file.h"
#include "queue_process.h"
#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void)
{
	fprintf(stderr, "usage: correu queue list\n"
		"       correu queue show ID\n"
		"       correu queue flush [ID]\n"
		"       correu queue delete|hold|release ID\n"
		"       correu queue run   (the queue process in the foreground)\n");
	return 2;
}

static void format_age(time_t secs, char *out, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(out, size, "%lds", (long)secs);
	else if (secs < 7200)
		snprintf(out, size, "%ldm", (long)secs / 60);
	else if (secs < 172800)
		snprintf(out, size, "%ldh", (long)secs / 3600);
	else
		snprintf(out, size, "%ldd", (long)secs / 86400);
}

static int queue_list(const struct config *cfg)
{
	struct strv ids;
	strv_init(&ids);
	const char *error;
	if (queue_scan(cfg, &ids, &error) < 0) {
		fprintf(stderr, "correu queue: %s\n", error);
		strv_free(&ids);
		return 1;
	}
	time_t now = time(NULL);
	size_t shown = 0;
	for (size_t i = 0; i < ids.n; i++) {
		struct queue_envelope env;
		if (queue_env_load(cfg, ids.v[i], &env, &error) < 0)
			continue;	/* delivered meanwhile */
		if (shown++ == 0)
			printf("%-24s %10s %6s  %s\n", "ID", "SIZE", "AGE", "SENDER / RECIPIENTS");
		char age[32];
		format_age(now - env.arrival, age, sizeof(age));
		printf("%-24s %10llu %6s  <%s>%s%s\n", env.id, (unsigned long long)env.size, age,
		       env.sender, env.held ? "  (on hold)" : "",
		       env.is_dsn ? "  (notification)" : "");
		for (size_t j = 0; j < env.n_rcpts; j++) {
			const struct queue_rcpt *r = &env.rcpts[j];
			if (r->status != QUEUE_RCPT_PENDING)
				continue;
			printf("%42s<%s>", "", r->address);
			/* A remote server's reply carries its own codes. */
			if (r->last_error != NULL)
				printf("  (%s%s%s)", r->remote_mta == NULL ? r->status_code : "",
				       r->remote_mta == NULL && r->status_code[0] != '\0' ? " " : "",
				       r->last_error);
			printf("\n");
		}
		queue_envelope_free(&env);
	}
	if (shown == 0)
		printf("the queue is empty\n");
	else
		printf("%zu message%s\n", shown, shown == 1 ? "" : "s");
	strv_free(&ids);
	return 0;
}

static void print_time(const char *label, time_t t)
{
	if (t == 0) {
		printf("%s: -\n", label);
		return;
	}
	char buf[64];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s: %s\n", label, buf);
}

static int queue_show(const struct config *cfg, const char *id)
{
	struct queue_envelope env;
	const char *error;
	if (queue_env_load(cfg, id, &env, &error) < 0) {
		fprintf(stderr, "correu queue: %s: %s\n", id, error);
		return 1;
	}
	printf("id: %s\n", env.id);
	print_time("arrival", env.arrival);
	print_time("next attempt", env.next_attempt);
	printf("sender: <%s>\nsize: %llu\nbody: %s%s\n", env.sender,
	       (unsigned long long)env.size,
	       env.body == QUEUE_BODY_8BITMIME ? "8BITMIME" :
	       env.body == QUEUE_BODY_BINARYMIME ? "BINARYMIME" : "7BIT",
	       env.smtputf8 ? " SMTPUTF8" : "");
	if (env.held)
		printf("on hold: yes\n");
	if (env.is_dsn)
		printf("delivery status notification: yes\n");
	if (env.envid != NULL)
		printf("envid: %s\n", env.envid);
	if (env.auth_user != NULL)
		printf("authenticated: %s\n", env.auth_user);
	if (env.client_ip != NULL)
		printf("client: %s (%s)\n", env.client_ip,
		       env.client_helo != NULL ? env.client_helo : "");
	for (size_t i = 0; i < env.n_rcpts; i++) {
		const struct queue_rcpt *r = &env.rcpts[i];
		struct buf notify = BUF_INIT;
		queue_notify_format(r->notify, &notify);
		printf("recipient: <%s> %s, %u attempt%s%s%s%s%s\n", r->address,
		       queue_rcpt_status_name(r->status), r->attempts, r->attempts == 1 ? "" : "s",
		       notify.len > 0 ? ", notify " : "", buf_cstr(&notify),
		       r->orcpt != NULL ? ", orcpt " : "", r->orcpt != NULL ? r->orcpt : "");
		buf_free(&notify);
		if (r->last_error != NULL)
			printf("  last: %s%s%s\n", r->status_code, r->status_code[0] ? " " : "",
			       r->last_error);
		if (r->remote_mta != NULL)
			printf("  host: %s\n", r->remote_mta);
	}
	printf("\n");
	struct buf msg = BUF_INIT;
	int ret = 0;
	if (queue_message_read(cfg, &env, (size_t)env.size, false, &msg, &error) < 0) {
		fprintf(stderr, "correu queue: %s\n", error);
		ret = 1;
	} else {
		fwrite(msg.data, 1, msg.len, stdout);
	}
	buf_free(&msg);
	queue_envelope_free(&env);
	return ret;
}

/* hold/release/delete without a queue process. */
static int offline_op(const struct config *cfg, const char *verb, const char *id)
{
	const char *error;
	if (strcmp(verb, "delete") == 0) {
		struct queue_envelope env;
		if (queue_env_load(cfg, id, &env, &error) < 0) {
			fprintf(stderr, "correu queue: %s: %s\n", id, error);
			return 1;
		}
		queue_envelope_free(&env);
		if (queue_remove(cfg, id, &error) < 0) {
			fprintf(stderr, "correu queue: %s: %s\n", id, error);
			return 1;
		}
		return 0;
	}
	struct queue_envelope env;
	if (queue_env_load(cfg, id, &env, &error) < 0) {
		fprintf(stderr, "correu queue: %s: %s\n", id, error);
		return 1;
	}
	env.held = strcmp(verb, "hold") == 0;
	if (!env.held)
		env.next_attempt = 0;
	int ret = queue_env_save(cfg, &env, true, &error);
	queue_envelope_free(&env);
	if (ret < 0) {
		fprintf(stderr, "correu queue: %s: %s\n", id, error);
		return 1;
	}
	return 0;
}

static int request(const struct config *cfg, const char *verb, const char *id)
{
	char msg[QUEUE_CTL_MAX];
	snprintf(msg, sizeof(msg), "%s%s%s", verb, id != NULL ? " " : "", id != NULL ? id : "");
	char *reply = NULL;
	if (queue_ctl_request(cfg, msg, 30000, &reply) < 0) {
		if (errno == ECONNREFUSED || errno == ENOENT) {
			if (strcmp(verb, "flush") == 0) {
				fprintf(stderr, "correu queue: the queue process is not running "
					"(is `correu serve` running?)\n");
				return 1;
			}
			return offline_op(cfg, verb, id);
		}
		fprintf(stderr, "correu queue: no answer from the queue process: %s\n",
			strerror(errno));
		return 1;
	}
	int ret = 0;
	if (strcmp(reply, "ok") != 0) {
		fprintf(stderr, "correu queue: %s%s%s\n", id != NULL ? id : "",
			id != NULL ? ": " : "",
			strncmp(reply, "error ", 6) == 0 ? reply + 6 : reply);
		ret = 1;
	}
	free(reply);
	return ret;
}

int cmd_queue(const struct cmd_args *a)
{
	if (a->argc < 1)
		return usage();
	const char *verb = a->argv[0];
	const char *id = a->argc > 1 ? a->argv[1] : NULL;
	bool needs_id = strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0 ||
		strcmp(verb, "hold") == 0 || strcmp(verb, "release") == 0;
	bool known = needs_id || strcmp(verb, "list") == 0 || strcmp(verb, "flush") == 0 ||
		strcmp(verb, "run") == 0;
	if (!known || (needs_id && id == NULL) || a->argc > 2 ||
	    ((strcmp(verb, "list") == 0 || strcmp(verb, "run") == 0) && id != NULL))
		return usage();
	if (id != NULL && !queue_id_valid(id)) {
		fprintf(stderr, "correu queue: \"%s\" is not a queue id\n", id);
		return 1;
	}
	struct config *cfg = cmd_load_config(a, strcmp(verb, "run") == 0);
	if (cfg == NULL)
		return 1;
	int ret;
	if (strcmp(verb, "list") == 0)
		ret = queue_list(cfg);
	else if (strcmp(verb, "show") == 0)
		ret = queue_show(cfg, id);
	else if (strcmp(verb, "run") == 0) {
		uid_t uid;
		gid_t gid;
		if (proc_lookup_user(cfg, &uid, &gid) < 0) {
			cfg_free(&cfg);
			return 1;
		}
		proc_drop_privileges(cfg, "queue");
		ret = queue_process_run(cfg, proc_web_uid(), proc_auth_uid());
	}
	else
		ret = request(cfg, verb, id);
	cfg_free(&cfg);
	return ret;
}
