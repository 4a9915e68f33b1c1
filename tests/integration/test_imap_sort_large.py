"""SORT and THREAD over a mailbox large enough that they run in the
thread pool: the same orders as computed here from the headers, first
with no header cache (messages dropped into new/ by a delivery agent,
read from the files in the helper thread), then from the caches that run
stored, and again after another session renamed files by changing
flags. Small mailboxes (done on the loop) are covered by
test_imap_messages."""
import email.utils
import os
import re

import pytest

USER, PW = "hal@example.test", "hal-pw"
N = 1300


def login(server):
    return server.imaps(USER, PW)


def message(i):
    thread = i // 10  # ten messages per thread, each replying to the previous
    subj = ("Re: " if i % 10 else "") + f"topic {thread % 97:02d}"
    date = email.utils.formatdate(1700000000 + (i * 7919) % 100000, usegmt=True)
    refs = f"References: <m{i - 1}@x>\r\n" if i % 10 else ""
    return (f"From: u{(i * 31) % 50:02d}@example.org\r\nSubject: {subj}\r\nDate: {date}\r\n"
            f"Message-ID: <m{i}@x>\r\n{refs}\r\nbody {i}\r\n")


@pytest.fixture
def srv(make_server):
    return make_server(users=(USER,))


def expected(sort):
    msgs = [message(i) for i in range(N)]
    def field(m, name):
        return re.search(rf"^{name}: (.*)$", m, re.M).group(1)
    def base(s):
        return re.sub(r"^(re: )*", "", s.lower())
    keys = {
        "SUBJECT": lambda i: (base(field(msgs[i], "Subject")), i),
        "DATE": lambda i: (email.utils.parsedate_to_datetime(field(msgs[i], "Date")), i),
        "FROM": lambda i: (field(msgs[i], "From").lower(), i),
    }
    return [str(i + 1).encode() for i in sorted(range(N), key=keys[sort])]


def check(m):
    for key in ("SUBJECT", "DATE", "FROM"):
        typ, data = m.sort(f"({key})", "UTF-8", "ALL")
        assert typ == "OK" and data[0].split() == expected(key), key
    typ, data = m.sort("(REVERSE DATE)", "UTF-8", "SUBJECT", '"topic 05"')
    got = data[0].split()
    assert len(got) == 20 and got == sorted(got, key=lambda x: expected("DATE").index(x),
                                            reverse=True)
    typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
    # Every thread is a chain of ten: "1 2 3 ... 10".
    assert data[0].startswith(b"(")
    chains = re.findall(rb"\((\d+(?: \d+)*)\)", data[0])
    assert len(chains) == N // 10
    for c in chains:
        nums = [int(x) for x in c.split()]
        assert nums == list(range(nums[0], nums[0] + 10))
    typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert typ == "OK" and data[0].count(b"(") >= 97


def test_sort_thread_large(srv):
    root = srv.maildir(USER)
    m = login(srv)
    for i in range(N):
        tmp = os.path.join(root, "tmp", f"t{i}")
        with open(tmp, "w") as f:
            f.write(message(i))
        os.rename(tmp, os.path.join(root, "new", f"1700000000.M{i:05d}.host"))
    m.select("INBOX")
    check(m)  # from the files (or caches the background fill made)
    check(m)  # from the header caches
    # Flags changed by another session rename the files.
    other = login(srv)
    other.select("INBOX")
    other.store("1:*", "+FLAGS", "(\\Seen)")
    other.logout()
    check(m)
    m.logout()
