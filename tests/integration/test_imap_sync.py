"""Sessions seeing each other's changes: EXISTS, EXPUNGE and FETCH
FLAGS at the right moments; IDLE woken by SMTP delivery; CONDSTORE
(MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE) and QRESYNC (SELECT, VANISHED);
changes made by another Maildir tool; `correu reindex` keeping UIDs."""
import imaplib
import os
import re
import socket
import ssl
import time

import pytest


def tls_ctx(server):
    ctx = ssl.create_default_context(cafile=server.cert)
    ctx.check_hostname = False
    return ctx


def login(server, user, password):
    m = imaplib.IMAP4_SSL(server.host, server.ports["imaps"], ssl_context=tls_ctx(server))
    m.login(user, password)
    return m


class Raw:
    def __init__(self, server, user, password):
        s = socket.create_connection((server.host, server.ports["imaps"]), timeout=15)
        self.sock = tls_ctx(server).wrap_socket(s)
        self.f = self.sock.makefile("rb")
        self.f.readline()
        self.n = 0
        assert self.cmd(f'LOGIN "{user}" "{password}"')[-1].split()[1] == b"OK"

    def cmd(self, text):
        self.n += 1
        tag = f"t{self.n}"
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError
            lines.append(line.rstrip(b"\r\n"))
            if line.startswith(tag.encode() + b" "):
                return lines

    def readline(self, timeout=10):
        self.sock.settimeout(timeout)
        return self.f.readline().rstrip(b"\r\n")

    def close(self):
        self.sock.close()


@pytest.fixture
def srv(make_server):
    return make_server(users=("fay@example.test",))


USER, PW = "fay@example.test", "fay-pw"


def add(m, n, mailbox="INBOX"):
    for i in range(n):
        m.append(mailbox, None, None, f"Subject: m{i}\r\nMessage-ID: <{i}.{time.time()}@x>\r\n\r\nbody\r\n".encode())


def test_two_sessions(srv):
    a = Raw(srv, USER, PW)
    b = Raw(srv, USER, PW)
    m = login(srv, USER, PW)
    add(m, 3)
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    # a flags and expunges; b hears of it at its next command.
    a.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
    lines = b.cmd("NOOP")
    assert any(re.match(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Deleted", l) for l in lines), lines
    a.cmd("EXPUNGE")
    add(m, 1)
    # No EXPUNGE during FETCH (RFC 9051 7.5.1); it waits for NOOP.
    lines = b.cmd("FETCH 1:3 (FLAGS)")
    assert not any(l.endswith(b" EXPUNGE") for l in lines)
    assert any(b"* 3 FETCH" in l for l in lines)
    # The new message is announced (numbers still count the expunged one).
    assert b"* 4 EXISTS" in lines
    lines = b.cmd("NOOP")
    assert b"* 2 EXPUNGE" in lines
    assert not any(l.endswith(b" EXISTS") for l in lines)
    # UID FETCH may report it at once.
    a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.cmd("EXPUNGE")
    lines = b.cmd("UID FETCH 1:* (FLAGS)")
    assert b"* 1 EXPUNGE" in lines
    a.close()
    b.close()
    m.logout()


def test_idle_smtp_delivery(srv):
    r = Raw(srv, USER, PW)
    r.cmd("SELECT INBOX")
    r.sock.sendall(b"i1 IDLE\r\n")
    assert r.readline().startswith(b"+ ")
    with srv.smtp() as s:
        s.sendmail("someone@example.org", [USER],
                   b"From: someone@example.org\r\nTo: fay@example.test\r\nSubject: ping\r\n\r\nhi\r\n")
    # The delivery reaches the idling client without any command.
    line = r.readline(timeout=10)
    assert line == b"* 1 EXISTS", line
    assert r.readline(timeout=10) == b"* 1 RECENT"
    r.sock.sendall(b"DONE\r\n")
    assert r.readline().startswith(b"i1 OK")
    lines = r.cmd("FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert any(b"Subject: ping" in l for l in lines)
    # IDLE also reports flag changes and expunges from other sessions.
    other = login(srv, USER, PW)
    r.sock.sendall(b"i2 IDLE\r\n")
    assert r.readline().startswith(b"+ ")
    other.select("INBOX")
    other.store("1", "+FLAGS", "\\Flagged")
    assert re.match(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Flagged", r.readline(timeout=10))
    other.store("1", "+FLAGS", "\\Deleted")
    r.readline(timeout=10)
    other.expunge()
    assert r.readline(timeout=10) == b"* 1 EXPUNGE"
    r.sock.sendall(b"DONE\r\n")
    line = r.readline()
    while line.startswith(b"* "):
        line = r.readline()
    assert line.startswith(b"i2 OK")
    r.close()
    other.logout()


def test_condstore(srv):
    m = login(srv, USER, PW)
    add(m, 3)
    r = Raw(srv, USER, PW)
    lines = r.cmd("SELECT INBOX (CONDSTORE)")
    hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", b" ".join(lines)).group(1))
    lines = r.cmd("FETCH 1:* (MODSEQ)")
    modseqs = [int(re.search(rb"MODSEQ \((\d+)\)", l).group(1)) for l in lines if l.startswith(b"* ")]
    assert len(modseqs) == 3 and max(modseqs) <= hms
    lines = r.cmd("STORE 2 +FLAGS (\\Seen)")
    new = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
    assert new > hms
    lines = r.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {hms})")
    assert len([l for l in lines if l.startswith(b"* ")]) == 1 and b"* 2 FETCH" in lines[0]
    lines = r.cmd(f"STORE 1:3 (UNCHANGEDSINCE {hms}) +FLAGS (\\Flagged)")
    assert lines[-1].split()[1] == b"OK" and b"[MODIFIED 2]" in lines[-1]
    lines = r.cmd("SEARCH MODSEQ %d" % (new + 1))
    assert lines[0].startswith(b"* SEARCH 1 3 (MODSEQ ")
    lines = r.cmd("STATUS INBOX (HIGHESTMODSEQ)")
    assert int(re.search(rb"HIGHESTMODSEQ (\d+)", lines[0]).group(1)) > new
    r.close()
    m.logout()


def test_qresync(srv):
    m = login(srv, USER, PW)
    add(m, 5)
    r = Raw(srv, USER, PW)
    r.cmd("ENABLE QRESYNC")
    lines = r.cmd("SELECT INBOX")
    joined = b" ".join(lines)
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", joined).group(1))
    hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", joined).group(1))
    r.cmd("UNSELECT")
    # Another client changes things.
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Seen)")
    m.store("4", "+FLAGS", "(\\Deleted)")
    m.expunge()
    lines = r.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {hms} 1:5))")
    assert b"* VANISHED (EARLIER) 4" in lines
    assert any(re.match(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ", l) for l in lines)
    # Expunges are now VANISHED.
    m.store("1", "+FLAGS", "(\\Deleted)")
    m.expunge()
    lines = r.cmd("NOOP")
    assert b"* VANISHED 1" in lines
    lines = r.cmd(f"UID FETCH 1:5 (FLAGS) (CHANGEDSINCE {hms} VANISHED)")
    assert lines[0] == b"* VANISHED (EARLIER) 1,4"
    # A wrong UIDVALIDITY gets no resync data; selecting again says CLOSED.
    lines = r.cmd(f"SELECT INBOX (QRESYNC (1 {hms}))")
    assert b"* OK [CLOSED] Previous mailbox closed" in lines
    assert not any(b"VANISHED" in l for l in lines)
    r.close()
    m.logout()


def test_maildir_tool_changes(srv):
    m = login(srv, USER, PW)
    add(m, 2)
    m.select("INBOX")
    root = srv.maildir(USER)
    cur = os.path.join(root, "cur")
    names = sorted(os.listdir(cur))
    # Another tool marks the first message seen and deletes the second.
    os.rename(os.path.join(cur, names[0]), os.path.join(cur, names[0].split(":2,")[0] + ":2,S"))
    os.unlink(os.path.join(cur, names[1]))
    # And drops a new one into new/.
    with open(os.path.join(root, "tmp", "ext1"), "wb") as f:
        f.write(b"Subject: external\r\n\r\nx\r\n")
    os.rename(os.path.join(root, "tmp", "ext1"), os.path.join(root, "new", "1700000000.ext1.host"))
    os.utime(cur, ns=(1, 1))
    typ, data = m.noop()
    assert m.untagged_responses.get("EXPUNGE") == [b"2"]
    typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    flat = b" ".join(d[0] if isinstance(d, tuple) else d for d in data if d)
    assert b"UID 1 FLAGS (\\Seen" in flat and b"UID 3" in flat
    assert any(isinstance(d, tuple) and b"external" in d[1] for d in data)
    m.logout()


def test_reindex_keeps_uids(srv):
    m = login(srv, USER, PW)
    add(m, 3)
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Flagged)")
    typ, st = m.status("INBOX", "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ)")
    m.logout()
    r = srv.cli("reindex", USER)
    assert "index rebuilt" in r.stdout
    m = login(srv, USER, PW)
    typ, st2 = m.status("INBOX", "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ)")
    v = lambda s, k: int(re.search(k.encode() + rb" (\d+)", s[0]).group(1))
    assert v(st2, "UIDVALIDITY") == v(st, "UIDVALIDITY")
    assert v(st2, "UIDNEXT") == v(st, "UIDNEXT")
    assert v(st2, "HIGHESTMODSEQ") > v(st, "HIGHESTMODSEQ")
    m.select("INBOX")
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert data[1] == b"2 (UID 2 FLAGS (\\Flagged))"
    m.logout()
    # A deleted index is rebuilt at the next login, with a log line.
    os.unlink(os.path.join(srv.maildir(USER), "correu-index.sqlite"))
    m = login(srv, USER, PW)
    typ, st3 = m.status("INBOX", "(UIDVALIDITY MESSAGES)")
    assert v(st3, "UIDVALIDITY") == v(st, "UIDVALIDITY") and v(st3, "MESSAGES") == 3
    m.logout()
    assert "index missing, rebuilding" in srv.read_log()
