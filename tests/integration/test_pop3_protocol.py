"""POP3 (RFC 1939, 2449, 2595, 5034) through real sockets with Python's
poplib over STLS and POP3S and a raw line client: greeting, CAPA,
authentication rules, STAT/LIST/UIDL/TOP/RETR sizes and dot-stuffing,
deletion only at QUIT, the maildrop lock, pipelining, and a large 8-bit
message that must round-trip byte-exact."""
import base64
import hashlib
import hmac
import itertools
import os
import poplib
import socket
import time

import pytest

from conftest import DOMAIN

_ids = itertools.count(1)


def new_user(server):
    """A fresh account per test, so tests do not see each other's mail."""
    addr = f"pop{next(_ids)}-{os.getpid()}@{DOMAIN}"
    server.add_user(addr, "pw-" + addr)
    return addr


def deliver(server, rcpt, messages):
    """Delivers each message (bytes) over SMTP and waits for the files."""
    before = len(server.messages(rcpt))
    with server.smtp() as s:
        for m in messages:
            s.sendmail("sender@remote.example", [rcpt], m)
    got = server.wait_messages(rcpt, before + len(messages))
    assert len(got) == before + len(messages)


def pop3s(server, user=None):
    p = poplib.POP3_SSL(server.host, server.ports["pop3s"], timeout=30,
                        context=server.ssl_context())
    if user:
        p.user(user)
        p.pass_(server.users[user])
    return p


def pop3_stls(server, user=None):
    p = poplib.POP3(server.host, server.ports["pop3"], timeout=30)
    p.stls(server.ssl_context())
    if user:
        p.user(user)
        p.pass_(server.users[user])
    return p


def pop3s_when_free(server, user, timeout=10):
    """Logs in once the previous session of user has ended (the server
    may not have seen a dropped connection yet)."""
    deadline = time.time() + timeout
    while True:
        try:
            return pop3s(server, user)
        except poplib.error_proto as e:
            if b"[IN-USE]" not in e.args[0] or time.time() > deadline:
                raise
            time.sleep(0.05)


def msg(subject, body=b"hello\r\n"):
    return b"From: sender@remote.example\r\nSubject: " + subject.encode() + b"\r\n\r\n" + body


def joined(lines):
    return b"".join(line + b"\r\n" for line in lines)


class Raw:
    """POP3 lines over a plain or TLS socket."""

    def __init__(self, server, kind="pop3", tls=False):
        self.server = server
        s = socket.create_connection((server.host, server.ports[kind]), timeout=15)
        if tls:
            s = server.ssl_context().wrap_socket(s, server_hostname=server.host)
        self.sock = s
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), line
        return line[:-1].decode("utf-8", "replace")

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line body up to the "." line (unstuffed)."""
        out = []
        while True:
            line = self.line()
            if line == ".":
                return out
            out.append(line[1:] if line.startswith(".") else line)

    def starttls(self):
        self.sock = self.server.ssl_context().wrap_socket(self.sock,
                                                          server_hostname=self.server.host)
        self.buf = b""

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


# ---- greeting, capabilities, authentication -----------------------------

def test_greeting_and_capa_before_tls(server):
    c = Raw(server)
    greeting = c.line()
    assert greeting.startswith("+OK") and server.hostname in greeting
    assert c.cmd("CAPA").startswith("+OK")
    caps = c.multi()
    for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS"):
        assert cap in caps, cap
    assert "EXPIRE NEVER" in caps
    assert any(x.startswith("IMPLEMENTATION") for x in caps)
    # No password may cross the wire in clear text.
    assert "USER" not in caps and not any(x.startswith("SASL") for x in caps)
    r = c.cmd("USER alice@" + DOMAIN)
    assert r.startswith("-ERR [AUTH]") and "STLS" in r
    assert c.cmd("PASS alice-pw").startswith("-ERR [AUTH]")
    assert c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice@example.test\0alice-pw").decode()) \
        .startswith("-ERR [AUTH]")
    assert c.cmd("STAT") == "-ERR Not logged in"
    assert c.cmd("RETR 1") == "-ERR Not logged in"
    assert c.cmd("QUIT").startswith("+OK")
    assert c.closed()


def test_capa_after_stls(server):
    p = pop3_stls(server)
    caps = p.capa()
    assert "USER" in caps and "STLS" not in caps
    assert "PLAIN" in caps["SASL"] and "LOGIN" in caps["SASL"]
    with pytest.raises(poplib.error_proto, match="already"):
        p._shortcmd("STLS")
    p.quit()


def test_stls_drops_pipelined_plaintext(server):
    user = new_user(server)
    c = Raw(server)
    c.line()
    # A command injected after STLS in the same packet must not be run
    # as if it came over TLS (RFC 2595 4, CVE-2011-0411 class).
    c.send("STLS\r\nUSER " + user + "\r\n")
    assert c.line().startswith("+OK")
    c.starttls()
    assert c.cmd("PASS " + server.users[user]) == "-ERR No user name given (USER first)."
    assert c.cmd("USER " + user).startswith("+OK")
    assert c.cmd("PASS " + server.users[user]).startswith("+OK")
    assert c.cmd("QUIT").startswith("+OK")


def test_plaintext_allowed_by_configuration(make_server):
    srv = make_server(settings={"auth_allow_plaintext": "yes"})
    p = poplib.POP3(srv.host, srv.ports["pop3"], timeout=30)
    assert "USER" in p.capa()
    user = "alice@" + DOMAIN
    p.user(user)
    assert p.pass_("alice-pw").startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_login_pop3s_and_failures_alike(server):
    user = new_user(server)
    p = pop3s(server)
    p.user(user)
    with pytest.raises(poplib.error_proto) as wrong:
        p.pass_("not-the-password")
    p.user("nobody-here@" + DOMAIN)
    with pytest.raises(poplib.error_proto) as unknown:
        p.pass_("whatever")
    # Same reply for a wrong password and an unknown account.
    assert wrong.value.args[0] == unknown.value.args[0] == b"-ERR [AUTH] Authentication failed."
    # PASS without USER after a failure.
    with pytest.raises(poplib.error_proto, match="USER first"):
        p.pass_(server.users[user])
    p.user(user)
    assert p.pass_(server.users[user]).startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_sasl_plain_and_login(server):
    user = new_user(server)
    pw = server.users[user]
    c = Raw(server, "pop3s", tls=True)
    c.line()
    assert c.cmd("AUTH").startswith("+OK")
    mechs = c.multi()
    assert "PLAIN" in mechs and "LOGIN" in mechs
    # PLAIN with an initial response.
    ir = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()
    assert c.cmd("AUTH PLAIN " + ir).startswith("+OK")
    assert c.cmd("AUTH PLAIN " + ir) == "-ERR Already logged in"
    assert c.cmd("QUIT").startswith("+OK")

    # PLAIN without one: an empty challenge "+ ".
    c = Raw(server, "pop3s", tls=True)
    c.line()
    assert c.cmd("AUTH PLAIN") == "+ "
    assert c.cmd(ir).startswith("+OK")
    c.cmd("QUIT")

    # LOGIN: two challenges.
    c = Raw(server, "pop3s", tls=True)
    c.line()
    r = c.cmd("AUTH LOGIN")
    assert r.startswith("+ ") and base64.b64decode(r[2:]).lower().startswith(b"user")
    r = c.cmd(base64.b64encode(user.encode()).decode())
    assert r.startswith("+ ")
    assert c.cmd(base64.b64encode(b"wrong").decode()) == "-ERR [AUTH] Authentication failed."
    # "*" cancels an exchange.
    assert c.cmd("AUTH LOGIN").startswith("+ ")
    assert c.cmd("*") == "-ERR [AUTH] Authentication aborted."
    assert c.cmd("AUTH NOSUCHMECH").startswith("-ERR [AUTH]")
    assert c.cmd("NOOP") == "-ERR Not logged in"
    c.cmd("QUIT")


def test_sasl_scram_sha256(server):
    """SCRAM-SHA-256 (RFC 7677) with a hand-written client: three
    challenges, the last one carrying the server signature."""
    user = new_user(server)
    pw = server.users[user].encode()
    c = Raw(server, "pop3s", tls=True)
    c.line()
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    r = c.cmd("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
    assert r.startswith("+ ")
    server_first = base64.b64decode(r[2:]).decode()
    attrs = dict(x.split("=", 1) for x in server_first.split(","))
    assert attrs["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", pw, base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    final = f"{without_proof},p={base64.b64encode(proof).decode()}"
    r = c.cmd(base64.b64encode(final.encode()).decode())
    assert r.startswith("+ ")
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest())
    assert base64.b64decode(r[2:]) == b"v=" + expected
    # RFC 5034 4: the client answers the last challenge with an empty line.
    assert c.cmd("").startswith("+OK Logged in")
    assert c.cmd("STAT") == "+OK 0 0"
    c.cmd("QUIT")


def test_auth_throttle_blocks(make_server):
    srv = make_server(settings={"auth_fail_delay_max": "0", "auth_fail_block_after": "3"})
    p = pop3s(srv)
    for _ in range(3):
        p.user("alice@" + DOMAIN)
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            p.pass_("wrong")
    # Blocked now, even with the right password: a temporary error.
    p.user("alice@" + DOMAIN)
    with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\]"):
        p.pass_("alice-pw")
    p.quit()


# ---- the maildrop -----------------------------------------------------------

def test_stat_list_uidl_retr_top(server):
    user = new_user(server)
    bodies = [
        msg("one", b"first line\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n"),
        msg("two", b"x" * 900 + b"\r\n"),
        msg("three", b"a\r\nb\r\nc\r\nd\r\n"),
    ]
    deliver(server, user, bodies)
    files = server.messages(user)
    p = pop3_stls(server, user)
    count, size = p.stat()
    assert count == 3 and size == sum(len(f) for f in files)
    resp, listing, _ = p.list()
    sizes = {int(n): int(s) for n, s in (x.split() for x in listing)}
    assert sorted(sizes) == [1, 2, 3]
    resp, uidls, _ = p.uidl()
    uid_of = dict(x.decode().split() for x in uidls)
    assert len(set(uid_of.values())) == 3
    for n in (1, 2, 3):
        resp, lines, octets = p.retr(n)
        content = joined(lines)
        # LIST and the +OK line give the exact octets RETR sends.
        assert octets == sizes[n] == len(content)
        assert resp == b"+OK %d octets" % sizes[n]
        assert content in files
        assert p.list(n) == b"+OK %d %d" % (n, sizes[n])
        assert p.uidl(n) == b"+OK %d %s" % (n, uid_of[str(n)].encode())
    # RETR 1 unstuffed the leading dots.
    content = joined(p.retr(1)[1])
    assert b"\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n" in content
    # TOP: the header, the empty line, then n body lines.
    resp, lines, _ = p.top(3, 2)
    assert lines[-3:] == [b"", b"a", b"b"]
    resp, lines, _ = p.top(3, 0)
    assert lines[-1] == b"" and b"Subject: three" in lines
    resp, lines, _ = p.top(3, 100)
    assert lines[-4:] == [b"a", b"b", b"c", b"d"]
    p.quit()
    # RETR is reading, not deleting.
    assert len(server.messages(user)) == 3


def test_uidl_stable_across_sessions(server):
    user = new_user(server)
    deliver(server, user, [msg("a"), msg("b")])
    p = pop3s(server, user)
    first = p.uidl()[1]
    p.dele(1)
    p.quit()
    deliver(server, user, [msg("c")])
    p = pop3s(server, user)
    second = p.uidl()[1]
    p.quit()
    # b keeps its UIDL after a's deletion renumbers it to 1; c's is new.
    uid_b = first[1].split()[1]
    assert second[0].split() == [b"1", uid_b]
    assert second[1].split()[1] not in {x.split()[1] for x in first}


def test_deletion_only_at_quit(server):
    user = new_user(server)
    deliver(server, user, [msg("a"), msg("b"), msg("c")])
    p = pop3s(server, user)
    assert p.dele(2).startswith(b"+OK")
    with pytest.raises(poplib.error_proto, match="deleted"):
        p.retr(2)
    with pytest.raises(poplib.error_proto, match="deleted"):
        p.dele(2)
    with pytest.raises(poplib.error_proto, match="deleted"):
        p.list(2)
    count, size = p.stat()
    assert count == 2
    assert [x.split()[0] for x in p.list()[1]] == [b"1", b"3"]
    # A dropped connection deletes nothing.
    p.close()  # no QUIT
    p = pop3s_when_free(server, user)
    assert len(server.messages(user)) == 3
    p.dele(1)
    p.dele(3)
    assert p.rset().startswith(b"+OK")
    assert p.stat()[0] == 3
    p.dele(1)
    assert p.quit() == b"+OK Logging out, 1 messages deleted."
    left = server.messages(user)
    assert len(left) == 2 and not any(b"Subject: a\r\n" in m for m in left)


def test_no_such_message(server):
    user = new_user(server)
    deliver(server, user, [msg("only")])
    p = pop3s(server, user)
    for cmd in ("RETR 0", "RETR 2", "DELE 7", "LIST 4294967295", "TOP 2 1", "UIDL 9"):
        with pytest.raises(poplib.error_proto, match="no message"):
            p._shortcmd(cmd)
    with pytest.raises(poplib.error_proto, match="Invalid message number"):
        p._shortcmd("RETR one")
    with pytest.raises(poplib.error_proto, match="Unknown command"):
        p._shortcmd("XYZZY")
    with pytest.raises(poplib.error_proto, match="Already logged in"):
        p._shortcmd("USER x")
    assert p.noop() == b"+OK"
    p.quit()


def test_maildrop_locked_for_second_session(server):
    user = new_user(server)
    deliver(server, user, [msg("a")])
    first = pop3s(server, user)
    # Try on both workers: the lock is a file lock, across processes.
    for _ in range(4):
        second = pop3s(server)
        second.user(user)
        with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
            second.pass_(server.users[user])
        second.quit()
    first.dele(1)
    first.quit()
    # Released at QUIT (before the +OK): the next session gets in at once.
    again = pop3s(server, user)
    assert again.stat() == (0, 0)
    # ... and when a connection just drops.
    again.close()  # no QUIT
    third = pop3s_when_free(server, user)
    assert third.stat() == (0, 0)
    third.quit()


def test_pipelining(server):
    user = new_user(server)
    deliver(server, user, [msg(f"m{i}", (b"line %d\r\n" % i) * 50) for i in range(5)])
    c = Raw(server, "pop3s", tls=True)
    c.line()
    c.send(f"USER {user}\r\nPASS {server.users[user]}\r\nSTAT\r\n"
           + "".join(f"RETR {i}\r\n" for i in range(1, 6))
           + "LIST\r\nDELE 1\r\nSTAT\r\nQUIT\r\n")
    assert c.line().startswith("+OK")
    assert c.line().startswith("+OK Logged in")
    assert c.line().startswith("+OK 5 ")
    for i in range(1, 6):
        assert c.line().startswith("+OK")
        lines = c.multi()
        assert f"Subject: m{i - 1}" in lines
        assert lines.count(f"line {i - 1}") == 50
    assert c.line() == "+OK"
    assert len(c.multi()) == 5
    assert c.line().startswith("+OK")
    assert c.line().startswith("+OK 4 ")
    assert c.line() == "+OK Logging out, 1 messages deleted."
    assert c.closed()


def test_large_8bit_dotted_message_byte_exact(server):
    user = new_user(server)
    attachment = base64.encodebytes(os.urandom(5 * 1024 * 1024)).replace(b"\n", b"\r\n")
    body = (b"From: sender@remote.example\r\n"
            b"Subject: =?utf-8?q?gro=C3=9F?=\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n"
            + "Grüße, naïve café — ½ €\r\n".encode()
            + b".leading dot\r\n..two dots\r\n.\r\n. space\r\n"
            b"--XX\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + attachment + b"--XX--\r\n")
    with server.smtp() as s:
        s.sendmail("sender@remote.example", [user], body, mail_options=["BODY=8BITMIME"])
    stored = server.wait_messages(user, 1)[0]
    assert stored.endswith(body)
    for connect in (pop3s, pop3_stls):
        p = connect(server, user)
        size = int(p.list(1).split()[2])
        resp, lines, octets = p.retr(1)
        data = joined(lines)
        assert data == stored
        assert octets == size == len(stored)
        p.quit()


def test_many_messages_list(server):
    user = new_user(server)
    deliver(server, user, [msg(f"n{i}", b"body %d\r\n" % i) for i in range(150)])
    p = pop3s(server, user)
    count, size = p.stat()
    assert count == 150
    listing = p.list()[1]
    assert len(listing) == 150 and sum(int(x.split()[1]) for x in listing) == size
    uidls = [x.split()[1] for x in p.uidl()[1]]
    assert len(set(uidls)) == 150
    # Numbering follows arrival (UID) order.
    assert b"Subject: n149" in p.top(150, 0)[1]
    p.quit()
