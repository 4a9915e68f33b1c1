"""IMAP sessions over STARTTLS and implicit TLS with Python's imaplib:
greeting and capabilities, LOGINDISABLED before TLS, LOGIN and
AUTHENTICATE (PLAIN with and without SASL-IR, LOGIN), failures, ID,
NAMESPACE, ENABLE, NOOP, bad syntax, COMPRESS=DEFLATE, QUOTA, LOGOUT."""
import base64
import imaplib
import socket
import ssl
import zlib

import pytest

ALICE = "alice@example.test"


def tls_ctx(server):
    ctx = ssl.create_default_context(cafile=server.cert)
    ctx.check_hostname = False
    return ctx


def imap_starttls(server):
    m = imaplib.IMAP4(server.host, server.ports["imap"])
    m.starttls(ssl_context=tls_ctx(server))
    return m


def imaps(server):
    return imaplib.IMAP4_SSL(server.host, server.ports["imaps"], ssl_context=tls_ctx(server))


class Raw:
    """A line client over TLS for replies imaplib hides."""

    def __init__(self, server, implicit=True):
        sock = socket.create_connection((server.host, server.ports["imaps" if implicit else "imap"]),
                                        timeout=10)
        self.sock = tls_ctx(server).wrap_socket(sock) if implicit else sock
        self.buf = b""
        self.greeting = self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def until(self, tag):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag.encode() + b" "):
                return lines

    def close(self):
        self.sock.close()


def test_greeting_and_logindisabled(server):
    m = imaplib.IMAP4(server.host, server.ports["imap"])
    caps = m.capabilities
    assert "IMAP4REV1" in caps and "IMAP4REV2" in caps
    assert "STARTTLS" in caps and "LOGINDISABLED" in caps
    assert not any(c.startswith("AUTH=") for c in caps)
    with pytest.raises(imaplib.IMAP4.error):
        m.login(ALICE, "alice-pw")
    m.starttls(ssl_context=tls_ctx(server))
    caps = m.capabilities
    assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps
    assert "AUTH=PLAIN" in caps and "AUTH=LOGIN" in caps
    typ, data = m.login(ALICE, "alice-pw")
    assert typ == "OK" and b"[CAPABILITY " in data[0]
    typ, data = m.capability()
    caps = data[0].split()
    for cap in (b"IDLE", b"UIDPLUS", b"MOVE", b"CONDSTORE", b"QRESYNC", b"ESEARCH", b"SORT",
                b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT", b"SPECIAL-USE", b"LIST-STATUS",
                b"LIST-EXTENDED", b"UTF8=ACCEPT", b"STATUS=SIZE", b"SAVEDATE", b"OBJECTID",
                b"COMPRESS=DEFLATE", b"QUOTA", b"NAMESPACE", b"UNSELECT", b"CHILDREN",
                b"LITERAL+", b"ENABLE", b"ID", b"BINARY", b"SASL-IR"):
        assert cap in caps, cap
    assert any(c.startswith(b"APPENDLIMIT=") for c in caps)
    m.logout()


def test_imaps_login_and_failures(server):
    m = imaps(server)
    assert "AUTH=PLAIN" in m.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(ALICE, "wrong")
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("nobody@example.test", "wrong")
    assert m.login(ALICE, "alice-pw")[0] == "OK"
    m.logout()


def test_authenticate_plain_login(server):
    m = imaps(server)
    m.authenticate("PLAIN", lambda _: f"\0{ALICE}\0alice-pw".encode())
    assert m.state == "AUTH"
    m.logout()
    # SASL-IR: the initial response on the command line.
    r = Raw(server)
    ir = base64.b64encode(f"\0{ALICE}\0alice-pw".encode()).decode()
    lines = r.cmd("a1", f"AUTHENTICATE PLAIN {ir}")
    assert lines[-1].startswith(b"a1 OK")
    r.close()
    # LOGIN mechanism, with challenges; and an aborted exchange.
    r = Raw(server)
    r.send("a1 AUTHENTICATE LOGIN\r\n")
    assert r.line().startswith(b"+ ")
    r.send(base64.b64encode(ALICE.encode()) + b"\r\n")
    assert r.line().startswith(b"+ ")
    r.send(base64.b64encode(b"alice-pw") + b"\r\n")
    assert r.until("a1")[-1].startswith(b"a1 OK")
    r.close()
    r = Raw(server)
    r.send("a1 AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send("*\r\n")
    assert r.until("a1")[-1].startswith(b"a1 BAD")
    assert r.cmd("a2", "NOOP")[-1].startswith(b"a2 OK")
    r.close()


def test_misc_commands(server):
    m = imaps(server)
    m.login(ALICE, "alice-pw")
    typ, data = m.xatom("ID", '("name" "pytest")')
    assert typ == "OK"
    typ, data = m.namespace()
    assert data[0] == b'(("" ".")) NIL NIL'
    typ, data = m._simple_command("ENABLE", "CONDSTORE", "X-UNKNOWN")
    assert typ == "OK"
    assert m.untagged_responses.pop("ENABLED") == [b"CONDSTORE"]
    assert m.noop()[0] == "OK"
    # CHECK is only valid with a mailbox selected.
    with pytest.raises(imaplib.IMAP4.error):
        m.check()
    m.select("INBOX")
    assert m.check()[0] == "OK"
    assert m.unselect()[0] == "OK" if hasattr(m, "unselect") else True
    m.logout()


def test_bad_syntax_keeps_session(server):
    r = Raw(server)
    assert r.greeting.startswith(b"* OK [CAPABILITY ")
    assert r.cmd("a1", "FOO")[-1] == b"a1 BAD Unknown command"
    assert r.cmd("a2", "LOGIN (x")[-1].startswith(b"a2 BAD")
    assert r.cmd("a3", "SELECT INBOX")[-1].startswith(b"a3 BAD")
    r.send("+bad\r\n")
    assert r.line().startswith(b"* BAD")
    assert r.cmd("a4", 'LOGIN "alice@example.test" "alice-pw"')[-1].startswith(b"a4 OK")
    assert r.cmd("a5", "FETCH 1 FLAGS")[-1].startswith(b"a5 BAD")
    assert r.cmd("a6", "NOOP")[-1].startswith(b"a6 OK")
    # A line longer than imap_max_line gets BAD; the session goes on.
    r.send("a7 NOOP " + "x" * 70000 + "\r\n")
    assert r.until("a7")[-1].startswith(b"a7 BAD")
    assert r.cmd("a8", "NOOP")[-1].startswith(b"a8 OK")
    r.close()


def test_too_many_errors_bye(server):
    r = Raw(server)
    for i in range(19):
        assert r.cmd(f"e{i}", "BOGUS")[-1].startswith(b"e")
    r.send("last BOGUS\r\n")
    lines = []
    with pytest.raises(EOFError):
        while True:
            lines.append(r.line())
    assert any(l.startswith(b"* BYE") for l in lines)


def test_literals(server):
    r = Raw(server)
    r.send(b"a1 LOGIN {18}\r\n")
    assert r.line().startswith(b"+")
    r.send(b"alice@example.test {8+}\r\nalice-pw\r\n")
    assert r.until("a1")[-1].startswith(b"a1 OK")
    r.close()


def test_compress_deflate(server):
    r = Raw(server)
    r.cmd("a1", 'LOGIN "alice@example.test" "alice-pw"')
    assert r.cmd("a2", "COMPRESS DEFLATE")[-1] == b"a2 OK DEFLATE active"
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    decomp = zlib.decompressobj(-15)
    r.send(comp.compress(b"a3 SELECT INBOX\r\na4 NOOP\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
    out = b""
    while b"a4 OK" not in out:
        out += decomp.decompress(r.sock.recv(65536))
    assert b"a3 OK [READ-WRITE]" in out
    r.send(comp.compress(b"a5 COMPRESS DEFLATE\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
    while b"a5 " not in out:
        out += decomp.decompress(r.sock.recv(65536))
    assert b"a5 NO [COMPRESSIONACTIVE]" in out
    r.close()


def test_quota(make_server):
    srv = make_server(users=("carol@example.test",))
    srv.cli("user", "quota", "carol@example.test", "10k")
    m = imaps(srv)
    m.login("carol@example.test", "carol-pw")
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    assert data == [[b'"INBOX" ""'], [b'"" (STORAGE 0 10)']]
    assert m.getquota('""')[1] == [b'"" (STORAGE 0 10)']
    msg = b"Subject: x\r\n\r\n" + b"y" * 6000 + b"\r\n"
    assert m.append("INBOX", None, None, msg)[0] == "OK"
    typ, data = m.append("INBOX", None, None, msg)
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    assert m.getquota('""')[1] == [b'"" (STORAGE 6 10)']
    typ, data = m._simple_command("SETQUOTA", '""', "(STORAGE 100)")
    assert typ == "NO"
    m.logout()


def test_connections_per_user(make_server):
    srv = make_server(users=("hal@example.test",),
                      settings={"imap_max_user_connections": "2"})
    first = imaps(srv)
    first.login("hal@example.test", "hal-pw")
    second = imaps(srv)
    second.login("hal@example.test", "hal-pw")
    third = imaps(srv)
    with pytest.raises(imaplib.IMAP4.error, match=r"\[LIMIT\]"):
        third.login("hal@example.test", "hal-pw")
    first.logout()
    # The slot is free again once the first session has gone.
    for _ in range(50):
        try:
            third.login("hal@example.test", "hal-pw")
            break
        except imaplib.IMAP4.error:
            import time
            time.sleep(0.1)
    assert third.state == "AUTH"
    second.logout()
    third.logout()


def test_autologout_before_login(make_server):
    srv = make_server(users=(), settings={"imap_login_timeout": "1s"})
    r = Raw(srv)
    lines = []
    with pytest.raises(EOFError):
        while True:
            lines.append(r.line())
    assert lines and lines[-1].startswith(b"* BYE Autologout")
