"""Real POP3 clients against correu: fetchmail over STLS and POP3S in
keep mode (UIDL bookkeeping, nothing fetched twice) and delete mode,
getmail6 over POP3S (UIDL-based "new mail only" retrieval into a
Maildir), and curl pop3s:// (LIST, RETR, DELE through -X). Each
fetched message must equal the stored file byte for byte (fetchmail
and getmail6 hand messages over with LF line ends)."""
import itertools
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import pytest

from conftest import DOMAIN

_ids = itertools.count(1)


def new_user(server):
    addr = f"client{next(_ids)}-{os.getpid()}@{DOMAIN}"
    server.add_user(addr, "pw-" + addr)
    return addr


def deliver(server, rcpt, count, start=0):
    before = len(server.messages(rcpt))
    with server.smtp() as s:
        for i in range(start, start + count):
            body = (b"From: sender@remote.example\r\nSubject: msg %d\r\n\r\n" % i
                    + b"body of %d\r\n.dot line\r\n" % i + "é\r\n".encode())
            s.sendmail("sender@remote.example", [rcpt], body)
    assert len(server.wait_messages(rcpt, before + count)) == before + count


def lf(data):
    return data.replace(b"\r\n", b"\n")


# ---- fetchmail ----------------------------------------------------------

def fetchmail(server, tmp_path, user, keep, implicit_tls):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    rc = tmp_path / "fetchmailrc"
    port = server.ports["pop3s" if implicit_tls else "pop3"]
    tls = "ssl" if implicit_tls else "sslproto 'tls1.2+'"
    rc.write_text(
        "set no bouncemail\nset no syslog\n"
        f"poll {server.hostname} via 127.0.0.1 port {port} protocol pop3 uidl\n"
        f"  user '{user}' there with password '{server.users[user]}' is 'root' here\n"
        f"  {tls} sslcertck sslcertfile '{server.cert}' sslcommonname '{server.hostname}'\n"
        f"  {'keep' if keep else 'nokeep'}\n"
        f"  mda \"/bin/sh -c 'cat > {out}/m.$$'\"\n")
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "-i", str(tmp_path / "ids"),
                        "--pidfile", str(tmp_path / "pid"), "-v"],
                       capture_output=True, text=True, env=env, timeout=120)
    # 0: got mail, 1: no mail; anything else is an error.
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return r, sorted(os.listdir(out))


def without_fetchmail_trace(data):
    """Drops the Received: header fetchmail adds (and its folded lines)."""
    lines = data.split(b"\n")
    out, skipping = [], False
    for i, line in enumerate(lines):
        if line.startswith(b"Received: ") and b"fetchmail" in b"".join(lines[i:i + 3]):
            skipping = True
            continue
        if skipping and line.startswith((b"\t", b" ")):
            continue
        skipping = False
        out.append(line)
    return b"\n".join(out)


def read_out(tmp_path, names):
    return [without_fetchmail_trace((tmp_path / "out" / n).read_bytes()) for n in names]


def test_fetchmail_keep_stls(server, tmp_path):
    user = new_user(server)
    deliver(server, user, 3)
    r, names = fetchmail(server, tmp_path, user, keep=True, implicit_tls=False)
    assert "STLS" in r.stdout + r.stderr
    assert len(names) == 3
    stored = sorted(lf(m) for m in server.messages(user))
    assert sorted(read_out(tmp_path, names)) == stored
    # Kept on the server, and not fetched again (UIDL bookkeeping).
    assert len(server.messages(user)) == 3
    r, names2 = fetchmail(server, tmp_path, user, keep=True, implicit_tls=False)
    assert r.returncode == 1 and names2 == names
    deliver(server, user, 1, start=3)
    r, names3 = fetchmail(server, tmp_path, user, keep=True, implicit_tls=False)
    new = [n for n in names3 if n not in names]
    assert len(new) == 1
    assert b"Subject: msg 3\n" in (tmp_path / "out" / new[0]).read_bytes()


def test_fetchmail_delete_pop3s(server, tmp_path):
    user = new_user(server)
    deliver(server, user, 4)
    stored = sorted(lf(m) for m in server.messages(user))
    r, names = fetchmail(server, tmp_path, user, keep=False, implicit_tls=True)
    assert r.returncode == 0
    assert sorted(read_out(tmp_path, names)) == stored
    assert server.messages(user) == []
    r, names2 = fetchmail(server, tmp_path, user, keep=False, implicit_tls=True)
    assert r.returncode == 1 and names2 == names


# ---- getmail6 -------------------------------------------------------------

@pytest.fixture
def getmail_dir():
    """A directory getmail can use: it refuses to deliver as root, so as
    root it runs as nobody in a directory of its own."""
    d = tempfile.mkdtemp(prefix="correu-getmail-", dir="/tmp")
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def getmail(server, gdir, user, delete=False):
    md = gdir / "Maildir"
    ca = gdir / "ca.pem"
    rc = gdir / "getmailrc"
    if not md.exists():
        for sub in ("cur", "new", "tmp"):
            (md / sub).mkdir(parents=True)
        shutil.copy(server.cert, ca)
    rc.write_text(
        "[retriever]\ntype = SimplePOP3SSLRetriever\n"
        f"server = {server.host}\nport = {server.ports['pop3s']}\n"
        f"username = {user}\npassword = {server.users[user]}\n"
        f"ca_certs = {ca}\n"
        f"[destination]\ntype = Maildir\npath = {md}/\n"
        f"[options]\nread_all = false\ndelete = {'true' if delete else 'false'}\n"
        "delivered_to = false\nreceived = false\nverbose = 2\n")
    kw = {}
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for root, dirs, files in os.walk(gdir):
            for name in dirs + files:
                os.chown(os.path.join(root, name), nobody.pw_uid, nobody.pw_gid)
        kw = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    r = subprocess.run(["getmail", f"--getmaildir={gdir}", f"--rcfile={rc}"],
                       capture_output=True, text=True, timeout=120, cwd=gdir,
                       env=dict(os.environ, HOME=str(gdir)), **kw)
    assert r.returncode == 0, r.stdout + r.stderr
    return sorted((md / "new").iterdir())


def test_getmail6_uidl_new_only(server, getmail_dir):
    user = new_user(server)
    deliver(server, user, 3)
    got = getmail(server, getmail_dir, user)
    assert len(got) == 3
    stored = sorted(lf(m) for m in server.messages(user))
    assert sorted(p.read_bytes() for p in got) == stored
    # Nothing new: nothing fetched (getmail remembers UIDLs).
    assert len(getmail(server, getmail_dir, user)) == 3
    deliver(server, user, 2, start=3)
    got = getmail(server, getmail_dir, user)
    assert len(got) == 5
    subjects = sorted(p.read_bytes().split(b"Subject: ")[1].split(b"\n")[0] for p in got)
    assert subjects == [b"msg %d" % i for i in range(5)]
    # Delete mode removes them from the server.
    getmail(server, getmail_dir, user, delete=True)
    assert server.messages(user) == []


# ---- curl ---------------------------------------------------------------------

def curl(server, user, path="", extra=()):
    r = subprocess.run(["curl", "-sS", "--cacert", server.cert, "-u",
                        f"{user}:{server.users[user]}", *extra,
                        f"pop3s://{server.host}:{server.ports['pop3s']}/{path}"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_curl_pop3s(server):
    user = new_user(server)
    deliver(server, user, 2)
    stored = server.messages(user)
    listing = curl(server, user).split(b"\r\n")
    assert listing[:2] == [b"1 %d" % len(stored[0]), b"2 %d" % len(stored[1])]
    assert curl(server, user, "2") == stored[1]
    # STLS on the plain port, required.
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", server.cert, "-u",
                        f"{user}:{server.users[user]}",
                        f"pop3://{server.host}:{server.ports['pop3']}/1"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == stored[0]
    curl(server, user, "1", extra=("-X", "DELE", "-I"))
    left = server.messages(user)
    assert left == [stored[1]]
