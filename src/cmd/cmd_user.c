/* cmd_user.c — `correu user add|del|passwd|list|quota|enable|disable`:
 * accounts in accounts.db, passwords in auth/passwd.db. Runs as the
 * administrator's command (often root; files it creates go to the
 * configured user). Reads a password from the terminal or stdin. */
#include "cmd.h"
#include "auth_db.h"
#include "auth_passwd.h"
#include "buf.h"
#include "cfg.h"
#include "store_quota.h"
#include "str.h"
#include "xalloc.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr,
		"usage: correu user add ADDRESS [--password-stdin | --hash HASH]\n"
		"       correu user passwd ADDRESS [--password-stdin | --hash HASH]\n"
		"       correu user del ADDRESS\n"
		"       correu user list [-l]           (-l: quota, enabled, bytes used, Maildir)\n"
		"       correu user quota ADDRESS SIZE   (0 or \"none\" = no limit)\n"
		"       correu user enable|disable ADDRESS\n"
		"Without --password-stdin the password is asked twice on a terminal,\n"
		"or read as one line from a pipe. --hash imports an existing hash\n"
		"($y$, $6$, $2b$, $argon2id$, or Dovecot's {SHA512-CRYPT}, {BLF-CRYPT},\n"
		"{ARGON2ID}, {CRYPT}, {SCRAM-SHA-256} forms).\n");
	return 2;
}

/* Reads one line from f without its line ending; -1 at EOF or if too
 * long. */
static int read_line(FILE *f, char **line_r)
{
	struct buf b = BUF_INIT;
	int c;
	while ((c = fgetc(f)) != EOF && c != '\n') {
		if (b.len >= AUTH_PASSWORD_MAX) {
			sodium_memzero(b.data, b.len);
			buf_free(&b);
			return -2;
		}
		buf_append_char(&b, (char)c);
	}
	if (c == EOF && b.len == 0) {
		buf_free(&b);
		return -1;
	}
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	*line_r = buf_steal(&b);
	return 0;
}

static void wipe_free(char **p)
{
	if (*p != NULL) {
		sodium_memzero(*p, strlen(*p));
		x_free(p);
	}
}

/* Prompts with echo off on the terminal. */
static int prompt_password(const char *prompt, char **pw_r)
{
	struct termios old, noecho;
	bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tty) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		noecho.c_lflag |= ECHONL;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
	}
	int ret = read_line(stdin, pw_r);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return ret;
}

static int get_password(bool from_stdin, char **pw_r)
{
	int ret;
	if (from_stdin || !isatty(STDIN_FILENO)) {
		ret = read_line(stdin, pw_r);
	} else {
		char *again = NULL;
		ret = prompt_password("Password: ", pw_r);
		if (ret == 0 && prompt_password("Retype password: ", &again) == 0 &&
		    strcmp(*pw_r, again) != 0) {
			fprintf(stderr, "correu user: passwords do not match\n");
			wipe_free(pw_r);
			wipe_free(&again);
			return -1;
		}
		wipe_free(&again);
	}
	if (ret == -2) {
		fprintf(stderr, "correu user: password longer than %d bytes\n", AUTH_PASSWORD_MAX);
		return -1;
	}
	if (ret < 0) {
		fprintf(stderr, "correu user: no password given\n");
		return -1;
	}
	if ((*pw_r)[0] == '\0') {
		fprintf(stderr, "correu user: empty password refused\n");
		wipe_free(pw_r);
		return -1;
	}
	return 0;
}

struct user_opts {
	const char *address;
	bool password_stdin;
	const char *hash;
	bool long_list;
};

static int parse_opts(int argc, char **argv, struct user_opts *o, int max_positional,
		      const char **extra_r)
{
	int positional = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--password-stdin") == 0) {
			o->password_stdin = true;
		} else if (strcmp(argv[i], "--hash") == 0 && i + 1 < argc) {
			o->hash = argv[++i];
		} else if (strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "--long") == 0) {
			o->long_list = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return -1;
		} else if (positional == 0) {
			o->address = argv[i];
			positional++;
		} else if (positional == 1 && extra_r != NULL) {
			*extra_r = argv[i];
			positional++;
		} else {
			return -1;
		}
	}
	if (o->password_stdin && o->hash != NULL)
		return -1;
	return positional == max_positional ? 0 : -1;
}

/* Sets the password (or imported hash) of address. */
static int set_password(const struct config *cfg, const struct user_opts *o,
			const char *password)
{
	const char *error;
	struct auth_passwd *pw = auth_passwd_open(cfg, true, &error);
	if (pw == NULL) {
		fprintf(stderr, "correu user: %s\n", error);
		return -1;
	}
	int ret = o->hash != NULL ? auth_passwd_set_hash(pw, o->address, o->hash, &error) :
		auth_passwd_set(pw, o->address, password, &error);
	if (ret < 0)
		fprintf(stderr, "correu user: %s: %s\n", o->address, error);
	auth_passwd_close(&pw);
	return ret;
}

static int user_add_or_passwd(const struct config *cfg, struct auth_db *db,
			      const struct user_opts *o, bool add)
{
	const char *error;
	char *password = NULL;
	struct auth_user u;
	int found = auth_db_user_get(db, o->address, &u);
	if (found < 0) {
		fprintf(stderr, "correu user: cannot read the accounts database\n");
		return 1;
	}
	if (found == 1)
		auth_user_free(&u);
	if (!add && found == 0) {
		fprintf(stderr, "correu user passwd: %s: no such user\n", o->address);
		return 1;
	}
	if (add && found == 1) {
		fprintf(stderr, "correu user add: %s: user exists\n", o->address);
		return 1;
	}
	if (o->hash != NULL) {
		if (auth_passwd_check_hash(o->hash, &error) < 0) {
			fprintf(stderr, "correu user: %s\n", error);
			return 1;
		}
	} else if (get_password(o->password_stdin, &password) < 0) {
		return 1;
	}
	int status = 1;
	if (add && auth_db_user_add(db, o->address, &error) < 0) {
		fprintf(stderr, "correu user add: %s: %s\n", o->address, error);
		goto out;
	}
	if (set_password(cfg, o, password) < 0) {
		if (add)
			(void)auth_db_user_del(db, o->address, &error);
		goto out;
	}
	if (add && auth_db_user_get(db, o->address, &u) == 1) {
		printf("added %s (mail in %s)\n", u.address, u.maildir);
		auth_user_free(&u);
	} else if (!add) {
		printf("password of %s changed\n", o->address);
	}
	status = 0;
out:
	wipe_free(&password);
	return status;
}

static int user_del(const struct config *cfg, struct auth_db *db, const char *address)
{
	const char *error;
	struct auth_user u;
	if (auth_db_user_get(db, address, &u) != 1) {
		fprintf(stderr, "correu user del: %s: no such user\n", address);
		return 1;
	}
	if (auth_db_user_del(db, address, &error) < 0) {
		fprintf(stderr, "correu user del: %s: %s\n", address, error);
		auth_user_free(&u);
		return 1;
	}
	/* The account is gone; a stale hash would be harmless but is not
	 * kept either. */
	struct auth_passwd *pw = auth_passwd_open(cfg, true, &error);
	if (pw == NULL || (auth_passwd_del(pw, u.address, &error) < 0 &&
			   strcmp(error, "no password set") != 0))
		fprintf(stderr, "correu user del: %s: password not removed: %s\n", u.address, error);
	auth_passwd_close(&pw);
	printf("deleted %s (its mail stays in %s)\n", u.address, u.maildir);
	auth_user_free(&u);
	return 0;
}

static int user_list(struct auth_db *db, bool long_list)
{
	struct strv users;
	strv_init(&users);
	if (auth_db_user_list(db, &users) < 0) {
		fprintf(stderr, "correu user list: cannot read the accounts database\n");
		strv_free(&users);
		return 1;
	}
	for (size_t i = 0; i < users.n; i++) {
		struct auth_user u;
		if (!long_list || auth_db_user_get(db, users.v[i], &u) != 1) {
			printf("%s\n", users.v[i]);
			continue;
		}
		char quota[32], used[32];
		if (u.quota_bytes == 0)
			snprintf(quota, sizeof(quota), "unlimited");
		else
			snprintf(quota, sizeof(quota), "%llu", (unsigned long long)u.quota_bytes);
		/* The usage as the server counts it (index plus new mail),
		 * read as the Maildir's owner without changing anything. */
		uint64_t bytes = 0;
		const char *error = "cannot switch to the Maildir's owner";
		bool switched;
		int r = cmd_owner_enter(u.maildir, &switched);
		if (r == 0)
			r = store_quota_peek(u.maildir, &bytes, &error);
		cmd_owner_leave(switched);
		if (r < 0) {
			fprintf(stderr, "correu user list: %s: usage: %s\n", u.address, error);
			snprintf(used, sizeof(used), "?");
		} else {
			snprintf(used, sizeof(used), "%llu", (unsigned long long)bytes);
		}
		printf("%s\t%s\t%s\t%s\t%s\n", u.address, quota,
		       u.enabled ? "enabled" : "disabled", used, u.maildir);
		auth_user_free(&u);
	}
	strv_free(&users);
	return 0;
}

static int user_quota(struct auth_db *db, const char *address, const char *size)
{
	uint64_t bytes;
	const char *error;
	if (strcmp(size, "none") == 0 || strcmp(size, "unlimited") == 0)
		bytes = 0;
	else if (str_to_size(size, &bytes) < 0) {
		fprintf(stderr, "correu user quota: bad size \"%s\" (e.g. 500M, 2G, 0)\n", size);
		return 2;
	}
	if (auth_db_user_set_quota(db, address, bytes, &error) < 0) {
		fprintf(stderr, "correu user quota: %s: %s\n", address, error);
		return 1;
	}
	return 0;
}

static int user_enable(struct auth_db *db, const char *address, bool enable)
{
	const char *error;
	if (auth_db_user_set_enabled(db, address, enable, &error) < 0) {
		fprintf(stderr, "correu user %s: %s: %s\n", enable ? "enable" : "disable",
			address, error);
		return 1;
	}
	return 0;
}

int cmd_user(const struct cmd_args *a)
{
	if (a->argc < 1)
		return usage();
	const char *sub = a->argv[0];
	struct user_opts o = { 0 };
	const char *extra = NULL;
	int npos = strcmp(sub, "list") == 0 ? 0 : strcmp(sub, "quota") == 0 ? 2 : 1;
	if (parse_opts(a->argc - 1, a->argv + 1, &o, npos, npos == 2 ? &extra : NULL) < 0)
		return usage();
	bool adding = strcmp(sub, "add") == 0, passwd = strcmp(sub, "passwd") == 0;
	if ((o.password_stdin || o.hash != NULL) && !adding && !passwd)
		return usage();
	if (o.long_list && strcmp(sub, "list") != 0)
		return usage();

	struct config *cfg = cmd_load_config(a, false);
	if (cfg == NULL)
		return 1;
	const char *error;
	struct auth_db *db = auth_db_open(cfg, false, &error);
	if (db == NULL) {
		fprintf(stderr, "correu user: %s\n", error);
		cfg_free(&cfg);
		return 1;
	}
	int status;
	if (adding || passwd)
		status = user_add_or_passwd(cfg, db, &o, adding);
	else if (strcmp(sub, "del") == 0)
		status = user_del(cfg, db, o.address);
	else if (strcmp(sub, "list") == 0)
		status = user_list(db, o.long_list);
	else if (strcmp(sub, "quota") == 0)
		status = user_quota(db, o.address, extra);
	else if (strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0)
		status = user_enable(db, o.address, strcmp(sub, "enable") == 0);
	else
		status = usage();
	auth_db_close(&db);
	cfg_free(&cfg);
	return status;
}
