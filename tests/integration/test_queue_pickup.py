"""`correu sendmail` for every local user: users who cannot write the queue
(nobody, www-data, a uid without a name) hand their message to the queue
process over data_dir/public/pickup, which identifies them by SO_PEERCRED,
adds "Received: ... from userid UID" and, when they chose another sender
with -f, X-Authentication-Warning. Also: exit 75 when the server is not
running, size limits, bogus clients, connection limits, the webmail's
user refused, the socket back after a kill -9 of the queue process, a
request in progress answered when the server stops, and root's direct
path with the server stopped. Runs as root (users are
switched with setpriv)."""
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import time

import pytest

from conftest import CORREU, DOMAIN, HOSTNAME, Server, sanitizer_env

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")

ALICE = "alice@" + DOMAIN
NOBODY = pwd.getpwnam("nobody")
WWW = pwd.getpwnam("www-data")
NO_NAME_UID = 54321  # a uid without a passwd entry


def pickup_path(srv):
    return os.path.join(srv.dir, "data", "public", "pickup")


def wait_pickup(srv, timeout=20):
    """The queue process starts after the SMTP listeners are ready."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(pickup_path(srv))
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("no pickup socket: " + srv.read_log()[-2000:])


def wait_accepted(srv, timeout=20):
    """Until the queue process has accepted every connection: the
    listener's accept queue (Recv-Q in `ss -xl`) is empty."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(["ss", "-xlH", "src", pickup_path(srv)], capture_output=True,
                             text=True).stdout.split()
        if len(out) >= 3 and out[2] == "0":
            return
        time.sleep(0.05)
    raise AssertionError("connections not accepted")


def sendmail_as(srv, uid, gid, args, message):
    env = sanitizer_env()
    env.pop("CORREU_CONFIG", None)
    cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
           os.path.abspath(CORREU), "-c", srv.conf, "sendmail", *args]
    return subprocess.run(cmd, input=message.encode() if isinstance(message, str) else message,
                          capture_output=True, env=env, cwd="/")


def queue_pid(srv):
    for pid in srv.pids():
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "correu-queue":
                    return pid
        except OSError:
            pass
    return None


def header_block(raw):
    return raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")


def find(srv, subject, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in srv.messages(ALICE):
            if f"Subject: {subject}\r\n".encode() in m:
                return m
        time.sleep(0.05)
    raise AssertionError(f"{subject!r} not delivered: " + srv.read_log()[-3000:])


class Pickup:
    """A raw client of the pickup socket."""

    def __init__(self, srv):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(15)
        self.sock.connect(pickup_path(srv))

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def reply(self):
        data = b""
        while not data.endswith(b"\n"):
            try:
                chunk = self.sock.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data.decode()

    def close(self):
        self.sock.close()


def record(name, value):
    if isinstance(value, str):
        value = value.encode()
    return f"{name} {len(value)}\n".encode() + value


def request(sender, rcpts, message, extra=b""):
    out = record("pickup", "1") + record("sender", sender)
    for r in rcpts:
        out += record("rcpt", r)
    return out + extra + record("message", message)


@pytest.fixture(scope="module")
def srv():
    s = Server(settings={"message_size_limit": "64k"})
    s.add_user(ALICE, "alice-pw")
    s.start()
    wait_pickup(s)
    yield s
    s.cleanup()


def test_layout_lets_everybody_reach_only_the_socket(srv):
    data = os.path.join(srv.dir, "data")
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o771
    assert stat.S_IMODE(os.stat(os.path.join(data, "public")).st_mode) == 0o755
    st = os.stat(pickup_path(srv))
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
    # The configuration (no secrets) is readable by everyone: sendmail
    # needs it to find data_dir.
    assert stat.S_IMODE(os.stat(srv.conf).st_mode) == 0o644
    # Passing through data_dir gives nobody anything else.
    probe = ("import os,sys\n"
             "d=sys.argv[1]\n"
             "for p in ('', '/accounts.db', '/queue', '/mail', '/run/queue.sock', '/spool'):\n"
             "    try:\n"
             "        os.listdir(d+p) if p in ('', '/queue', '/mail', '/spool') else open(d+p).close()\n"
             "        print('open', p)\n"
             "    except OSError:\n"
             "        pass\n")
    r = subprocess.run(["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}",
                        "--clear-groups", "/usr/bin/python3", "-c", probe, data],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_sendmail_t_as_nobody(srv):
    r = sendmail_as(srv, NOBODY.pw_uid, NOBODY.pw_gid, ["-t"],
                    f"To: Alice <{ALICE}>\nSubject: from nobody\n\ncron output\n")
    assert r.returncode == 0, r.stderr
    raw = find(srv, "from nobody")
    head = header_block(raw)
    assert head.startswith(f"Return-Path: <nobody@{HOSTNAME}>\r\n"), head
    assert f"Received: by {HOSTNAME} (correu, from userid {NOBODY.pw_uid}, nobody)" in head
    assert "X-Authentication-Warning" not in head
    assert f"From: nobody <nobody@{HOSTNAME}>" in head
    assert b"\r\n\r\ncron output\r\n" in raw
    assert f"pickup from uid {NOBODY.pw_uid} (nobody)" in srv.read_log()


def test_sender_set_with_f_gets_a_warning(srv):
    r = sendmail_as(srv, WWW.pw_uid, WWW.pw_gid, ["-f", "shop@elsewhere.test", ALICE],
                    "Subject: php order\n\nthanks for your order\n")
    assert r.returncode == 0, r.stderr
    head = header_block(find(srv, "php order"))
    assert head.startswith("Return-Path: <shop@elsewhere.test>\r\n"), head
    assert f"Received: by {HOSTNAME} (correu, from userid {WWW.pw_uid}, www-data)" in head
    assert (f"X-Authentication-Warning: {HOSTNAME}: www-data set sender to "
            "shop@elsewhere.test using -f") in head
    assert f"uid {WWW.pw_uid} (www-data) set sender to <shop@elsewhere.test> using -f" \
        in srv.read_log()

    # Its own address, given explicitly: no warning.
    r = sendmail_as(srv, WWW.pw_uid, WWW.pw_gid, ["-f", "www-data", ALICE],
                    "Subject: own sender\n\nx\n")
    assert r.returncode == 0, r.stderr
    head = header_block(find(srv, "own sender"))
    assert head.startswith(f"Return-Path: <www-data@{HOSTNAME}>\r\n"), head
    assert "X-Authentication-Warning" not in head

    # The null sender is another sender too.
    r = sendmail_as(srv, WWW.pw_uid, WWW.pw_gid, ["-f", "<>", ALICE], "Subject: null\n\nx\n")
    assert r.returncode == 0, r.stderr
    head = header_block(find(srv, "null"))
    assert "www-data set sender to <> using -f" in head


def test_line_endings_made_crlf_and_nul_refused(srv):
    r = sendmail_as(srv, NOBODY.pw_uid, NOBODY.pw_gid, [ALICE],
                    b"Subject: odd endings\n\nunix\nmac\rdos\r\n")
    assert r.returncode == 0, r.stderr
    assert b"\r\n\r\nunix\r\nmac\r\ndos\r\n" in find(srv, "odd endings")
    r = sendmail_as(srv, NOBODY.pw_uid, NOBODY.pw_gid, [ALICE], b"Subject: nul\n\na\0b\n")
    assert r.returncode == 65, r.stderr
    assert b"NUL" in r.stderr


def test_uid_without_a_name(srv):
    # NSS finds nothing (files, then systemd) inside the sandboxed queue
    # process; the message goes through, marked with the bare uid.
    pid = queue_pid(srv)
    r = sendmail_as(srv, NO_NAME_UID, NO_NAME_UID, ["-N", "never", "-V", "env-1", ALICE],
                    "Subject: nameless\n\n8-bit: gr\xfc\xdfe\n".encode("latin-1"))
    assert r.returncode == 0, r.stderr
    head = header_block(find(srv, "nameless"))
    assert f"(correu, from userid {NO_NAME_UID})" in head
    assert (f"X-Authentication-Warning: {HOSTNAME}: userid {NO_NAME_UID} set sender to "
            f"nobody@{HOSTNAME} using -f") in head
    assert queue_pid(srv) == pid


def test_oversize_refused(srv):
    big = "Subject: big\n\n" + ("x" * 99 + "\n") * 700  # 70k > 64k
    r = sendmail_as(srv, NOBODY.pw_uid, NOBODY.pw_gid, [ALICE], big)
    assert r.returncode == 65, r.stderr
    assert b"too large" in r.stderr
    # A client that does not check first is stopped at the record head,
    # before it sends a byte of the message.
    c = Pickup(srv)
    c.send(request("x@a.test", [ALICE], b"")[:-2] + b"65537\n")
    c.send(b"y" * 100000)
    assert c.reply() == "fail 65 message too large (message_size_limit)\n"
    c.close()


@pytest.mark.parametrize("data,want", [
    (b"HELO there\n", "fail 76 "),
    (b"pickup 1\n2", "fail 76 unsupported protocol version"),
    (record("sender", "a@b.test"), "fail 76 the first record must be"),
    (record("pickup", "1") + b"sender 9999999999999999999999\n", "fail 76 malformed record length"),
    (record("pickup", "1") + record("sender", "a@b.test") + record("sender", "a@b.test"),
     "fail 76 record given twice"),
    (record("pickup", "1") + record("sender", "a@b.test") + record("rcpt", "no-at-sign"),
     "fail 64 bad recipient address"),
    (record("pickup", "1") + record("sender", "a@b.test") + record("message", "x\r\n"),
     "fail 64 no recipients"),
    (request("a@b.test", [ALICE], b"bare\nLF\r\n"), "fail 65 the message contains a bare LF"),
    (request("a@b.test", [ALICE], b"nul\0\r\n"), "fail 65 the message contains a NUL byte"),
    (request("a@b.test", [ALICE], b"x\r\n") + b"more", "fail 76 data after the message"),
    (record("pickup", "1") + record("sender", "a@b.test") + b"rcpt 10", "fail 76 incomplete"),
])
def test_bogus_clients_refused(srv, data, want):
    pid = queue_pid(srv)
    c = Pickup(srv)
    c.send(data)
    try:
        c.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # refused and closed already
    assert c.reply().startswith(want)
    c.close()
    assert queue_pid(srv) == pid


def test_raw_client_queues(srv):
    """The protocol as documented, spoken by hand (uid 0: trusted)."""
    c = Pickup(srv)
    c.send(request("boss@a.test", [ALICE], b"Subject: by hand\r\n\r\nhi\r\n",
                   record("notify", "FAILURE") + record("ret", "hdrs")))
    reply = c.reply()
    c.close()
    assert reply.startswith("ok ") and reply.endswith("\n"), reply
    head = header_block(find(srv, "by hand"))
    assert "from userid 0, root)\r\n\tid " + reply[3:-1] + ";" in head
    assert "X-Authentication-Warning" not in head


def test_connection_limit_per_user(srv):
    conns = [Pickup(srv) for _ in range(16)]
    try:
        extra = Pickup(srv)
        assert extra.reply() == "fail 75 too many connections; try again later\n"
        extra.close()
    finally:
        for c in conns:
            c.close()
    # Others, and the same user once the connections are gone, go on.
    r = sendmail_as(srv, NOBODY.pw_uid, NOBODY.pw_gid, [ALICE], "Subject: after the flood\n\nx\n")
    assert r.returncode == 0, r.stderr
    find(srv, "after the flood")


def test_webmail_and_auth_users_refused(srv):
    for name in ("correu-web", "correu-auth"):
        u = pwd.getpwnam(name)
        r = sendmail_as(srv, u.pw_uid, u.pw_gid, [ALICE], f"Subject: from {name}\n\nx\n")
        assert r.returncode == 77, r.stderr
        assert b"may not submit mail" in r.stderr


def test_server_user_commits_directly(srv):
    """The server's user can write the queue: no socket, trusted -f."""
    u = pwd.getpwnam("correu")
    r = sendmail_as(srv, u.pw_uid, u.pw_gid, ["-f", "postmaster@elsewhere.test", ALICE],
                    "Subject: as correu\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert b"queued by sendmail for correu" in r.stderr  # the direct path's debug line
    head = header_block(find(srv, "as correu"))
    assert f"(correu, from userid {u.pw_uid}, correu)" in head
    assert "X-Authentication-Warning" not in head


def test_socket_back_after_kill9(srv):
    pid = queue_pid(srv)
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 30
    while (queue_pid(srv) or pid) == pid and time.time() < deadline:
        time.sleep(0.1)
    assert queue_pid(srv) not in (None, pid)
    wait_pickup(srv)
    r = sendmail_as(srv, NOBODY.pw_uid, NOBODY.pw_gid, [ALICE], "Subject: after kill\n\nx\n")
    assert r.returncode == 0, r.stderr
    find(srv, "after kill")


def test_server_stopped(make_server):
    s = make_server()
    wait_pickup(s)
    s.stop()
    r = sendmail_as(s, NOBODY.pw_uid, NOBODY.pw_gid, [ALICE], "Subject: too early\n\nx\n")
    assert r.returncode == 75, r.stderr
    assert b"the mail server is not running" in r.stderr
    assert b"not sent" in r.stderr
    # Root commits directly, server or not, and is trusted.
    r = subprocess.run([CORREU, "-c", s.conf, "sendmail", ALICE],
                       input=b"Subject: root while stopped\n\nx\n", capture_output=True,
                       env=sanitizer_env())
    assert r.returncode == 0, r.stderr
    s.start()
    head = header_block(find(s, "root while stopped"))
    assert "(correu, from userid 0, root)" in head
    assert "X-Authentication-Warning" not in head


def test_stopping_answers_requests_in_progress(make_server):
    s = make_server()
    wait_pickup(s)
    c = Pickup(s)
    c.send(record("pickup", "1") + record("sender", "a@b.test"))
    wait_accepted(s)
    s.proc.send_signal(signal.SIGTERM)
    assert c.reply() == "fail 75 the mail server is stopping; nothing was queued, try again\n"
    c.close()
    assert s.proc.wait(30) == 0
    log = s.read_log()
    assert re.search(r"queue 0 \(pid \d+\) exited with status 0", log), log[-2000:]
