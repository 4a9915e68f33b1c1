"""IMAP message commands with imaplib: APPEND (flags, date, literals,
APPENDUID, TOOBIG, TRYCREATE, bare LF), FETCH (every item, sections of
a multipart message, partial, BINARY), STORE, COPY/MOVE (COPYUID),
EXPUNGE, UID EXPUNGE, CLOSE, SEARCH/ESEARCH/SEARCHRES, SORT, THREAD,
and the Maildir files they leave behind."""
import imaplib
import os
import re
import ssl

import pytest

MULTIPART = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9?= report\r\n"
    b"Date: Tue, 2 Jan 2024 10:00:00 +0100\r\n"
    b"Message-ID: <mp1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    b"\r\n"
    b"preamble\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 cr=C3=A8me\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
    b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQF\r\n"
    b"--b1--\r\n"
)


def login(server, user="alice@example.test", password="alice-pw"):
    ctx = ssl.create_default_context(cafile=server.cert)
    ctx.check_hostname = False
    m = imaplib.IMAP4_SSL(server.host, server.ports["imaps"], ssl_context=ctx)
    m.login(user, password)
    return m


@pytest.fixture
def srv(make_server):
    return make_server(users=("erin@example.test",))


@pytest.fixture
def m(srv):
    c = login(srv, "erin@example.test", "erin-pw")
    yield c
    try:
        c.logout()
    except Exception:
        pass


def fetch_dict(data):
    """imaplib FETCH data -> {msn: raw response bytes incl. literals}."""
    out = {}
    cur = None
    for d in data:
        if isinstance(d, tuple):
            head = d[0]
            mm = re.match(rb"(\d+) \(", head)
            if mm:
                cur = int(mm.group(1))
                out[cur] = head + b"{LIT}" + d[1]
            else:
                out[cur] += head + b"{LIT}" + d[1]
        elif d is not None:
            mm = re.match(rb"(\d+) \(", d)
            if mm:
                cur = int(mm.group(1))
                out[cur] = d
            elif cur is not None:
                out[cur] += d
    return out


def test_append(srv, m):
    typ, data = m.append("INBOX", "(\\Seen $Label1)", '"02-Jan-2024 10:00:00 +0100"', MULTIPART)
    assert typ == "OK"
    mm = re.match(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
    assert mm and mm.group(2) == b"1"
    m.select("INBOX")
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE)")
    assert b"FLAGS (\\Seen $Label1" in data[0]
    assert b'INTERNALDATE "02-Jan-2024 10:00:00 +0100"' in data[0]
    assert f"RFC822.SIZE {len(MULTIPART)}".encode() in data[0]
    # Stored as one file with the size and flags in its name (keywords as
    # Dovecot's letters, named in dovecot-keywords), CRLF kept.
    cur = os.path.join(srv.maildir("erin@example.test"), "cur")
    files = os.listdir(cur)
    assert len(files) == 1 and files[0].endswith(":2,Sa") and f",S={len(MULTIPART)}," in files[0]
    with open(os.path.join(srv.maildir("erin@example.test"), "dovecot-keywords")) as f:
        assert f.read() == "0 $Label1\n"
    with open(os.path.join(cur, files[0]), "rb") as f:
        assert f.read() == MULTIPART
    # Bare LF is stored as CRLF.
    typ, data = m.append("INBOX", None, None, b"Subject: lf\n\nline1\nline2\n")
    assert typ == "OK"
    typ, data = m.fetch("2", "(RFC822.SIZE BODY.PEEK[])")
    assert data[0][1] == b"Subject: lf\r\n\r\nline1\r\nline2\r\n"
    typ, data = m.append("NoSuch", None, None, b"Subject: x\r\n\r\nx\r\n")
    assert typ == "NO" and b"TRYCREATE" in data[0]


def test_append_limits(srv, m):
    import socket
    ctx = ssl.create_default_context(cafile=srv.cert)
    ctx.check_hostname = False
    sock = ctx.wrap_socket(socket.create_connection((srv.host, srv.ports["imaps"]), timeout=10))
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b'a1 LOGIN "erin@example.test" "erin-pw"\r\n')
    while not f.readline().startswith(b"a1 "):
        pass
    # Over APPENDLIMIT: refused before the client sends it (no "+").
    sock.sendall(b"a2 APPEND INBOX {60000000}\r\n")
    assert f.readline().startswith(b"a2 NO [TOOBIG]")
    sock.sendall(b"a3 APPEND INBOX {0}\r\n")
    assert f.readline().startswith(b"a3 NO")
    sock.sendall(b"a4 NOOP\r\n")
    assert f.readline().startswith(b"a4 OK")
    # A non-synchronizing literal far over the limit ends the session.
    sock.sendall(b"a5 APPEND INBOX {600000000+}\r\n")
    lines = []
    while True:
        line = f.readline()
        if not line:
            break
        lines.append(line)
    assert lines[0].startswith(b"a5 NO [TOOBIG]") and lines[1].startswith(b"* BYE")
    sock.close()


def test_fetch_items(srv, m):
    m.append("INBOX", None, '"02-Jan-2024 10:00:00 +0100"', MULTIPART)
    m.select("INBOX")
    typ, data = m.fetch("1", "(UID ENVELOPE BODYSTRUCTURE BODY MODSEQ SAVEDATE EMAILID THREADID)")
    r = fetch_dict(data)[1]
    assert b"UID 1" in r
    assert b'"Tue, 2 Jan 2024 10:00:00 +0100" "=?UTF-8?Q?Caf=C3=A9?= report" (("Alice" NIL "alice" "example.test"))' in r
    assert b'"<mp1@example.test>"' in r
    assert b'BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 20 0 NIL NIL NIL NIL)' in r
    assert b'("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" 8 NIL ("attachment" ("filename" "data.bin")) NIL NIL) "mixed" ("boundary" "b1") NIL NIL NIL)' in r
    assert b'BODY (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 20 0)' in r
    assert b"MODSEQ (" in r and b"SAVEDATE \"" in r and b"EMAILID (M" in r
    assert b"THREADID NIL" in r
    # Sections.
    typ, data = m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BINARY.PEEK[1] "
                        "BINARY.PEEK[2] BINARY.SIZE[2] BODY.PEEK[HEADER.FIELDS (SUBJECT)] "
                        "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM TO DATE MESSAGE-ID MIME-VERSION)] "
                        "BODY.PEEK[TEXT]<0.8> BODY.PEEK[]<10.5> BODY.PEEK[3])")
    lits = [d[1] for d in data if isinstance(d, tuple)]
    assert lits[0] == b"Caf=C3=A9 cr=C3=A8me"
    assert lits[1] == b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    assert lits[2] == b"AAECAwQF"
    assert lits[3] == "Café crème".encode()
    assert lits[4] == b"\x00\x01\x02\x03\x04\x05"
    assert lits[5] == b"Subject: =?UTF-8?Q?Caf=C3=A9?= report\r\n\r\n"
    assert lits[6] == b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    assert lits[7] == b"preamble"
    assert lits[8] == MULTIPART[10:15]
    tail = b"".join(d if isinstance(d, bytes) else d[0] for d in data)
    assert b"BINARY.SIZE[2] 6" in tail
    assert b"BODY[TEXT]<0> {8}" in tail and b"BODY[]<10> {5}" in tail
    assert b"BODY[3] NIL" in tail
    # PEEK leaves \Seen alone; BODY[] sets it and reports FLAGS.
    typ, data = m.fetch("1", "FLAGS")
    assert b"\\Seen" not in data[0]
    typ, data = m.fetch("1", "(BODY[HEADER])")
    assert any(b"FLAGS (\\Seen" in (d[0] if isinstance(d, tuple) else d) for d in data if d)
    typ, data = m.fetch("1", "(RFC822.HEADER RFC822.TEXT RFC822 FLAGS)")
    assert typ == "OK" and b"RFC822.HEADER {" in data[0][0]
    typ, data = m.fetch("1", "FAST")
    assert b"RFC822.SIZE" in data[0] and b"INTERNALDATE" in data[0]
    typ, data = m.fetch("1", "FULL")
    assert b"ENVELOPE" in data[0] and b"BODY (" in data[0]
    typ, data = m.uid("FETCH", "1", "(FLAGS)")
    assert data[0].startswith(b"1 (UID 1 FLAGS") or b"UID 1" in data[0]
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("5", "FLAGS")
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("1", "(BODY[1.FOO])")
    assert m.uid("FETCH", "99", "FLAGS") == ("OK", [None])


def test_store_flags(srv, m):
    for i in range(3):
        m.append("INBOX", None, None, f"Subject: s{i}\r\n\r\nx\r\n".encode())
    m.select("INBOX")
    typ, data = m.store("1:2", "+FLAGS", "(\\Flagged \\Answered)")
    assert data == [b"1 (FLAGS (\\Answered \\Flagged \\Recent))", b"2 (FLAGS (\\Answered \\Flagged \\Recent))"]
    typ, data = m.store("2", "-FLAGS.SILENT", "(\\Flagged)")
    assert data == [None]
    typ, data = m.store("3", "FLAGS", "(\\Deleted $Forwarded work)")
    assert b"\\Deleted $Forwarded work" in data[0]
    assert b"work" in m.untagged_responses.get("FLAGS", [b""])[-1]
    typ, data = m.uid("STORE", "3", "+FLAGS", "(\\Seen)")
    assert data[0].startswith(b"3 (UID 3 FLAGS (") or b"UID 3" in data[0]
    cur = os.path.join(srv.maildir("erin@example.test"), "cur")
    suffixes = sorted(f.split(":2,")[1] for f in os.listdir(cur))
    assert suffixes == ["FR", "PSTa", "R"]  # a: "work"
    with pytest.raises(imaplib.IMAP4.error):
        m.store("1", "+FLAGS", "(\\Bogus)")


def test_copy_move_expunge(srv, m):
    for i in range(4):
        m.append("INBOX", None, None, f"Subject: c{i}\r\n\r\nx\r\n".encode())
    m.select("INBOX")
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK"
    mm = re.match(rb"\[COPYUID (\d+) 1:2 1:2\]", data[0])
    assert mm
    typ, data = m.uid("MOVE", "3", "Trash")
    assert typ == "OK"
    assert any(b"[COPYUID " in l and b" 3 1]" in l for l in m.untagged_responses.get("OK", []))
    assert m.untagged_responses.get("EXPUNGE") == [b"3"]
    typ, data = m.copy("1", "NoSuch")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    m.store("1", "+FLAGS", "\\Deleted")
    m.store("2", "+FLAGS", "\\Deleted")
    m.untagged_responses.pop("EXPUNGE", None)
    typ, data = m.uid("EXPUNGE", "2")
    assert typ == "OK" and m.untagged_responses.pop("EXPUNGE") == [b"2"]
    typ, data = m.expunge()
    assert data == [b"1"]
    typ, data = m.status("Archive", "(MESSAGES)")
    assert data[0] == b'"Archive" (MESSAGES 2)'
    typ, data = m.status("Trash", "(MESSAGES)")
    assert data[0] == b'"Trash" (MESSAGES 1)'
    root = srv.maildir("erin@example.test")
    assert len(os.listdir(os.path.join(root, "cur"))) == 1
    assert len(os.listdir(os.path.join(root, ".Archive", "cur"))) == 2
    # CLOSE expunges silently; UNSELECT does not.
    m.store("1", "+FLAGS", "\\Deleted")
    m.close()
    typ, data = m.status("INBOX", "(MESSAGES)")
    assert data[0] == b'"INBOX" (MESSAGES 0)'
    m.select("Archive")
    m.store("1", "+FLAGS", "\\Deleted")
    m.unselect()
    typ, data = m.status("Archive", "(MESSAGES DELETED)")
    assert data[0] == b'"Archive" (MESSAGES 2 DELETED 1)'


def test_search(srv, m):
    msgs = [
        (None, b"From: Ann <ann@example.test>\r\nSubject: Lunch plans\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000\r\n\r\nPizza or sushi?\r\n"),
        ("(\\Seen)", b"From: Ben <ben@example.test>\r\nSubject: Re: Lunch plans\r\nDate: Tue, 2 Jan 2024 09:00:00 +0000\r\n\r\nSushi!\r\n"),
        ("(\\Flagged)", b"From: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.test>\r\nSubject: Budget\r\nDate: Wed, 3 Jan 2024 09:00:00 +0000\r\n\r\n" + b"Zahlen " * 100 + b"\r\n"),
    ]
    for flags, body in msgs:
        m.append("INBOX", flags, None, body)
    m.select("INBOX")
    assert m.search(None, "ALL") == ("OK", [b"1 2 3"])
    assert m.search(None, "UNSEEN") == ("OK", [b"1 3"])
    assert m.search(None, 'SUBJECT "lunch"') == ("OK", [b"1 2"])
    assert m.search("UTF-8", "FROM", '"J\xc3\xb6rg"'.encode("latin-1")) == ("OK", [b"3"])
    assert m.search(None, 'BODY "SUSHI"') == ("OK", [b"1 2"])
    assert m.search(None, "LARGER 300") == ("OK", [b"3"])
    assert m.search(None, "OR FLAGGED SEEN") == ("OK", [b"2 3"])
    assert m.search(None, "NOT SEEN SENTBEFORE 3-Jan-2024") == ("OK", [b"1"])
    assert m.uid("SEARCH", "2:*") == ("OK", [b"2 3"])
    assert m.search(None, "YOUNGER 3600") == ("OK", [b"1 2 3"])
    assert m.search(None, "OLDER 3600") == ("OK", [b""])
    with pytest.raises(imaplib.IMAP4.error):
        m.search(None, "BOGUSKEY")
    typ, data = m.search("KOI8-X-NOPE", "ALL")
    assert typ == "NO" and b"BADCHARSET" in data[0]
    # It lists charsets that work, not only the two every server has.
    listed = re.search(rb"\[BADCHARSET \(([^)]*)\)\]", data[0]).group(1).split()
    assert b"US-ASCII" in listed and b"UTF-8" in listed and b"ISO-8859-1" in listed
    for cs in listed:
        if cs != b"US-ASCII":
            assert m.search(cs.decode(), "ALL")[0] == "OK", cs
    # ESEARCH and SEARCHRES.
    typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "ALL")
    es = m.untagged_responses.pop("ESEARCH")[0]
    assert re.search(rb'\(TAG "[^"]+"\) MIN 1 MAX 3 ALL 1:3 COUNT 3', es)
    typ, data = m._simple_command("UID", "SEARCH", "RETURN", "(SAVE)", "UNSEEN")
    assert "ESEARCH" not in m.untagged_responses
    typ, data = m.fetch("$", "(UID)")
    assert data == [b"1 (UID 1)", b"3 (UID 3)"]
    assert m.search(None, "UID", "$") == ("OK", [b"1 3"])
    typ, data = m._simple_command("SEARCH", "RETURN", "()", "MODSEQ", "1")
    es = m.untagged_responses.pop("ESEARCH")[0]
    assert b"ALL 1:3" in es and b"MODSEQ " in es


def test_sort_thread(srv, m):
    msgs = [
        b"From: Zed <z@example.test>\r\nSubject: Apples\r\nDate: Wed, 3 Jan 2024 09:00:00 +0000\r\nMessage-ID: <a@x>\r\n\r\nx\r\n",
        b"From: Amy <a@example.test>\r\nSubject: Re: Apples\r\nDate: Thu, 4 Jan 2024 09:00:00 +0000\r\nMessage-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nReferences: <a@x>\r\n\r\nxx\r\n",
        b"From: Bob <b@example.test>\r\nSubject: Bananas\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000\r\nMessage-ID: <c@x>\r\n\r\nxxxxxxx\r\n",
        b"From: Cat <c@example.test>\r\nSubject: Re: Re: Apples\r\nDate: Fri, 5 Jan 2024 09:00:00 +0000\r\nMessage-ID: <d@x>\r\nReferences: <a@x> <b@x>\r\n\r\nx\r\n",
        b"From: Dan <d@example.test>\r\nSubject: Fwd: Apples\r\nDate: Sat, 6 Jan 2024 09:00:00 +0000\r\nMessage-ID: <e@x>\r\nReferences: <a@x>\r\n\r\nx\r\n",
    ]
    for body in msgs:
        m.append("INBOX", None, None, body)
    m.select("INBOX")
    assert m.sort("(DATE)", "UTF-8", "ALL") == ("OK", [b"3 1 2 4 5"])
    assert m.sort("(REVERSE DATE)", "UTF-8", "ALL") == ("OK", [b"5 4 2 1 3"])
    assert m.sort("(FROM)", "UTF-8", "ALL") == ("OK", [b"2 3 4 5 1"])
    assert m.sort("(SUBJECT DATE)", "UTF-8", "ALL") == ("OK", [b"1 2 4 5 3"])
    assert m.sort("(SIZE)", "UTF-8", "SUBJECT", "apples")[1][0].split()[-1] == b"2"
    assert m.uid("SORT", "(ARRIVAL)", "UTF-8", "ALL") == ("OK", [b"1 2 3 4 5"])
    typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
    assert data == [b"(3)(1 (2 4)(5))"]
    typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert data == [b"(3)(1 (2)(4)(5))"]


def test_search_many_messages_in_thread(srv, m):
    # Enough messages that header and body keys are searched in a helper
    # thread; files dropped into new/ as a delivery agent would.
    root = srv.maildir("erin@example.test")
    for i in range(700):
        body = f"Subject: note {i}\r\nFrom: x{i % 7}@example.org\r\n\r\nline {i}\r\n"
        if i % 100 == 0:
            body += "the secret phrase\r\n"
        with open(os.path.join(root, "tmp", f"t{i}"), "w") as f:
            f.write(body)
        os.rename(os.path.join(root, "tmp", f"t{i}"), os.path.join(root, "new", f"1700000000.M{i:04d}.h"))
    m.select("INBOX")
    typ, data = m.search(None, 'BODY "SECRET phrase"')
    assert typ == "OK" and data[0].split() == [str(i + 1).encode() for i in range(0, 700, 100)]
    typ, data = m.uid("SEARCH", "FROM", "x3@example.org", "SUBJECT", '"note 3"')
    assert typ == "OK" and data[0].split()[:2] == [b"4", b"32"]
    # Another session works meanwhile and afterwards.
    other = login(srv, "erin@example.test", "erin-pw")
    assert other.noop()[0] == "OK"
    other.logout()
    typ, data = m._simple_command("SEARCH", "RETURN", "(COUNT)", "TEXT", "secret")
    assert m.untagged_responses.pop("ESEARCH")[0].endswith(b"COUNT 7")


def test_big_message_roundtrip(srv, m):
    # Streamed both ways: APPEND's literal goes to the file as it comes,
    # FETCH sends the body in chunks as the socket drains.
    import hashlib
    lines = [f"line {i:07d} ".encode() + bytes(range(33, 127)) for i in range(40000)]
    msg = b"Subject: big\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
    assert len(msg) > 4_000_000
    typ, data = m.append("INBOX", None, None, msg)
    assert typ == "OK"
    m.select("INBOX")
    typ, data = m.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
    assert f"RFC822.SIZE {len(msg)}".encode() in data[0][0]
    assert hashlib.sha256(data[0][1]).digest() == hashlib.sha256(msg).digest()
    typ, data = m.fetch("1", "(BODY.PEEK[]<1000000.300000>)")
    assert data[0][1] == msg[1000000:1300000]
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT]<4000000.999999>)")
    assert data[0][1] == msg[16 + 4000000:]
