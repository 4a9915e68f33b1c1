"""Accounts from the command line (`correu user|domain|alias`) and the
auth process end to end: its socket protocol (auth_server.h) spoken
directly, SCRAM-SHA-256 against GNU gsasl as the client, hashes made by
Dovecot's `doveadm pw` and by mkpasswd imported and verified, the
shared failure throttle, and account changes applied to a running
server."""
import base64
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time

import pytest

from conftest import CORREU, DOMAIN, Server

ALICE = "alice@" + DOMAIN


@pytest.fixture
def srv():
    s = Server()
    yield s
    s.cleanup()


def lines(r):
    return [x for x in r.stdout.splitlines() if x]


# --- users -----------------------------------------------------------------

def test_user_commands(srv):
    r = srv.cli("user", "add", "Alice@Example.Test", "--password-stdin", input="pw one\n")
    assert "added alice@example.test" in r.stdout
    assert os.path.join(srv.dir, "data", "mail", DOMAIN, "alice") in r.stdout
    # From a pipe without the flag: one line is read.
    srv.cli("user", "add", "bob@" + DOMAIN, input="bob pw\n")
    r = srv.cli("user", "add", ALICE, "--password-stdin", input="x\n", check=False)
    assert r.returncode == 1 and "user exists" in r.stderr
    for bad in ("../etc@" + DOMAIN, ".x@" + DOMAIN, "a b@" + DOMAIN, "noat", "x@bad_domain"):
        r = srv.cli("user", "add", bad, "--password-stdin", input="x\n", check=False)
        assert r.returncode == 1, bad
    r = srv.cli("user", "add", "carol@other.example", "--password-stdin", input="x\n",
                check=False)
    assert r.returncode == 1 and "no such domain" in r.stderr
    r = srv.cli("user", "add", "carol@" + DOMAIN, "--password-stdin", input="\n", check=False)
    assert r.returncode == 1 and "empty password" in r.stderr
    r = srv.cli("user", "add", "carol@" + DOMAIN, "--password-stdin", input="", check=False)
    assert r.returncode == 1
    assert lines(srv.cli("user", "list")) == [ALICE, "bob@" + DOMAIN]

    srv.cli("user", "quota", ALICE, "500M")
    srv.cli("user", "disable", "bob@" + DOMAIN)
    rows = [x.split("\t") for x in lines(srv.cli("user", "list", "-l"))]
    assert rows[0][:3] == [ALICE, str(500 * 1024 * 1024), "enabled"]
    assert rows[1][:3] == ["bob@" + DOMAIN, "unlimited", "disabled"]
    srv.cli("user", "enable", "bob@" + DOMAIN)
    srv.cli("user", "quota", "BOB@" + DOMAIN, "none")
    assert lines(srv.cli("user", "list", "-l"))[1].split("\t")[1:3] == ["unlimited", "enabled"]
    assert srv.cli("user", "quota", ALICE, "lots", check=False).returncode == 2
    assert srv.cli("user", "quota", "nobody@" + DOMAIN, "1M", check=False).returncode == 1

    srv.cli("user", "passwd", ALICE, "--password-stdin", input="pw two\n")
    r = srv.cli("user", "passwd", "nobody@" + DOMAIN, "--password-stdin", input="x\n",
                check=False)
    assert r.returncode == 1 and "no such user" in r.stderr
    r = srv.cli("user", "del", "bob@" + DOMAIN)
    assert "mail stays" in r.stdout
    assert srv.cli("user", "del", "bob@" + DOMAIN, check=False).returncode == 1
    assert lines(srv.cli("user", "list")) == [ALICE]

    for args in (["user"], ["user", "frob"], ["user", "add"], ["user", "list", "x"],
                 ["user", "del", ALICE, "extra"], ["user", "add", ALICE, "--bogus"],
                 ["user", "add", ALICE, "--password-stdin", "--hash", "$y$x"],
                 ["user", "del", ALICE, "--password-stdin"]):
        assert srv.cli(*args, check=False).returncode == 2, args


def test_hash_import_refused(srv):
    for bad in ("{PLAIN}secret", "{MD5-CRYPT}$1$KgKIk3it$rXWhzwQ2Uv5jeYJun7THS/", "abc",
                "$6$saltonly"):
        r = srv.cli("user", "add", "x@" + DOMAIN, "--hash", bad, check=False)
        assert r.returncode == 1, bad
    assert lines(srv.cli("user", "list")) == []


def test_files_private_and_owned(srv):
    # Long enough not to turn up by chance in a hash or a page of SQLite.
    srv.add_user(ALICE, "pw-never-stored-in-clear")
    data = os.path.join(srv.dir, "data")
    auth_dir = os.path.join(data, "auth")
    passwd = os.path.join(auth_dir, "passwd.db")
    assert stat.S_IMODE(os.stat(auth_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(passwd).st_mode) == 0o600
    with open(passwd, "rb") as f:
        assert b"pw-never-stored-in-clear" not in f.read()
    if os.geteuid() != 0:
        pytest.skip("ownership hand-over happens when run as root")
    user = pwd.getpwnam("correu")
    auth_user = pwd.getpwnam("correu-auth")
    for p in (data, os.path.join(data, "accounts.db")):
        st = os.stat(p)
        assert (st.st_uid, st.st_gid) == (user.pw_uid, user.pw_gid), p
    # The password hashes belong to the auth process's user alone.
    for p in (auth_dir, passwd):
        st = os.stat(p)
        assert (st.st_uid, st.st_gid) == (auth_user.pw_uid, user.pw_gid), p
    # Nothing under data/ belongs to root after the commands.
    srv.cli("alias", "add", "info@" + DOMAIN, ALICE)
    for root, dirs, files in os.walk(data):
        for n in dirs + files:
            p = os.path.join(root, n)
            want = auth_user.pw_uid if p.startswith(auth_dir) else user.pw_uid
            assert os.lstat(p).st_uid == want, n


# --- domains and aliases -------------------------------------------------------

def test_domain_commands(srv):
    assert lines(srv.cli("domain", "list")) == [DOMAIN]
    srv.cli("domain", "add", "Other.Example")
    srv.cli("domain", "add", "bücher.example")
    assert lines(srv.cli("domain", "list")) == [DOMAIN, "other.example", "xn--bcher-kva.example"]
    r = srv.cli("domain", "add", "other.example", check=False)
    assert r.returncode == 1 and "exists" in r.stderr
    assert srv.cli("domain", "add", "bad_name", check=False).returncode == 1
    srv.add_user("u@bücher.example", "pw")
    assert "u@xn--bcher-kva.example" in lines(srv.cli("user", "list"))
    r = srv.cli("domain", "del", "xn--bcher-kva.example", check=False)
    assert r.returncode == 1 and "1 user" in r.stderr
    srv.cli("user", "del", "u@xn--bcher-kva.example")
    srv.cli("domain", "del", "BÜCHER.example")
    srv.cli("domain", "del", "other.example")
    assert srv.cli("domain", "del", "other.example", check=False).returncode == 1
    assert lines(srv.cli("domain", "list")) == [DOMAIN]
    for args in (["domain"], ["domain", "add"], ["domain", "list", "x"], ["domain", "x", "y"]):
        assert srv.cli(*args, check=False).returncode == 2, args


def test_alias_commands(srv):
    srv.add_user(ALICE, "pw")
    srv.cli("alias", "add", "Info@" + DOMAIN, ALICE, "John.Doe@Remote.Example")
    srv.cli("alias", "add", "@" + DOMAIN, ALICE)
    r = srv.cli("alias", "add", "sales@" + DOMAIN, "ghost@" + DOMAIN)
    assert "ghost@" + DOMAIN in r.stderr   # a note, not an error
    assert lines(srv.cli("alias", "list")) == [
        "@example.test alice@example.test",
        "info@example.test alice@example.test John.Doe@remote.example",
        "sales@example.test ghost@example.test",
    ]
    r = srv.cli("alias", "add", "x@other.example", ALICE, check=False)
    assert r.returncode == 1 and "not one of ours" in r.stderr
    assert srv.cli("alias", "add", "x@" + DOMAIN, "not an address", check=False).returncode == 1
    srv.cli("alias", "del", "info@" + DOMAIN, "John.Doe@remote.example")
    srv.cli("alias", "del", "sales@" + DOMAIN)
    assert srv.cli("alias", "del", "sales@" + DOMAIN, check=False).returncode == 1
    assert srv.cli("alias", "del", "info@" + DOMAIN, "nobody@" + DOMAIN,
                   check=False).returncode == 1
    assert lines(srv.cli("alias", "list")) == [
        "@example.test alice@example.test", "info@example.test alice@example.test"]
    r = srv.cli("domain", "del", DOMAIN, check=False)
    assert r.returncode == 1 and "2 aliases" in r.stderr
    for args in (["alias"], ["alias", "add", "x@" + DOMAIN], ["alias", "del"],
                 ["alias", "list", "x"]):
        assert srv.cli(*args, check=False).returncode == 2, args


# --- the auth process, end to end ----------------------------------------------

class AuthSocket:
    """A worker's view of data_dir/run/auth.sock."""

    def __init__(self, server):
        path = os.path.join(server.dir, "data", "run", "auth.sock")
        deadline = time.time() + 10
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.next_id = 0

    def send(self, *fields):
        self.sock.sendall("\t".join(fields).encode() + b"\n")

    def reply(self):
        line = self.file.readline()
        if not line:
            raise EOFError
        return line.decode().rstrip("\n").split("\t")

    def verify(self, user, password, ip="192.0.2.1", service="imap"):
        self.next_id += 1
        rid = str(self.next_id)
        esc = password.replace("\\", "\\\\").replace("\t", "\\t")
        self.send("VERIFY", rid, service, ip, user, esc)
        r = self.reply()
        assert r[1] == rid
        return r[0] if r[0] != "OK" else "OK " + r[2]

    def start(self, mech, ir=None, ip="192.0.2.1"):
        self.next_id += 1
        fields = ["START", str(self.next_id), "smtp", ip, mech] + ([ir] if ir is not None else [])
        self.send(*fields)
        return self.reply()

    def cont(self, data):
        self.send("CONTINUE", str(self.next_id), data)
        return self.reply()

    def close(self):
        self.sock.close()


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


@pytest.fixture
def running(make_server):
    srv = make_server(users=(), settings={"auth_fail_delay_max": "0",
                                          "auth_fail_block_after": "3"})
    srv.add_user(ALICE, "alice pw")
    yield srv


def test_verify_and_live_changes(running):
    a = AuthSocket(running)
    assert a.verify(ALICE, "alice pw") == "OK " + ALICE
    assert a.verify("ALICE@Example.TEST", "alice pw", ip="192.0.2.2") == "OK " + ALICE
    assert a.verify(ALICE, "wrong", ip="192.0.2.3") == "FAIL"
    assert a.verify("nobody@" + DOMAIN, "x", ip="192.0.2.4") == "FAIL"
    # The CLI changes a running server's accounts, no restart.
    running.add_user("new@" + DOMAIN, "new pw")
    assert a.verify("new@" + DOMAIN, "new pw", ip="192.0.2.5") == "OK new@" + DOMAIN
    running.cli("user", "passwd", "new@" + DOMAIN, "--password-stdin", input="newer pw\n")
    assert a.verify("new@" + DOMAIN, "new pw", ip="192.0.2.6") == "FAIL"
    assert a.verify("new@" + DOMAIN, "newer pw", ip="192.0.2.7") == "OK new@" + DOMAIN
    running.cli("user", "disable", "new@" + DOMAIN)
    assert a.verify("new@" + DOMAIN, "newer pw", ip="192.0.2.8") == "FAIL"
    running.cli("user", "enable", "new@" + DOMAIN)
    running.cli("user", "del", "new@" + DOMAIN)
    assert a.verify("new@" + DOMAIN, "newer pw", ip="192.0.2.9") == "FAIL"
    # PLAIN and LOGIN.
    assert a.start("PLAIN", b64("\0alice@example.test\0alice pw"), ip="192.0.2.10") == \
        ["OK", str(a.next_id), ALICE]
    assert a.start("LOGIN", ip="192.0.2.11")[::2] == ["CONTINUE", b64("Username:")]
    assert a.cont(b64(ALICE))[::2] == ["CONTINUE", b64("Password:")]
    assert a.cont(b64("alice pw"))[::2] == ["OK", ALICE]
    assert a.start("DIGEST-MD5", ip="192.0.2.12")[0] == "FAIL"
    # A malformed line closes the connection (a broken worker).
    a.sock.sendall(b"HELLO\t1\n")
    with pytest.raises(EOFError):
        a.reply()
    a.close()


def test_throttle_blocks(running):
    a = AuthSocket(running)
    for user in ("x@" + DOMAIN, "y@" + DOMAIN, ALICE):
        assert a.verify(user, "bad", ip="198.51.100.1") == "FAIL"
    # Blocked: even the right password is not checked.
    assert a.verify(ALICE, "alice pw", ip="198.51.100.1") == "BLOCKED"
    assert a.start("PLAIN", ip="198.51.100.1")[0] == "BLOCKED"
    assert a.verify(ALICE, "alice pw", ip="198.51.100.2") == "OK " + ALICE
    # Per account, whether it exists or not, across services.
    for i, service in enumerate(("smtp", "imap", "pop3")):
        assert a.verify("ghost@" + DOMAIN, "bad", ip=f"203.0.113.{i}", service=service) == "FAIL"
    assert a.verify("ghost@" + DOMAIN, "bad", ip="203.0.113.99", service="web") == "BLOCKED"
    a.close()


def test_imported_hashes(running):
    """Hashes made by Dovecot and mkpasswd verify, through the server."""
    pw = "imp\u00f6rt pw"
    made = []
    if shutil.which("doveadm"):
        for scheme in ("SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID", "SCRAM-SHA-256", "CRYPT"):
            r = subprocess.run(["doveadm", "pw", "-s", scheme, "-p", pw], capture_output=True,
                               text=True)
            assert r.returncode == 0, r.stderr
            made.append(r.stdout.strip())
    if shutil.which("mkpasswd"):
        for method in ("yescrypt", "sha512crypt", "bcrypt"):
            r = subprocess.run(["mkpasswd", "-s", "-m", method], input=pw, capture_output=True,
                               text=True)
            assert r.returncode == 0, r.stderr
            made.append(r.stdout.strip())
    if not made:
        pytest.skip("neither doveadm nor mkpasswd installed")
    a = AuthSocket(running)
    for i, h in enumerate(made):
        user = f"imp{i}@{DOMAIN}"
        running.cli("user", "add", user, "--hash", h)
        assert a.verify(user, pw, ip=f"192.0.2.{100 + i}") == "OK " + user, h
        assert a.verify(user, "impört", ip=f"192.0.2.{150 + i}") == "FAIL", h
    a.close()


def gsasl_scram(a, user, password, tamper=False):
    """Runs GNU gsasl as an IMAP-style SCRAM-SHA-256 client, relaying
    its messages to the auth socket. Returns the auth verdict and
    whether gsasl trusted the server (checked its SCRAM signature)."""
    p = subprocess.Popen(["gsasl", "--client", "--imap", "--no-cb",
                          "--mechanism", "SCRAM-SHA-256", "--authentication-id", user,
                          "--password", password, "--service", "imap"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, bufsize=1)

    def say(line):
        p.stdin.write(line + "\r\n")
        p.stdin.flush()

    say("* OK ready")
    verdict = None
    while verdict is None:
        raw = p.stdout.readline()
        if raw == "":
            break
        line = raw.rstrip("\r\n")
        if "CAPABILITY" in line:
            say("* CAPABILITY IMAP4rev1 AUTH=SCRAM-SHA-256")
            say(". OK done")
            continue
        r = a.start("SCRAM-SHA-256", ip="192.0.2.200") if "AUTHENTICATE" in line \
            else a.cont(line)
        if r[0] == "CONTINUE":
            data = r[2]
            if tamper and base64.b64decode(data).startswith(b"v="):
                data = b64("v=" + b64(b"\0" * 32))
            say("+ " + data)
        else:
            verdict = r[0]
            say(". OK done" if verdict == "OK" else ". NO failed")
    try:
        err = p.communicate(timeout=10)[1]
    except subprocess.TimeoutExpired:
        p.kill()
        err = p.communicate()[1]
    return verdict, "authentication finished (server trusted)" in err


@pytest.mark.skipif(not shutil.which("gsasl"), reason="gsasl not installed")
def test_scram_with_gsasl(running):
    a = AuthSocket(running)
    assert gsasl_scram(a, ALICE, "alice pw") == ("OK", True)
    assert gsasl_scram(a, ALICE, "wrong pw") == ("FAIL", False)
    assert gsasl_scram(a, "nobody@" + DOMAIN, "x") == ("FAIL", False)
    # gsasl checks our server signature: a forged one makes it give up.
    assert gsasl_scram(a, ALICE, "alice pw", tamper=True) == (None, False)
    # SCRAM keys of a Dovecot SCRAM hash import work as they are.
    r = subprocess.run(["doveadm", "pw", "-s", "SCRAM-SHA-256", "-p", "dove pw"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        running.cli("user", "add", "dove@" + DOMAIN, "--hash", r.stdout.strip())
        assert gsasl_scram(a, "dove@" + DOMAIN, "dove pw") == ("OK", True)
    a.close()


def test_password_prompt_on_a_terminal(srv):
    """Without --password-stdin on a terminal: asked twice, echo off."""
    import termios

    def run(answers):
        master, slave = os.openpty()
        p = subprocess.Popen([CORREU, "-c", srv.conf, "user", "add", "tty@" + DOMAIN],
                             stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(slave)
        echoed = b""
        for answer in answers:
            # Wait until the prompt turned echo off, then type.
            deadline = time.time() + 10
            while time.time() < deadline:
                if not termios.tcgetattr(master)[3] & termios.ECHO:
                    break
                time.sleep(0.02)
            os.write(master, answer.encode() + b"\n")
            # The second prompt flushes input typed before it: let the
            # program get there first.
            time.sleep(0.2)
        out, err = p.communicate(timeout=20)
        try:
            while True:
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                echoed += chunk
        except OSError:
            pass
        os.close(master)
        return p.returncode, out, err, echoed

    rc, out, err, echoed = run(["typed once", "typed twice"])
    assert rc == 1 and "do not match" in err
    assert "Password:" in err and "Retype" in err
    rc, out, err, echoed = run(["tty secret", "tty secret"])
    assert rc == 0, err
    assert b"tty secret" not in echoed
    assert lines(srv.cli("user", "list")) == ["tty@" + DOMAIN]
