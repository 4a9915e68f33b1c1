"""IMAP mailbox commands with imaplib: LIST (LIST-EXTENDED, LIST-STATUS,
SPECIAL-USE, CHILDREN), LSUB, CREATE (with USE), DELETE, RENAME
(including INBOX), SUBSCRIBE/UNSUBSCRIBE, STATUS (SIZE, HIGHESTMODSEQ,
MAILBOXID), SELECT/EXAMINE responses, modified UTF-7 and UTF8=ACCEPT
names; and what lands in the Maildir."""
import imaplib
import os
import re
import ssl

import pytest


def login(server, user="alice@example.test", password="alice-pw"):
    ctx = ssl.create_default_context(cafile=server.cert)
    ctx.check_hostname = False
    m = imaplib.IMAP4_SSL(server.host, server.ports["imaps"], ssl_context=ctx)
    m.login(user, password)
    return m


def names(list_data):
    return [l.rsplit(b' "." ', 1)[1].strip(b'"').decode() for l in list_data if l]


@pytest.fixture
def srv(make_server):
    return make_server(users=("dora@example.test",))


def test_default_folders_special_use(srv):
    m = login(srv, "dora@example.test", "dora-pw")
    typ, data = m.list('""', "*")
    assert typ == "OK"
    assert sorted(names(data)) == ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    attrs = {names([l])[0]: l.split(b")")[0] + b")" for l in data}
    assert b"\\Sent" in attrs["Sent"] and b"\\Drafts" in attrs["Drafts"]
    assert b"\\Trash" in attrs["Trash"] and b"\\Junk" in attrs["Junk"]
    assert b"\\Archive" in attrs["Archive"]
    assert b"\\HasNoChildren" in attrs["INBOX"]
    typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
    data = m.untagged_responses.pop("LIST", [])
    assert sorted(names(data)) == ["Archive", "Drafts", "Junk", "Sent", "Trash"]
    # The separator.
    typ, data = m.list('""', '""')
    assert data == [b'(\\Noselect) "." ""']
    # Maildir++ layout on disk.
    root = srv.maildir("dora@example.test")
    for f in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert os.path.isdir(os.path.join(root, "." + f, "cur"))
    m.logout()


def test_create_rename_delete(srv):
    m = login(srv, "dora@example.test", "dora-pw")
    typ, data = m.create("Work.Projects.2024")
    assert typ == "OK" and re.match(rb"\[MAILBOXID \([0-9a-f]{32}\)\]", data[0])
    typ, data = m.create("Work")
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]
    typ, data = m.list('""', "Work*")
    assert names(data) == ["Work", "Work.Projects", "Work.Projects.2024"]
    assert b"\\HasChildren" in data[0]
    typ, data = m.list('""', "%")
    assert "Work" in names(data) and "Work.Projects" not in names(data)
    typ, data = m.list("Work.", "%")
    assert names(data) == ["Work.Projects"]
    assert m.rename("Work", "Job")[0] == "OK"
    typ, data = m.list('""', "Job*")
    assert names(data) == ["Job", "Job.Projects", "Job.Projects.2024"]
    root = srv.maildir("dora@example.test")
    assert os.path.isdir(os.path.join(root, ".Job.Projects.2024", "new"))
    assert not os.path.exists(os.path.join(root, ".Work"))
    typ, data = m.delete("Job")
    assert typ == "NO"
    assert m.delete("Job.Projects.2024")[0] == "OK"
    assert m.delete("Job.Projects")[0] == "OK"
    assert m.delete("Job")[0] == "OK"
    typ, data = m.delete("INBOX")
    assert typ == "NO"
    typ, data = m.delete("NoSuch")
    assert typ == "NO" and b"NONEXISTENT" in data[0]
    typ, data = m.create("bad..name")
    assert typ == "NO"
    # CREATE with USE (RFC 6154).
    assert m._simple_command("CREATE", "Saved", "(USE (\\Archive))")[0] == "OK"
    typ, data = m.list('""', "Saved")
    assert b"\\Archive" in data[0]
    m.logout()


def test_inbox_rename(srv):
    m = login(srv, "dora@example.test", "dora-pw")
    for i in range(3):
        m.append("INBOX", None, None, f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode())
    typ, st = m.status("INBOX", "(UIDVALIDITY UIDNEXT)")
    assert m.rename("INBOX", '"Old Inbox"')[0] == "OK"
    typ, data = m.status('"Old Inbox"', "(MESSAGES)")
    assert data[0] == b'"Old Inbox" (MESSAGES 3)'
    typ, data = m.status("INBOX", "(MESSAGES UIDVALIDITY UIDNEXT)")
    assert b"MESSAGES 0" in data[0]
    # INBOX keeps its UIDVALIDITY and never reuses the UIDs.
    assert data[0].split(b"UIDVALIDITY ")[1].split()[0] == st[0].split(b"UIDVALIDITY ")[1].split()[0]
    m.select('"Old Inbox"')
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert [d[1].strip() for d in data if isinstance(d, tuple)] == [b"Subject: m0", b"Subject: m1", b"Subject: m2"]
    m.logout()


def test_subscriptions(srv):
    m = login(srv, "dora@example.test", "dora-pw")
    m.create("Lists.Go")
    assert m.subscribe("Lists.Go")[0] == "OK"
    typ, data = m.lsub('""', "*")
    assert "Lists.Go" in names(data)
    typ, data = m.lsub('""', "%")
    assert "Lists" in names(data)
    assert b"\\Noselect" in [l for l in data if names([l]) == ["Lists"]][0]
    # LIST (SUBSCRIBED) and RETURN (SUBSCRIBED).
    m._simple_command("LIST", "(SUBSCRIBED)", '""', "*")
    data = m.untagged_responses.pop("LIST", [])
    assert "Lists.Go" in names(data) and "Lists" not in names(data)
    assert all(b"\\Subscribed" in l for l in data)
    m._simple_command("LIST", "(SUBSCRIBED RECURSIVEMATCH)", '""', "%")
    data = m.untagged_responses.pop("LIST", [])
    assert any(b"CHILDINFO" in l and b'"Lists"' in l for l in data)
    m._simple_command("LIST", '""', "Lists*", "RETURN", "(SUBSCRIBED CHILDREN)")
    data = m.untagged_responses.pop("LIST", [])
    assert any(b"\\Subscribed" in l and l.endswith(b'"Lists.Go"') for l in data)
    assert m.unsubscribe("Lists.Go")[0] == "OK"
    typ, data = m.lsub('""', "Lists*")
    assert data == [None]
    # Subscribing to a name that does not exist is allowed.
    assert m.subscribe("Ghost")[0] == "OK"
    typ, data = m.lsub('""', "Ghost")
    assert names(data) == ["Ghost"]
    m._simple_command("LIST", "(SUBSCRIBED)", '""', "Ghost")
    data = m.untagged_responses.pop("LIST", [])
    assert b"\\NonExistent" in data[0]
    m.logout()


def test_status_and_list_status(srv):
    m = login(srv, "dora@example.test", "dora-pw")
    m.append("Drafts", "(\\Seen \\Draft)", None, b"Subject: d\r\n\r\ndraft\r\n")
    m.append("Drafts", None, None, b"Subject: e\r\n\r\nmore\r\n")
    typ, data = m.status("Drafts", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE HIGHESTMODSEQ "
                         "MAILBOXID DELETED RECENT APPENDLIMIT)")
    line = data[0]
    assert b"MESSAGES 2" in line and b"UNSEEN 1" in line and b"UIDNEXT 3" in line
    assert b"SIZE 41" in line and b"DELETED 0" in line and b"MAILBOXID (" in line
    assert b"HIGHESTMODSEQ " in line and b"APPENDLIMIT " in line
    with pytest.raises(imaplib.IMAP4.error, match="Unknown STATUS item"):
        m.status("Drafts", "(BOGUS)")
    m._simple_command("LIST", '""', "Drafts", "RETURN", "(STATUS (MESSAGES UNSEEN))")
    assert m.untagged_responses.pop("STATUS") == [b'"Drafts" (MESSAGES 2 UNSEEN 1)']
    m.logout()


def test_select_examine(srv):
    m = login(srv, "dora@example.test", "dora-pw")
    m.append("INBOX", "(\\Seen)", None, b"Subject: a\r\n\r\na\r\n")
    m.append("INBOX", None, None, b"Subject: b\r\n\r\nb\r\n")
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"2"]
    u = m.untagged_responses
    assert u["FLAGS"][0].startswith(b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft")
    oks = b" ".join(u["OK"])
    assert b"[UIDVALIDITY " in oks and b"[UIDNEXT 3]" in oks and b"[UNSEEN 2]" in oks
    assert b"[PERMANENTFLAGS (" in oks and b"\\*)" in oks
    assert b"[HIGHESTMODSEQ " in oks and b"[MAILBOXID (" in oks
    assert u["RECENT"] == [b"2"]
    # The second session sees no \Recent; EXAMINE is read-only.
    m2 = login(srv, "dora@example.test", "dora-pw")
    typ, data = m2.select("INBOX", readonly=True)
    assert m2.untagged_responses.get("RECENT") == [b"0"]
    assert m2.store("1", "+FLAGS", "\\Flagged")[0] == "NO"
    m2.logout()
    typ, data = m.select("NoSuch")
    assert typ == "NO"
    assert m.state == "AUTH"
    m.logout()


def test_mailbox_names_utf7_and_utf8(srv):
    m = login(srv, "dora@example.test", "dora-pw")
    assert m.create("Entw&APw-rfe")[0] == "OK"
    typ, data = m.list('""', "Entw*")
    assert data == [b'(\\HasNoChildren) "." "Entw&APw-rfe"']
    assert os.path.isdir(os.path.join(srv.maildir("dora@example.test"), ".Entw&APw-rfe", "cur"))
    typ, data = m.create("Bad&Name")
    assert typ == "NO"
    m.logout()
    m = login(srv, "dora@example.test", "dora-pw")
    m._simple_command("ENABLE", "UTF8=ACCEPT")
    typ, data = m.list('""', "Entw*")
    assert data == ['(\\HasNoChildren) "." "Entwürfe"'.encode()]
    assert m._simple_command("CREATE", '"Ärger"'.encode())[0] == "OK"
    m.logout()
    m = login(srv, "dora@example.test", "dora-pw")
    typ, data = m.list('""', "&AMQ-*")
    assert data == [b'(\\HasNoChildren) "." "&AMQ-rger"']
    m.logout()
