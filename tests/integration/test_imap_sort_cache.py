"""IMAP SORT keys from the index's header cache: SORT and THREAD read the
fields they compare (Date, Subject, From, To, Cc, Message-ID, References,
In-Reply-To) from the cache APPEND and delivery leave in the index and
open no message file (a 100,000-message mailbox sorted by date read
100,000 files every time, over a second on the worker's loop). The order
is the one the headers give, for awkward headers too: encoded words,
folded lines, 8-bit text, groups, junk and missing fields."""
import os

import pytest

USER, PW = "erin@example.test", "erin-pw"

MSGS = [
    # 1: encoded subject and name, upper-case mailbox
    b"From: =?ISO-8859-1?Q?Jos=E9?= <Zed@Example.test>\r\nTo: amy@example.test\r\n"
    b"Subject: =?UTF-8?Q?=C3=89t=C3=A9?= plans\r\nDate: Wed, 3 Jan 2024 09:00:00 +0000\r\n\r\nx\r\n",
    # 2: folded reply subject, no Date, junk From, a group in To
    b"From: undisclosed\r\nTo: team: bob@example.test, al@example.test;\r\nCc: Carl <carl@example.test>\r\n"
    b"Subject: Re: [list]\r\n\tapples\r\n\r\nxx\r\n",
    # 3: raw 8-bit subject, Cc before To alphabetically
    "From: Bob <bob@example.test>\r\nTo: yan@example.test\r\nCc: abe@example.test\r\n"
    "Subject: Ärger\r\nDate: Fri, 5 Jan 2024 09:00:00 +0000\r\n\r\nxxx\r\n".encode(),
    # 4: forwarded, folded Date
    b"From: \"Quoted, Name\" <cat@example.test>\r\nTo: <dan@example.test>\r\n"
    b"Subject: Fwd: bananas\r\nDate: Mon, 1 Jan 2024\r\n 09:00:00 +0000\r\n\r\nxxxx\r\n",
    # 5: no From, no Subject, empty To, an empty address as Cc
    b"To:\r\nCc: <>\r\nDate: Tue, 2 Jan 2024 09:00:00 +0000\r\n\r\nxxxxx\r\n",
]

# What SORT answered before the keys were cached (headers read each time).
EXPECTED = {
    "(DATE)": b"4 5 1 3 2",
    "(REVERSE DATE)": b"2 3 1 5 4",
    "(SUBJECT)": b"5 2 4 3 1",
    "(FROM)": b"5 3 4 2 1",
    "(TO)": b"5 1 2 4 3",
    "(CC)": b"1 4 5 3 2",
    "(SUBJECT REVERSE DATE)": b"5 2 4 3 1",
}


def login(server):
    return server.imaps(USER, PW)


@pytest.fixture
def srv(make_server):
    return make_server(users=(USER,))


def test_sort_from_header_cache(srv):
    m = login(srv)
    for body in MSGS:
        assert m.append("INBOX", None, None, body)[0] == "OK"
    m.select("INBOX")
    assert m.sort("(ARRIVAL)", "UTF-8", "ALL") == ("OK", [b"1 2 3 4 5"])
    assert m.sort("(SIZE)", "UTF-8", "ALL") == ("OK", [b"5 2 3 4 1"])
    for k, want in EXPECTED.items():
        assert m.sort(k, "UTF-8", "ALL") == ("OK", [want]), k
    # Another session (the index, not memory) and a search with SORT.
    other = login(srv)
    other.select("INBOX")
    assert other.uid("SORT", "(DATE)", "UTF-8", "ALL") == ("OK", [b"4 5 1 3 2"])
    assert other.uid("SORT", "(REVERSE DATE)", "UTF-8", "FROM", "example.test") == ("OK", [b"3 1 4"])
    # The cached fields are what SORT uses: a message file rewritten
    # behind the server's back (Maildir files never change) keeps its
    # place, while the file (FETCH of the whole header) shows the new date.
    cur = os.path.join(srv.maildir(USER), "cur")
    for name in os.listdir(cur):
        path = os.path.join(cur, name)
        with open(path, "rb") as f:
            data = f.read()
        if b"Fwd: bananas" in data:
            break
    st = os.stat(path)
    with open(path, "wb") as f:
        f.write(data.replace(b"Mon, 1 Jan 2024\r\n 09:00:00", b"Mon, 8 Jan 2024 09:00:00"))
    os.chown(path, st.st_uid, st.st_gid)
    typ, data = other.uid("FETCH", "4", "(BODY.PEEK[HEADER])")
    assert b"8 Jan 2024" in data[0][1]
    assert other.uid("SORT", "(DATE)", "UTF-8", "ALL") == ("OK", [b"4 5 1 3 2"])
    assert other.uid("SORT", "(REVERSE DATE)", "UTF-8", "ALL") == ("OK", [b"2 3 1 5 4"])
    # New mail is sorted in (and cached) like the rest.
    m.append("INBOX", None, None, b"From: a@example.test\r\nSubject: aardvark\r\n"
             b"Date: Sun, 31 Dec 2023 09:00:00 +0000\r\n\r\nx\r\n")
    m.noop()
    assert m.sort("(DATE)", "UTF-8", "ALL") == ("OK", [b"6 4 5 1 3 2"])
    assert m.sort("(SUBJECT)", "UTF-8", "ALL") == ("OK", [b"5 6 2 4 3 1"])
    other.logout()
    m.logout()
