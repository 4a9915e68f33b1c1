"""Privilege separation and sandboxing, seen from /proc: after start-up no
correu process runs as root; the master keeps only the capabilities it
needs; every child has none, no_new_privs and a seccomp filter; only the
auth process can open the password database; no child can open the TLS
private key; the webmail process can open nothing in the data directory. A system call outside a child's allow-list kills it with
SIGSYS, the call is logged by name, and the master restarts it."""
import ctypes
import os
import platform
import pwd
import signal
import time

import pytest

from conftest import DOMAIN

ALICE = "alice@" + DOMAIN

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="privilege separation needs root")

# CAP_DAC_READ_SEARCH 2, CAP_KILL 5, CAP_SETGID 6, CAP_SETUID 7,
# CAP_NET_BIND_SERVICE 10: the master's whole set after the drop.
MASTER_CAPS = (1 << 2) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10)


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)


def role(st):
    name = st["Name"].strip()
    assert name.startswith("correu-"), name
    return name[len("correu-"):].rstrip("0123456789")


def processes(srv):
    return {pid: status(pid) for pid in srv.pids()}


def can_open(st, path):
    """Whether a process with st's uid, gid and groups (and no
    capabilities) may open path for reading."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        ok = b"0"
        try:
            os.close(r)
            groups = [int(g) for g in st["Groups"].split()]
            os.setgroups(groups)
            gid = int(st["Gid"].split()[0])
            os.setresgid(gid, gid, gid)
            uid = int(st["Uid"].split()[0])
            os.setresuid(uid, uid, uid)
            try:
                os.close(os.open(path, os.O_RDONLY))
                ok = b"1"
            except PermissionError:
                ok = b"0"
        finally:
            os.write(w, ok)
            os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    return got == b"1"


@pytest.fixture(scope="module")
def srv():
    from conftest import Server
    s = Server()
    s.add_user(ALICE, "alice-pw")
    s.start()
    with s.smtp() as c:
        c.sendmail("a@remote.example", [ALICE], b"Subject: x\r\n\r\nbody\r\n")
    assert s.wait_messages(ALICE, 1)
    yield s
    s.cleanup()


def test_no_process_runs_as_root(srv):
    procs = processes(srv)
    roles = sorted(role(st) for st in procs.values())
    assert roles == ["auth", "master", "queue", "web", "worker", "worker"]
    correu = pwd.getpwnam("correu")
    auth = pwd.getpwnam("correu-auth")
    web = pwd.getpwnam("correu-web")
    for pid, st in procs.items():
        uids = [int(u) for u in st["Uid"].split()]
        gids = [int(g) for g in st["Gid"].split()]
        groups = [int(g) for g in st["Groups"].split()]
        assert 0 not in uids + gids + groups, (role(st), st["Uid"], st["Gid"], st["Groups"])
        want_uid = {"auth": auth.pw_uid, "web": web.pw_uid}.get(role(st), correu.pw_uid)
        # The web process has a group of its own; the others share the
        # server's group (the data directory's) and nothing else.
        want_gid = web.pw_gid if role(st) == "web" else correu.pw_gid
        assert uids == [want_uid] * 4, (role(st), uids)
        assert gids == [want_gid] * 4 and groups == [want_gid], role(st)
    assert len({correu.pw_uid, auth.pw_uid, web.pw_uid}) == 3
    assert web.pw_gid != correu.pw_gid


def test_capabilities(srv):
    for pid, st in processes(srv).items():
        eff, prm, inh, amb, bnd = (int(st[k], 16) for k in
                                   ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"))
        assert inh == 0 and amb == 0, role(st)
        if role(st) == "master":
            assert eff == MASTER_CAPS and prm == MASTER_CAPS and bnd == MASTER_CAPS
            assert st["NoNewPrivs"].strip() == "1"
        else:
            assert eff == 0 and prm == 0, (role(st), hex(eff), hex(prm))
            assert bnd & ~MASTER_CAPS == 0, role(st)


def test_children_sandboxed(srv):
    for pid, st in processes(srv).items():
        if role(st) == "master":
            continue
        assert st["NoNewPrivs"].strip() == "1", role(st)
        assert st["Seccomp"].strip() == "2", role(st)  # filter mode
        assert int(st.get("Seccomp_filters", "1")) >= 1


def sanitizer_build(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def test_not_dumpable(srv):
    """Not dumpable: /proc/PID/mem and ptrace need CAP_SYS_PTRACE, so
    children of one uid cannot read each other's memory. Sanitizer builds
    keep children dumpable (LeakSanitizer must stop their threads), so this
    is checked on the plain build beside them."""
    from conftest import CORREU, ROOT, Server
    s = srv
    if sanitizer_build(CORREU):
        plain = os.path.join(ROOT, "build", "correu")
        if not os.path.exists(plain) or sanitizer_build(plain):
            pytest.skip("no plain build to check")
        s = Server(binary=plain)
        s.start()
    try:
        pids = [p for p, st in processes(s).items() if role(st) != "master"]
        assert pids
        for pid in pids + [s.proc.pid]:
            assert os.stat(f"/proc/{pid}/mem").st_uid == 0, pid
    finally:
        if s is not srv:
            s.cleanup()


def test_who_can_open_what(srv):
    data = os.path.join(srv.dir, "data")
    passwd = os.path.join(data, "auth", "passwd.db")
    key = os.path.join(srv.dir, "tls", "key.pem")
    accounts = os.path.join(data, "accounts.db")
    msg_dir = os.path.join(srv.maildir(ALICE), "new")
    message = os.path.join(msg_dir, sorted(os.listdir(msg_dir))[0])
    seen = {}
    for pid, st in processes(srv).items():
        r = role(st)
        if r == "master":
            continue  # reads keys again on reload, through CAP_DAC_READ_SEARCH
        seen[r] = (can_open(st, passwd), can_open(st, key), can_open(st, accounts),
                   can_open(st, message))
    # (password hashes, TLS key, accounts, a message)
    assert seen["auth"] == (True, False, True, False)
    assert seen["worker"] == (False, False, True, True)
    assert seen["queue"] == (False, False, True, True)
    # The webmail is an IMAP client: nothing on disk is its business.
    assert seen["web"] == (False, False, False, False)
    # And what they really hold open.
    for pid, st in processes(srv).items():
        targets = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
        assert key not in targets, role(st)
        if role(st) != "auth":
            assert not any(t.startswith(passwd) for t in targets), role(st)


def test_auth_socket_and_directories(srv):
    data = os.path.join(srv.dir, "data")
    correu = pwd.getpwnam("correu")
    auth = pwd.getpwnam("correu-auth")
    st = os.stat(os.path.join(data, "auth"))
    assert (st.st_uid, st.st_mode & 0o777) == (auth.pw_uid, 0o700)
    st = os.stat(os.path.join(data, "run", "auth.sock"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (auth.pw_uid, correu.pw_gid, 0o660)
    # Logins work through it (the auth process reads accounts.db too).
    import imaplib
    m = imaplib.IMAP4_SSL(srv.host, srv.ports["imaps"], ssl_context=srv.ssl_context())
    assert m.login(ALICE, "alice-pw")[0] == "OK"
    m.logout()


def test_user_passwd_as_root_while_running(srv):
    srv.cli("user", "passwd", ALICE, "--password-stdin", input="new-pw\n")
    auth = pwd.getpwnam("correu-auth")
    data = os.path.join(srv.dir, "data", "auth")
    for n in os.listdir(data):
        assert os.stat(os.path.join(data, n)).st_uid == auth.pw_uid, n
    with srv.smtp("submissions") as s:
        s.login(ALICE, "new-pw")


# --- a real seccomp violation, injected with ptrace ----------------------

class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax "
        "rip cs eflags rsp ss fs_base gs_base ds es fs gs").split()]


PTRACE_PEEKTEXT, PTRACE_CONT, PTRACE_GETREGS, PTRACE_SETREGS = 1, 7, 12, 13
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
WALL = 0x40000000
SYS_UNSHARE = 272


def inject_syscall(pid, nr):
    """Makes pid's main thread execute system call nr; returns the signal
    the kernel answered with (SIGSYS under seccomp), leaving it pending."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    assert libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0, ctypes.get_errno()
    _, st = os.waitpid(pid, WALL)
    assert os.WIFSTOPPED(st)
    regs = Regs()
    assert libc.ptrace(PTRACE_GETREGS, pid, None, ctypes.byref(regs)) == 0
    # The thread sleeps in epoll_wait: rip is just past a syscall
    # instruction (0f 05).
    word = libc.ptrace(PTRACE_PEEKTEXT, pid, ctypes.c_void_p(regs.rip - 2), None)
    assert word & 0xffff == 0x050f, hex(word)
    regs.rip -= 2
    regs.rax = nr
    regs.rdi = 0
    regs.orig_rax = 2**64 - 1  # no syscall restart
    assert libc.ptrace(PTRACE_SETREGS, pid, None, ctypes.byref(regs)) == 0
    assert libc.ptrace(PTRACE_CONT, pid, None, None) == 0
    while True:
        _, st = os.waitpid(pid, WALL)
        assert os.WIFSTOPPED(st), st
        sig = os.WSTOPSIG(st)
        if sig != signal.SIGSTOP:
            break
        libc.ptrace(PTRACE_CONT, pid, None, None)
    # Deliver what the kernel raised and let go.
    libc.ptrace(PTRACE_DETACH, pid, None, ctypes.c_void_p(sig))
    return sig


@pytest.mark.skipif(platform.machine() != "x86_64", reason="register layout of x86_64")
def test_forbidden_syscall_kills_and_restarts(make_server):
    srv = make_server()
    c = srv.raw()
    c.reply()
    workers = [p for p, st in processes(srv).items() if role(st) == "worker"]
    victim = workers[0]
    assert inject_syscall(victim, SYS_UNSHARE) == signal.SIGSYS
    deadline = time.time() + 10
    while time.time() < deadline:
        now = [p for p, st in processes(srv).items() if role(st) == "worker"]
        if victim not in now and len(now) == 2:
            break
        time.sleep(0.1)
    assert victim not in now and len(now) == 2
    log = srv.read_log()
    assert f"correu[{victim}] worker" in log
    assert "sandbox: system call 272 (unshare) is not allowed in the worker process" in log
    assert f"(pid {victim}) killed by signal 31" in log and "outside its sandbox" in log
    # The other worker's session is untouched or the new worker serves.
    with srv.smtp() as s:
        s.sendmail("a@remote.example", [ALICE], b"Subject: after sigsys\r\n\r\nx\r\n")
    c.close()


def test_sandbox_off_for_debugging(make_server):
    srv = make_server(settings={"sandbox": "no"})
    for pid, st in processes(srv).items():
        if role(st) == "master":
            continue
        assert st["Seccomp"].strip() == "0", role(st)
        assert st["NoNewPrivs"].strip() == "1", role(st)
        assert int(st["CapEff"], 16) == 0
    assert "sandbox disabled (sandbox = no)" in srv.read_log()


def served_cert(srv, kind="imaps"):
    import socket
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((srv.host, srv.ports[kind]), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert(binary_form=True)


def free_low_port():
    import socket
    for port in range(1023, 600, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    pytest.skip("no free port below 1024")


def test_reload_after_the_drop(make_server):
    """The master is no longer root when SIGHUP comes: it still reads a
    new key only root may read, and binds a new port below 1024."""
    import subprocess
    srv = make_server()
    before = served_cert(srv)
    tls = os.path.join(srv.dir, "tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", f"{tls}/key2.pem", "-out", f"{tls}/cert2.pem", "-days", "30",
                    "-subj", "/CN=mail.example.test",
                    "-addext", "subjectAltName=DNS:mail.example.test,DNS:localhost"],
                   check=True, capture_output=True)
    os.chmod(f"{tls}/key2.pem", 0o600)
    assert os.stat(f"{tls}/key2.pem").st_uid == 0
    low = free_low_port()
    with open(srv.conf, "a") as f:
        f.write(f"tls_cert = tls/cert2.pem\ntls_key = tls/key2.pem\nhttp_port = {low}\n")
    srv.reload()
    deadline = time.time() + 15
    after = before
    while time.time() < deadline and after == before:
        time.sleep(0.2)
        after = served_cert(srv)
    assert after != before, srv.read_log()[-2000:]
    with open(f"{tls}/cert2.pem") as f:
        import ssl
        assert ssl.DER_cert_to_PEM_cert(after).split() == f.read().split()
    import socket
    with socket.create_connection(("127.0.0.1", low), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 301")
    assert "reload refused" not in srv.read_log()
