"""What the index caches must answer exactly as the files would: FETCH
FLAGS and flag SEARCHes come from each session's view (kept current
across sessions, STORE, FETCH that sets \\Seen, EXPUNGE, keywords);
header SEARCHes and BODY[HEADER.FIELDS] come from the header cache,
filled by APPEND, by the background fill after SMTP delivery, or read
from the file when the header is too long to cache."""
import re
import time

import pytest

USER, PW = "gil@example.test", "gil-pw"


def login(server):
    return server.imaps(USER, PW)


def flags_of(m):
    typ, data = m.fetch("1:*", "(UID FLAGS)")
    assert typ == "OK"
    out = {}
    for item in data:
        line = item.decode() if isinstance(item, bytes) else item[0].decode()
        uid = int(re.search(r"UID (\d+)", line).group(1))
        fl = re.search(r"FLAGS \(([^)]*)\)", line).group(1).split()
        out[uid] = sorted(f for f in fl if f != "\\Recent")
    return out


def uids(m, *criteria):
    typ, data = m.uid("SEARCH", *criteria)
    assert typ == "OK"
    return sorted(int(x) for x in data[0].split())


@pytest.fixture(params=["1", "2"], ids=["one-worker", "two-workers"])
def srv(make_server, request):
    # One worker: the sessions share the index connection, so one's
    # commits are not "another connection's" (a new keyword was missed).
    return make_server(users=(USER,), settings={"workers": request.param})


def test_flags_from_view(srv):
    a, b = login(srv), login(srv)
    for i in range(6):
        a.append("INBOX", "(\\Seen)" if i % 2 else None, None,
                 f"Subject: m{i}\r\nFrom: f{i}@x.test\r\n\r\nbody {i}\r\n".encode())
    a.select("INBOX")
    b.select("INBOX")
    assert flags_of(b) == {1: [], 2: ["\\Seen"], 3: [], 4: ["\\Seen"], 5: [], 6: ["\\Seen"]}
    assert uids(b, "UNSEEN") == [1, 3, 5]
    # Another session's changes, keywords included.
    a.uid("STORE", "1", "+FLAGS", "(\\Flagged $Label1)")
    a.uid("STORE", "2", "-FLAGS", "(\\Seen)")
    b.noop()
    assert flags_of(b)[1] == ["$Label1", "\\Flagged"]
    assert flags_of(b)[2] == []
    assert uids(b, "UNSEEN") == [1, 2, 3, 5]
    assert uids(b, "FLAGGED") == [1]
    assert uids(b, "KEYWORD", "$Label1") == [1]
    # Own changes (caught up without a re-read), then a fetch that sets
    # \Seen.
    b.uid("STORE", "3", "+FLAGS.SILENT", "(\\Deleted \\Answered)")
    assert flags_of(b)[3] == ["\\Answered", "\\Deleted"]
    assert uids(b, "DELETED") == [3]
    assert uids(b, "NOT", "DELETED", "UNSEEN") == [1, 2, 5]
    b.uid("FETCH", "5", "(BODY[TEXT])")
    assert flags_of(b)[5] == ["\\Seen"]
    assert uids(b, "UNSEEN") == [1, 2, 3]
    # Seen from the other side too.
    a.noop()
    assert flags_of(a)[5] == ["\\Seen"]
    assert uids(a, "OR", "DELETED", "FLAGGED") == [1, 3]
    # Expunge in one session; the numbers move in the other.
    b.expunge()
    a.noop()
    assert sorted(flags_of(a)) == [1, 2, 4, 5, 6]
    typ, data = a.search(None, "UNSEEN")
    assert data[0].split() == [b"1", b"2"]
    assert uids(a, "1:3") == [1, 2, 4]
    a.logout()
    b.logout()


def test_header_cache(srv):
    m = login(srv)
    long_hdr = "".join(f"X-Fill-{i}: {'y' * 70}\r\n" for i in range(4000))
    msgs = [
        "Subject: =?UTF-8?Q?caf=C3=A9?= plans\r\nFrom: Ann <ann@x.test>\r\n"
        "To: bob@x.test\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n",
        # over the cache's limit: the file answers
        long_hdr + "Subject: long one\r\nFrom: zed@x.test\r\n\r\nbody\r\n",
        "subject: lower\r\n\tfolded\r\nCc: cat@x.test\r\nX-Other: plans\r\n\r\nSubject: in body\r\n",
    ]
    for msg in msgs:
        assert m.append("INBOX", None, None, msg.encode())[0] == "OK"
    # A delivered message has no cache until the fill (or a read) makes it.
    with srv.smtp() as s:
        s.sendmail("x@remote.test", [USER], b"From: dan@remote.test\r\nTo: gil@example.test\r\n"
                   b"Subject: delivered plans\r\n\r\nbody\r\n")
    srv.wait_messages(USER, 4)
    m.select("INBOX")
    for attempt in range(2):
        assert uids(m, "SUBJECT", "plans") == [1, 4]
        assert uids(m, "SUBJECT", "long") == [2]
        assert uids(m, "SUBJECT", "folded") == [3]
        assert uids(m, "SUBJECT", "body") == []
        assert uids(m, "FROM", "zed") == [2]
        assert uids(m, "CC", "cat") == [3]
        assert uids(m, "HEADER", "X-Other", "plans") == [3]
        assert uids(m, "SENTON", "1-Jan-2024") == [1]
        typ, data = m.uid("FETCH", "1:4", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        assert bodies == [
            b"Subject: =?UTF-8?Q?caf=C3=A9?= plans\r\nFrom: Ann <ann@x.test>\r\n\r\n",
            b"Subject: long one\r\nFrom: zed@x.test\r\n\r\n",
            b"subject: lower\r\n\tfolded\r\n\r\n",
            b"From: dan@remote.test\r\nSubject: delivered plans\r\n\r\n",
        ]
        # The same with a field the cache does not hold.
        typ, data = m.uid("FETCH", "3", "(BODY.PEEK[HEADER.FIELDS (X-OTHER CC)])")
        assert data[0][1] == b"Cc: cat@x.test\r\nX-Other: plans\r\n\r\n"
        time.sleep(0.5)  # the second round: caches filled meanwhile
    m.logout()


def test_recent_of_own_append(srv):
    """The appending session claims \\Recent in the APPEND's own commit."""
    a, b = login(srv), login(srv)
    a.select("INBOX")
    b.select("INBOX")
    a.append("INBOX", None, None, b"Subject: one\r\n\r\n1\r\n")
    a.noop()
    assert a.untagged_responses.get("RECENT", [b"0"])[-1] == b"1"
    typ, data = a.fetch("1", "(FLAGS)")
    assert b"\\Recent" in data[0]
    b.noop()
    typ, data = b.fetch("1", "(FLAGS)")
    assert b"\\Recent" not in data[0]
    b.append("INBOX", None, None, b"Subject: two\r\n\r\n2\r\n")
    typ, data = b.fetch("2", "(FLAGS)")
    assert b"\\Recent" in data[0]
    a.noop()
    typ, data = a.fetch("1:2", "(FLAGS)")
    assert b"\\Recent" in data[0] and b"\\Recent" not in data[1]
    # Appending elsewhere claims nothing for the selected mailbox.
    a.append("Drafts", None, None, b"Subject: d\r\n\r\nd\r\n")
    a.select("Drafts")
    typ, data = a.fetch("1", "(FLAGS)")
    assert b"\\Recent" in data[0]
    a.logout()
    b.logout()


def test_keywords_survive_reindex(srv):
    """Keywords are in the file names (Dovecot's letters and its
    dovecot-keywords file), so `correu reindex` keeps them."""
    m = login(srv)
    for i in range(3):
        m.append("INBOX", "(\\Seen Work)" if i == 1 else None, None, f"Subject: {i}\r\n\r\n{i}\r\n".encode())
    m.select("INBOX")
    m.uid("STORE", "1", "+FLAGS", "($Label1 Urgent \\Flagged)")
    m.uid("STORE", "2", "+FLAGS", "(Urgent)")
    before = flags_of(m)
    assert before[1] == ["$Label1", "Urgent", "\\Flagged"]
    m.logout()
    r = srv.cli("reindex", USER)
    assert "index rebuilt" in r.stdout
    m = login(srv)
    m.select("INBOX")
    assert flags_of(m) == before
    assert uids(m, "KEYWORD", "Urgent") == [1, 2]
    m.logout()
