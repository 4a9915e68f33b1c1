"""A Maildir that Dovecot wrote, taken over by correu: the real Dovecot
(Debian's dovecot-imapd, its imap binary run pre-authenticated on a
pipe, no network) APPENDs, flags, expunges and subscribes; then correu
serves the same Maildir, built by `correu reindex` or at the first
login. Checked with imaplib and poplib: UIDVALIDITY and UIDs are
Dovecot's, flags and keywords kept, every byte served is what Dovecot
served (CRLF line ends although Dovecot stored LF), RFC822.SIZE, partial
fetches, BINARY, BODYSTRUCTURE (equal to the same message APPENDed to
correu), SEARCH LARGER/SMALLER/BODY, SORT SIZE, STATUS SIZE, QUOTA,
POP3 LIST/RETR/UIDL (stable across restarts and reindexes), Dovecot's
subscriptions, folder names and special uses by name. Files dropped in
by other tools while correu runs are made CRLF too. A new account whose
first message came by SMTP has the five special-use folders."""
import base64
import imaplib
import os
import poplib
import pwd
import re
import shutil
import sqlite3
import tempfile
import time

import pytest

DOVECOT_IMAP = "/usr/lib/dovecot/imap"

pytestmark = pytest.mark.skipif(not os.path.exists(DOVECOT_IMAP),
                                reason="Dovecot (dovecot-imapd) is not installed")

CRLF_RE = re.compile(rb"(?<!\r)\n")
ATTACHMENT = bytes(range(256)) * 3


def message(subject, body_lines, msgid):
    """A message as a client sends it (CRLF)."""
    head = (f"From: Ann <ann@example.test>\r\nTo: bob@example.test\r\n"
            f"Subject: {subject}\r\nDate: Tue, 3 Nov 2026 10:00:00 +0100\r\n"
            f"Message-ID: <{msgid}@example.test>\r\n")
    return (head + "\r\n" + "".join(line + "\r\n" for line in body_lines)).encode()


def multipart(msgid):
    b64 = base64.encodebytes(ATTACHMENT).decode().replace("\n", "\r\n")
    return (f"From: ann@example.test\r\nTo: bob@example.test\r\nSubject: with a file\r\n"
            f"Message-ID: <{msgid}@example.test>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"BOUND\"\r\n\r\n"
            f"preamble\r\n--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"first line\r\nsecond line\r\n\r\nthird after a blank\r\n"
            f"--BOUND\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename=\"x.bin\"\r\n\r\n"
            f"{b64}--BOUND--\r\n").encode()


MSGS = {
    1: (message("plain", ["line one", "line two", ".dot line", "", "end"], "m1"),
        r"(\Seen $Label1 foo)"),
    2: (multipart("m2"), None),
    3: (message("to be expunged", ["gone"], "m3"), None),
    4: (message("long", [f"line {i:03} " + "x" * 50 for i in range(60)], "m4"), r"(\Flagged)"),
}


class DovecotSession:
    """Dovecot's imap binary, pre-authenticated, on a pipe; writes the
    Maildir as the Maildir's owner."""

    def __init__(self, maildir):
        self.dir = tempfile.mkdtemp(prefix="dovecot-test-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d))
        pw = pwd.getpwnam("correu")
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(f"""mail_location = maildir:{maildir}
log_path = {self.dir}/dovecot.log
base_dir = {self.dir}/run
state_dir = {self.dir}/state
mail_uid = {pw.pw_uid}
mail_gid = {pw.pw_gid}
first_valid_uid = 0
first_valid_gid = 0
namespace inbox {{
  inbox = yes
  separator = .
}}
""")
        self.imap = imaplib.IMAP4_stream(
            f"env -i USER=dovecot-user HOME={self.dir} {DOVECOT_IMAP} -c {conf}")

    def close(self):
        try:
            self.imap.logout()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def uid_of(resp):
    return int(re.search(rb"APPENDUID \d+ (\d+)", resp[0]).group(1))


def fetch_map(m, items, uids="1:*"):
    """{uid: {item: value}} from UID FETCH (literals for BODY/BINARY)."""
    typ, data = m.uid("FETCH", uids, items)
    assert typ == "OK", data
    out = {}
    e = None
    for d in data:
        head = d[0] if isinstance(d, tuple) else d
        mm = re.search(rb"^\d+ \(.*UID (\d+)", head or b"")
        if mm is None:
            if e is not None and head:
                e["raw"] += head	# what followed a literal
            continue
        e = out.setdefault(int(mm.group(1)), {"raw": b""})
        e["raw"] += head
        if isinstance(d, tuple):
            e["literal"] = d[1]
    for e in out.values():
        mm = re.search(rb"RFC822.SIZE (\d+)", e["raw"])
        if mm:
            e["size"] = int(mm.group(1))
        mm = re.search(rb"FLAGS \(([^)]*)\)", e["raw"])
        if mm:
            e["flags"] = set(mm.group(1).split()) - {b"\\Recent"}
    return out


def status(m, mailbox, items="(UIDVALIDITY UIDNEXT MESSAGES SIZE)"):
    typ, data = m.status(mailbox, items)
    assert typ == "OK", data
    return {k.decode(): int(v) for k, v in re.findall(rb"([A-Z]+) (\d+)", data[0])}


def make_dovecot_maildir(maildir):
    """Fills maildir through Dovecot; returns what Dovecot answered."""
    pw = pwd.getpwnam("correu")
    os.makedirs(maildir, exist_ok=True)
    for p in (maildir, os.path.dirname(maildir)):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    dv = DovecotSession(maildir)
    m = dv.imap
    try:
        for name in ("Sent", "Spam", "\"Deleted Messages\"", "A.B", "&AOk-t&AOk-"):
            assert m.create(name)[0] == "OK"
        for name in ("Sent", "A.B", "&AOk-t&AOk-"):
            assert m.subscribe(name)[0] == "OK"
        uids = {}
        for k, (data, flags) in MSGS.items():
            typ, resp = m.append("INBOX", flags, None, data)
            assert typ == "OK", resp
            uids[k] = uid_of(resp)
        assert m.append("Sent", r"(\Seen)", None, message("sent", ["hello"], "s1"))[0] == "OK"
        assert m.append("A.B", None, None, message("nested", ["deep"], "n1"))[0] == "OK"
        assert m.append("&AOk-t&AOk-", None, None, message("summer", ["sun"], "e1"))[0] == "OK"
        m.select("INBOX")
        m.uid("STORE", str(uids[4]), "+FLAGS", "(bar)")
        m.uid("STORE", str(uids[3]), "+FLAGS", r"(\Deleted)")
        m.expunge()
        seen = {
            "uids": uids,
            "status": {n: status(m, n) for n in ("INBOX", "Sent", "A.B", "&AOk-t&AOk-")},
            "msgs": fetch_map(m, "(UID FLAGS RFC822.SIZE BODY.PEEK[])"),
        }
        m.unselect()
    finally:
        dv.close()
    # Dovecot really stored LF, with ,S=,W= names and its control files.
    cur = os.path.join(maildir, "cur")
    names = os.listdir(cur)
    assert names and all(",S=" in n and ",W=" in n for n in names)
    with open(os.path.join(cur, names[0]), "rb") as f:
        assert b"\r\n" not in f.read()
    for f in ("dovecot-uidlist", "dovecot-keywords", "subscriptions"):
        assert os.path.exists(os.path.join(maildir, f)), f
    return seen


def drop(maildir, sub, name, data, mtime, folder=None):
    """A file delivered the Maildir way (tmp/, then rename) by another tool."""
    root = maildir if folder is None else os.path.join(maildir, "." + folder)
    tmp = os.path.join(root, "tmp", name.split(":")[0])
    with open(tmp, "wb") as f:
        f.write(data)
    os.utime(tmp, (mtime, mtime))
    pw = pwd.getpwnam("correu")
    os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.rename(tmp, os.path.join(root, sub, name))


def imaps(srv, user):
    m = imaplib.IMAP4_SSL(srv.host, srv.ports["imaps"], ssl_context=srv.ssl_context())
    m.login(user, srv.users[user])
    return m


def pop3s(srv, user):
    p = poplib.POP3_SSL(srv.host, srv.ports["pop3s"], timeout=30, context=srv.ssl_context())
    p.user(user)
    p.pass_(srv.users[user])
    return p


def pop3_view(srv, user):
    """{uidl: (LIST size, RETR octets, content)} of the maildrop."""
    p = pop3s(srv, user)
    try:
        sizes = {int(n): int(s) for n, s in (x.split() for x in p.list()[1])}
        uidls = {int(n): u.decode() for n, u in (x.split() for x in p.uidl()[1])}
        out = {}
        for n, size in sizes.items():
            resp, lines, octets = p.retr(n)
            m = re.match(rb"\+OK (\d+) octets", resp)
            content = b"".join(line + b"\r\n" for line in lines)
            out[uidls[n]] = (size, int(m.group(1)) if m else None, content)
        return out
    finally:
        p.quit()


def special_list(m):
    """{name: set of attributes} from LIST RETURN (SPECIAL-USE SUBSCRIBED)."""
    typ, data = m.list('""', '"*" RETURN (SPECIAL-USE SUBSCRIBED)')
    assert typ == "OK", data
    out = {}
    for d in data:
        mm = re.match(rb'\(([^)]*)\) "\." (.*)', d)
        name = mm.group(2).strip(b'"').decode()
        out[name] = set(mm.group(1).decode().split())
    return out


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A server with two accounts holding the same Dovecot Maildir: one
    indexed by `correu reindex`, one left for its first login."""
    from conftest import Server
    srv = Server()
    users = ("mig@example.test", "auto@example.test")
    for u in users:
        srv.add_user(u, u.split("@")[0] + "-pw")
    src = srv.maildir(users[0])
    seen = make_dovecot_maildir(src)
    # An MDA (procmail, say) delivered one more while Dovecot was away:
    # not in dovecot-uidlist, LF, no size fields.
    extra = message("by procmail", ["delivered", "later"], "p1").replace(b"\r\n", b"\n")
    drop(src, "new", "1790000000.4242_1.mda.host", extra, 1790000000)
    shutil.copytree(src, srv.maildir(users[1]), symlinks=True, copy_function=shutil.copy2)
    pw = pwd.getpwnam("correu")
    for dirpath, dirnames, filenames in os.walk(os.path.dirname(srv.maildir(users[1]))):
        for n in [dirpath] + [os.path.join(dirpath, f) for f in dirnames + filenames]:
            os.chown(n, pw.pw_uid, pw.pw_gid)
    r = srv.cli("reindex", users[0])
    assert "index rebuilt" in r.stdout
    srv.start()
    yield srv, users, seen, extra
    srv.cleanup()


def test_uids_flags_and_bytes_are_dovecots(migrated):
    srv, users, seen, extra = migrated
    for user in users:
        m = imaps(srv, user)
        try:
            for mbox, st in seen["status"].items():
                mine = status(m, mbox)
                assert mine["UIDVALIDITY"] == st["UIDVALIDITY"], (user, mbox)
                if mbox != "INBOX":
                    assert mine["UIDNEXT"] == st["UIDNEXT"], (user, mbox)
                    assert mine["MESSAGES"] == st["MESSAGES"]
                    assert mine["SIZE"] == st["SIZE"], (user, mbox)
            # INBOX: Dovecot's messages under its UIDs, then the MDA's
            # file at Dovecot's UIDNEXT.
            inbox = seen["status"]["INBOX"]
            mine = status(m, "INBOX")
            assert mine["UIDNEXT"] == inbox["UIDNEXT"] + 1
            m.select("INBOX")
            got = fetch_map(m, "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
            dove = seen["msgs"]
            assert sorted(got) == sorted(dove) + [inbox["UIDNEXT"]]
            assert seen["uids"][3] not in got
            for uid, d in dove.items():
                g = got[uid]
                assert g["flags"] == d["flags"], (user, uid)
                assert g["literal"] == d["literal"], (user, uid)
                assert g["size"] == d["size"] == len(d["literal"])
            assert {b"\\Seen", b"$Label1", b"foo"} <= got[seen["uids"][1]]["flags"]
            assert {b"\\Flagged", b"bar"} <= got[seen["uids"][4]]["flags"]
            new = got[inbox["UIDNEXT"]]
            assert new["literal"] == extra.replace(b"\n", b"\r\n")
            assert new["size"] == len(new["literal"])
            for g in got.values():
                assert not CRLF_RE.search(g["literal"])
            assert mine["SIZE"] == sum(g["size"] for g in got.values())
            # INTERNALDATE of the MDA's file is its modification time.
            typ, data = m.uid("FETCH", str(inbox["UIDNEXT"]), "(INTERNALDATE)")
            assert imaplib.Internaldate2tuple(data[0])[:6] == time.localtime(1790000000)[:6]
        finally:
            m.logout()


def test_sections_partials_and_structure(migrated):
    srv, users, seen, extra = migrated
    m = imaps(srv, users[0])
    try:
        m.select("INBOX")
        u1, u2, u4 = seen["uids"][1], seen["uids"][2], seen["uids"][4]
        full = {u: fetch_map(m, "(UID BODY.PEEK[])", str(u))[u]["literal"] for u in (u1, u2, u4)}
        # Partial fetches are ranges of the CRLF bytes.
        for start, n in ((0, 10), (7, 40), (len(full[u4]) - 5, 100)):
            typ, data = m.uid("FETCH", str(u4), f"(BODY.PEEK[]<{start}.{n}>)")
            assert data[0][1] == full[u4][start:start + n]
        header_len = full[u4].index(b"\r\n\r\n") + 4
        typ, data = m.uid("FETCH", str(u4), "(BODY.PEEK[TEXT]<3.30>)")
        assert data[0][1] == full[u4][header_len + 3:header_len + 33]
        typ, data = m.uid("FETCH", str(u4), "(BODY.PEEK[HEADER])")
        assert data[0][1] == full[u4][:header_len]
        # Sections of the multipart, and BINARY decoding the attachment.
        typ, data = m.uid("FETCH", str(u2), "(BODY.PEEK[1] BINARY.PEEK[2])")
        assert data[0][1] == b"first line\r\nsecond line\r\n\r\nthird after a blank"
        assert data[1][1] == ATTACHMENT
        typ, data = m.uid("FETCH", str(u2), "(BINARY.SIZE[2])")
        assert b"BINARY.SIZE[2] %d" % len(ATTACHMENT) in data[0]
        # BODYSTRUCTURE as for the same message stored by correu itself.
        m.create("Check")
        for k, u in ((1, u1), (2, u2), (4, u4)):
            typ, resp = m.append("Check", None, None, MSGS[k][0])
            mine = uid_of(resp)
            typ, a = m.uid("FETCH", str(u), "(BODYSTRUCTURE RFC822.SIZE)")
            m.select("Check")
            typ, b = m.uid("FETCH", str(mine), "(BODYSTRUCTURE RFC822.SIZE)")
            m.select("INBOX")
            strip = lambda d: re.sub(rb"^\* \d+ FETCH \(|UID \d+ ?", b"", d[0])
            assert strip(a) == strip(b), (k, a, b)
        # SEARCH and SORT by size, SEARCH by text.
        size4 = len(full[u4])
        typ, data = m.uid("SEARCH", "LARGER", str(size4 - 1))
        assert str(u4).encode() in data[0].split()
        typ, data = m.uid("SEARCH", "LARGER", str(size4))
        assert str(u4).encode() not in data[0].split()
        typ, data = m.uid("SEARCH", "SMALLER", str(size4 + 1))
        assert str(u4).encode() in data[0].split()
        typ, data = m.uid("SEARCH", "BODY", "\"second line\"")
        assert data[0].split() == [str(u2).encode()]
        typ, data = m.uid("SEARCH", "TEXT", "\"dot line\"")
        assert data[0].split() == [str(u1).encode()]
        typ, data = m.uid("SORT", "(SIZE)", "UTF-8", "ALL")
        sizes = fetch_map(m, "(UID RFC822.SIZE)")
        order = [int(x) for x in data[0].split()]
        assert [sizes[u]["size"] for u in order] == sorted(sizes[u]["size"] for u in order)
    finally:
        m.logout()


def test_quota_counts_crlf_sizes(migrated):
    srv, users, seen, extra = migrated
    user = users[1]
    srv.cli("user", "quota", user, "100M")
    m = imaps(srv, user)
    try:
        total = 0
        for mbox in seen["status"]:
            total += status(m, mbox, "(SIZE)")["SIZE"]
        typ, data = m.getquotaroot("INBOX")
        used = int(re.search(rb"STORAGE (\d+) \d+", data[1][0]).group(1))
        assert used == (total + 1023) // 1024
        assert total >= sum(d["size"] for d in seen["msgs"].values())
    finally:
        m.logout()


def test_pop3_sizes_and_uidls(migrated):
    srv, users, seen, extra = migrated
    user = users[0]
    uidvalidity = seen["status"]["INBOX"]["UIDVALIDITY"]
    view = pop3_view(srv, user)
    expected = {f"{uid:08X}{uidvalidity:08X}" for uid in seen["msgs"]}
    expected.add(f"{seen['status']['INBOX']['UIDNEXT']:08X}{uidvalidity:08X}")
    assert set(view) == expected
    for uidl, (size, octets, content) in view.items():
        assert size == octets == len(content), uidl
        assert not CRLF_RE.search(content)
        uid = int(uidl[:8], 16)
        if uid in seen["msgs"]:
            assert content == seen["msgs"][uid]["literal"]
    # The same after a restart and after another reindex.
    srv.stop()
    srv.start()
    assert pop3_view(srv, user) == view
    srv.cli("reindex", user)
    assert pop3_view(srv, user) == view


def test_subscriptions_folders_and_special_use(migrated):
    srv, users, seen, extra = migrated
    for user in users:
        m = imaps(srv, user)
        try:
            lst = special_list(m)
            # Dovecot's folders by their names; the special uses of the
            # usual names; Drafts and Archive made, no second Sent/Junk/Trash.
            assert {"INBOX", "Sent", "Spam", "Deleted Messages", "A", "A.B", "&AOk-t&AOk-",
                    "Drafts", "Archive"} <= set(lst), lst
            assert not {"Junk", "Trash"} & set(lst)
            for name, use in (("Sent", "\\Sent"), ("Spam", "\\Junk"),
                              ("Deleted Messages", "\\Trash"), ("Drafts", "\\Drafts"),
                              ("Archive", "\\Archive")):
                assert use in lst[name], (user, name, lst)
            # Dovecot's subscriptions, plus the folders made now.
            subscribed = {n for n, a in lst.items() if "\\Subscribed" in a}
            assert subscribed == {"Sent", "A.B", "&AOk-t&AOk-", "Drafts", "Archive"}, subscribed
        finally:
            m.logout()


def test_files_from_other_tools_while_running(migrated):
    srv, users, seen, extra = migrated
    user = users[1]
    root = srv.maildir(user)
    m = imaps(srv, user)
    try:
        before = int(m.select("INBOX")[1][0])
        small_lf = message("small lf", ["a", "b"], "t1").replace(b"\r\n", b"\n")
        crlf = message("crlf no fields", ["c"], "t2")
        big_lf = message("big lf", ["y" * 70] * 3000, "t3").replace(b"\r\n", b"\n")
        drop(root, "new", "1791000000.1_1.tool.host", small_lf, 1791000000)
        drop(root, "new", "1791000001.1_2.tool.host", crlf, 1791000001)
        drop(root, "cur", "1791000002.1_3.tool.host:2,S", big_lf, 1791000002)
        os.utime(os.path.join(root, "cur"), None)
        # Converted in the background: seen within moments.
        deadline = time.time() + 15
        while time.time() < deadline:
            m.noop()
            typ, data = m.search(None, "ALL")
            if len(data[0].split()) >= before + 3:
                break
            time.sleep(0.1)
        got = fetch_map(m, "(UID FLAGS RFC822.SIZE BODY.PEEK[] INTERNALDATE)",
                        f"{seen['status']['INBOX']['UIDNEXT'] + 1}:*")
        bodies = sorted((g["literal"] for g in got.values()), key=len)
        assert bodies == sorted([small_lf.replace(b"\n", b"\r\n"), crlf,
                                 big_lf.replace(b"\n", b"\r\n")], key=len)
        for g in got.values():
            assert g["size"] == len(g["literal"])
            assert not CRLF_RE.search(g["literal"])
        big = max(got.values(), key=lambda g: len(g["literal"]))
        assert b"\\Seen" in big["flags"]
        assert imaplib.Internaldate2tuple(big["raw"])[:6] == time.localtime(1791000002)[:6]
    finally:
        m.logout()
    # The files on disk are CRLF now, with sizes in their names.
    for sub in ("cur", "new"):
        for n in os.listdir(os.path.join(root, sub)):
            with open(os.path.join(root, sub, n), "rb") as f:
                data = f.read()
            assert not CRLF_RE.search(data), n
            mm = re.search(r",S=(\d+),W=(\d+)", n)
            assert mm and int(mm.group(1)) == int(mm.group(2)) == len(data), n


def test_smtp_first_account_gets_special_folders(make_server):
    srv = make_server(users=("first@example.test",))
    user = "first@example.test"
    with srv.smtp() as s:
        s.sendmail("x@remote.example", [user], b"Subject: hello\r\n\r\nfirst mail\r\n")
    assert len(srv.wait_messages(user, 1)) == 1
    m = imaps(srv, user)
    try:
        lst = special_list(m)
        for name, use in (("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"),
                          ("Junk", "\\Junk"), ("Archive", "\\Archive")):
            assert use in lst.get(name, ()), lst
            assert "\\Subscribed" in lst[name]
        assert "\\Subscribed" in lst["INBOX"]
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
        assert data[0][1] == b"first mail\r\n"
        # A folder the user deletes stays deleted: after a restart and a
        # reindex alike.
        assert m.delete("Junk")[0] == "OK"
    finally:
        m.logout()
    srv.stop()
    srv.start()
    m = imaps(srv, user)
    assert "Junk" not in special_list(m)
    m.logout()
    srv.cli("reindex", user)
    m = imaps(srv, user)
    assert "Junk" not in special_list(m)
    m.logout()
    # An index made before accounts got them (no record of it): the
    # next open gives them.
    srv.stop()
    db = sqlite3.connect(os.path.join(srv.maildir(user), "correu-index.sqlite"))
    db.execute("DELETE FROM meta WHERE key = 'special_folders'")
    db.commit()
    db.close()
    pw = pwd.getpwnam("correu")
    for sfx in ("-wal", "-shm"):
        p = os.path.join(srv.maildir(user), "correu-index.sqlite" + sfx)
        if os.path.exists(p):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    srv.start()
    m = imaps(srv, user)
    lst = special_list(m)
    assert "\\Junk" in lst.get("Junk", ()), lst
    m.logout()
