"""0 means "no limit" for the count limits (docs/configuration.md,
"Limits and 0"): with every one of them 0 the server serves normally
(logins, errors, commands, recipients) instead of refusing everything;
the keys where no limit would be harmful refuse 0 at check-config."""
import imaplib
import socket

from conftest import DOMAIN

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
ZERO = {
    "auth_allow_plaintext": "yes",
    "dns_resolver": "127.0.0.1@9",
    "imap_max_user_connections": "0",
    "imap_max_errors": "0",
    "smtp_max_errors": "0",
    "smtp_max_commands": "0",
    "pop3_max_errors": "0",
    "pop3_max_commands": "0",
    "submission_max_recipients": "0",
    "max_connections": "0",
    "max_connections_per_ip": "0",
    "submission_max_messages_per_hour": "0",
    "auth_fail_block_after": "0",
}


def test_imap_max_user_connections_zero(make_server):
    # It used to refuse every login with NO [LIMIT].
    srv = make_server(settings={"auth_allow_plaintext": "yes",
                                "imap_max_user_connections": "0"})
    sessions = []
    for _ in range(3):
        m = imaplib.IMAP4(srv.host, srv.ports["imap"])
        assert m.login(ALICE, "alice-pw")[0] == "OK"
        sessions.append(m)
    for m in sessions:
        m.logout()


def test_zero_is_no_limit(make_server):
    srv = make_server(users=(ALICE, BOB), settings=ZERO)

    # IMAP: many sessions of one account, many BADs, and the session
    # lives past its first command (imap_max_errors 0 once closed it).
    sessions = []
    for _ in range(4):
        m = imaplib.IMAP4(srv.host, srv.ports["imap"])
        m.login(ALICE, "alice-pw")
        sessions.append(m)
    m = sessions[0]
    for _ in range(30):
        try:
            m._simple_command("NOOP", "bogus")
            raise AssertionError("NOOP with an argument accepted")
        except imaplib.IMAP4.error as e:
            assert "BAD" in str(e)
    assert m.noop()[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    for s in sessions:
        s.logout()

    # SMTP: errors and commands without end.
    c = srv.raw()
    assert c.reply()[0] == 220
    for _ in range(30):
        assert c.cmd("BOGUS")[0] == 500
    for _ in range(30):
        assert c.cmd("NOOP")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()

    # Submission: recipients bounded only by smtp_max_recipients.
    with srv.smtp("submission") as s:
        s.login(ALICE, "alice-pw")
        s.mail(ALICE)
        for _ in range(5):
            assert s.rcpt(BOB)[0] == 250
        s.rset()

    # POP3: errors and commands without end.
    sock = socket.create_connection((srv.host, srv.ports["pop3"]), timeout=15)
    f = sock.makefile("rwb")
    assert f.readline().startswith(b"+OK")
    for _ in range(30):
        f.write(b"BOGUS\r\n")
        f.flush()
        assert f.readline().startswith(b"-ERR Unknown")
    for _ in range(30):
        f.write(b"NOOP\r\n")
        f.flush()
        assert f.readline().startswith(b"-ERR")   # NOOP needs a login
    f.write(b"QUIT\r\n")
    f.flush()
    assert f.readline().startswith(b"+OK")
    sock.close()

    # The webmail's HTTPS listener (it refused every connection).
    assert srv.web_login(ALICE, "alice-pw") == 200


def test_zero_refused_where_no_limit_is_harmful(make_server):
    srv = make_server(start=False)
    for key in ("imap_max_line", "smtp_out_dest_concurrency", "smtp_out_max_connections",
                "smtp_max_recipients", "message_size_limit"):
        with open(srv.conf) as f:
            orig = f.read()
        with open(srv.conf, "a") as f:
            f.write(f"{key} = 0\n")
        r = srv.cli("check-config", check=False)
        assert r.returncode != 0 and key in r.stderr, (key, r.stderr)
        with open(srv.conf, "w") as f:
            f.write(orig)
    assert srv.cli("check-config").returncode == 0
