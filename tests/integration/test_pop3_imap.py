"""POP3 and IMAP on one maildrop: UIDLs are the IMAP UID and UIDVALIDITY
(checked against the index and, when IMAP is served, against imaplib),
RETR marks messages \\Seen at QUIT, the POP3 lock does not block IMAP,
IMAP sessions see POP3 deletions as expunges, and a message expunged
over IMAP during a POP3 session is refused cleanly."""
import imaplib
import itertools
import os
import poplib
import re
import socket
import sqlite3
import time

import pytest

from conftest import DOMAIN

_ids = itertools.count(1)


def new_user(server):
    addr = f"mix{next(_ids)}-{os.getpid()}@{DOMAIN}"
    server.add_user(addr, "pw-" + addr)
    return addr


def deliver(server, rcpt, subjects):
    before = len(server.messages(rcpt))
    with server.smtp() as s:
        for subj in subjects:
            s.sendmail("sender@remote.example", [rcpt],
                       f"From: sender@remote.example\r\nSubject: {subj}\r\n\r\nbody\r\n".encode())
    assert len(server.wait_messages(rcpt, before + len(subjects))) == before + len(subjects)


def pop3s(server, user):
    p = poplib.POP3_SSL(server.host, server.ports["pop3s"], timeout=30,
                        context=server.ssl_context())
    p.user(user)
    p.pass_(server.users[user])
    return p


def index_rows(server, user):
    """(uidvalidity, [(uid, flags, name)]) of INBOX from the user's index."""
    path = os.path.join(server.maildir(user), "correu-index.sqlite")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        mbid, uidvalidity = db.execute(
            "SELECT id, uidvalidity FROM mailbox WHERE name = 'INBOX'").fetchone()
        rows = db.execute("SELECT uid, flags, name FROM message WHERE mailbox = ? "
                          "ORDER BY uid", (mbid,)).fetchall()
    finally:
        db.close()
    return uidvalidity, rows


def imap_available(server):
    try:
        with socket.create_connection((server.host, server.ports["imaps"]), timeout=2) as s:
            s = server.ssl_context().wrap_socket(s, server_hostname=server.host)
            s.settimeout(2)
            return s.recv(100).startswith(b"* OK")
    except OSError:  # ssl.SSLError included
        return False


def imap(server, user):
    if not imap_available(server):
        pytest.skip("the IMAP service is not served by this build yet")
    m = imaplib.IMAP4_SSL(server.host, server.ports["imaps"], ssl_context=server.ssl_context())
    m.login(user, server.users[user])
    return m


def test_uidl_is_uid_and_uidvalidity_of_the_index(server):
    user = new_user(server)
    deliver(server, user, ["a", "b", "c"])
    p = pop3s(server, user)
    uidls = [x.decode().split() for x in p.uidl()[1]]
    uidvalidity, rows = index_rows(server, user)
    assert [u for _, u in uidls] == ["%08X%08X" % (uid, uidvalidity) for uid, _, _ in rows]
    # The Maildir file names carry the UID too (a rebuild keeps it).
    for uid, _, name in rows:
        assert f",U={uid}" in name
    p.retr(2)
    p.top(3, 0)
    p.quit()
    # RETR (not TOP) set \Seen at QUIT, in the index and the file name.
    _, rows = index_rows(server, user)
    seen = [bool(flags & 1) for _, flags, _ in rows]
    assert seen == [False, True, False]
    assert rows[1][2].endswith(":2,S")
    names = os.listdir(os.path.join(server.maildir(user), "cur"))
    assert rows[1][2] in names


def test_uidl_matches_imap(server):
    user = new_user(server)
    deliver(server, user, ["x", "y"])
    m = imap(server, user)
    typ, data = m.status("INBOX", "(UIDVALIDITY)")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
    m.select("INBOX", readonly=True)
    typ, data = m.fetch("1:*", "(UID)")
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    m.logout()
    p = pop3s(server, user)
    uidls = [x.decode().split()[1] for x in p.uidl()[1]]
    p.quit()
    assert uidls == ["%08X%08X" % (u, uidvalidity) for u in uids]


def test_imap_sees_pop3_deletions_as_expunges(server):
    user = new_user(server)
    deliver(server, user, ["one", "two", "three"])
    m = imap(server, user)
    typ, data = m.select("INBOX")
    assert data[0] == b"3"
    # The POP3 lock does not keep IMAP out, nor IMAP the POP3 session.
    p = pop3s(server, user)
    m2 = imap(server, user)
    m2.logout()
    p.dele(1)
    p.dele(3)
    assert p.quit().startswith(b"+OK Logging out, 2 messages deleted")
    deadline = time.time() + 10
    expunged = []
    while len(expunged) < 2 and time.time() < deadline:
        m.noop()
        expunged += m.untagged_responses.pop("EXPUNGE", [])
        time.sleep(0.1)
    # Sequence numbers as sent: 3 first, then 1 (or 1 then 2).
    assert sorted(expunged) in ([b"1", b"3"], [b"1", b"2"])
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"Subject: two" in data[0][1]
    m.logout()


def test_imap_expunge_during_pop3_session(server):
    user = new_user(server)
    deliver(server, user, ["first", "second"])
    p = pop3s(server, user)
    assert p.stat()[0] == 2
    m = imap(server, user)
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    m.logout()
    # POP3 keeps its numbering; the vanished message is refused cleanly.
    assert p.stat()[0] == 2
    with pytest.raises(poplib.error_proto, match="removed by another session"):
        p.retr(1)
    assert b"Subject: second" in b"\r\n".join(p.retr(2)[1])
    p.dele(1)
    assert p.quit().startswith(b"+OK")
    assert len(server.messages(user)) == 1
