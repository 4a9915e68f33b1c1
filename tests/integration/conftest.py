"""Fixtures that run a real `correu serve` on free loopback ports in a
temporary directory, and helpers to talk to it with real clients.

    def test_x(server):            # one server per test module
        server.add_user("bob@example.test", "pw")
        with server.smtp() as s: ...
        assert server.messages("bob@example.test")

    def test_y(make_server):       # a fresh server per call
        srv = make_server(settings={"auth_allow_plaintext": "yes"})

Environment: CORREU_BIN (the binary; default build/correu),
CORREU_SAN_DIR (directory for ASan/UBSan reports of the server)."""
import json
import os
import random
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORREU = os.environ.get("CORREU_BIN", os.path.join(ROOT, "build", "correu"))
DOMAIN = "example.test"
NO_DNS = "127.0.0.1@9"
HOSTNAME = "mail.example.test"
PORT_OFFSETS = {
    "smtp": 25, "submission": 587, "submissions": 465, "imap": 143, "imaps": 993,
    "pop3": 110, "pop3s": 995, "https": 443, "http": 80,
}


def port_free(port, host="127.0.0.1"):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def pick_port_base(hosts=("127.0.0.1",)):
    for _ in range(200):
        # Below the kernel's ephemeral range (32768-60999), so outgoing
        # connections of other tests cannot take our ports meanwhile.
        base = random.randrange(11000, 31000, 1000) + random.randrange(0, 8)
        if all(port_free(base + off, h) for off in PORT_OFFSETS.values() for h in hosts):
            return base
    raise RuntimeError("no free port range")


def sanitizer_env():
    env = dict(os.environ)
    san = os.environ.get("CORREU_SAN_DIR")
    if san:
        env["ASAN_OPTIONS"] = f"log_path={san}/asan:detect_leaks=1:abort_on_error=0"
        env["UBSAN_OPTIONS"] = f"log_path={san}/ubsan:print_stacktrace=1"
    return env


class Server:
    def __init__(self, settings=None, listen=("127.0.0.1",), domain=DOMAIN,
                 hostname=HOSTNAME, port_base=None, init_args=(), binary=None):
        self.bin = binary or CORREU
        self.dir = tempfile.mkdtemp(prefix="correu-test-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.host = listen[0]
        self.domain = domain
        self.hostname = hostname
        self.base = port_base if port_base is not None else pick_port_base(listen)
        self.ports = {k: self.base + v for k, v in PORT_OFFSETS.items()}
        self.conf = os.path.join(self.dir, "correu.conf")
        self.cert = os.path.join(self.dir, "tls", "cert.pem")
        self.logpath = os.path.join(self.dir, "serve.log")
        self.proc = None
        self.users = {}
        args = [self.bin, "init", self.dir, "--domain", domain, "--hostname", hostname,
                "--port-base", str(self.base), "--force"]
        for a in listen:
            args += ["--listen", a]
        # Every test instance names its resolver: nothing on loopback port 9
        # answers, so a lookup fails at once (temporary failure) and no
        # query ever reaches the machine's resolver. Tests that need DNS
        # pass their own (--dns or dns_resolver).
        defaults = {"workers": "2", "log_level": "debug"}
        if "--dns" not in init_args:
            defaults["dns_resolver"] = NO_DNS
        settings = dict(defaults, **(settings or {}))
        for k, v in settings.items():
            args += ["--set", f"{k}={v}"]
        args += list(init_args)
        r = subprocess.run(args, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr + r.stdout

    # --- command line -------------------------------------------------
    def cli(self, *args, input=None, check=True):
        r = subprocess.run([self.bin, "-c", self.conf, *args], input=input,
                           capture_output=True, text=True, env=sanitizer_env())
        if check:
            assert r.returncode == 0, f"correu {' '.join(args)}: {r.stderr}{r.stdout}"
        return r

    def add_user(self, address, password="secret-pw"):
        self.cli("user", "add", address, "--password-stdin", input=password + "\n")
        self.users[address] = password
        return address

    # --- process control ------------------------------------------------
    def start(self, wait=True):
        self.log = open(self.logpath, "a")
        self.proc = subprocess.Popen([self.bin, "-c", self.conf, "serve"], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=sanitizer_env())
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"correu serve exited: {self.read_log()[-3000:]}")
            try:
                with socket.create_connection((self.host, self.ports["smtp"]), timeout=2) as s:
                    s.settimeout(3)
                    if s.recv(100).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        s.recv(100)
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"correu serve not ready: {self.read_log()[-3000:]}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        self.proc = None

    def kill9_all(self):
        """SIGKILL the master and every child at once (power-loss style)."""
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            self.proc.wait()
            self.log.close()
        self.proc = None

    def pids(self):
        """The master and all its children."""
        if self.proc is None:
            return []
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [self.proc.pid] + [int(x) for x in out.split()]

    def imaps(self, user, password):
        """An imaplib client logged in over IMAPS (certificate checked,
        not the name: tests reach the server by address)."""
        import imaplib
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        m = imaplib.IMAP4_SSL(self.host, self.ports["imaps"], ssl_context=ctx)
        m.login(user, password)
        return m

    def web_login(self, user, password, source="127.0.0.1"):
        """POST /api/login to the webmail from a browser at address source
        (any 127/8 address); the HTTP status."""
        return self.web_client(source).login(user, password)

    def web_client(self, source="127.0.0.1", cafile=None, server_hostname="localhost"):
        """A browser of the webmail that keeps its session cookie and CSRF
        token (WebClient)."""
        return WebClient(self.host, self.ports["https"], cafile or self.cert, server_hostname,
                         source)

    def start_web(self, timeout=20):
        """Runs a standalone `correu web` with this configuration (its
        log goes to serve.log) and waits for its HTTPS port."""
        self.weblog = open(self.logpath, "a")
        self.webproc = subprocess.Popen([self.bin, "-c", self.conf, "web"], stdout=self.weblog,
                                        stderr=subprocess.STDOUT, env=sanitizer_env())
        deadline = time.time() + timeout
        while True:
            assert self.webproc.poll() is None, self.read_log()[-3000:]
            try:
                socket.create_connection((self.host, self.ports["https"]), timeout=1).close()
                return self.webproc
            except OSError:
                assert time.time() < deadline, self.read_log()[-3000:]
                time.sleep(0.1)

    def stop_web(self):
        """SIGTERM to the standalone `correu web`; its exit status."""
        proc, self.webproc = self.webproc, None
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        self.weblog.close()
        return rc

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def read_log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- clients ----------------------------------------------------------
    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = True
        return ctx

    def smtp(self, kind="smtp", starttls=False, timeout=30):
        if kind == "submissions":
            s = smtplib.SMTP_SSL(self.host, self.ports[kind], timeout=timeout,
                                 context=self.ssl_context(), local_hostname="client.test")
            s.ehlo()
        else:
            s = smtplib.SMTP(self.host, self.ports[kind], timeout=timeout,
                             local_hostname="client.test")
            s.ehlo()
            if starttls:
                s.starttls(context=self.ssl_context())
                s.ehlo()
        return s

    def raw(self, kind="smtp", timeout=10):
        return RawClient(self.host, self.ports[kind], timeout)

    # --- the store ----------------------------------------------------------
    def maildir(self, address, folder=None):
        local, domain = address.lower().split("@")
        root = os.path.join(self.dir, "data", "mail", domain, local)
        return root if not folder else os.path.join(root, "." + folder)

    def messages(self, address, folder=None):
        """Contents of every message file in new/ and cur/, oldest first."""
        root = self.maildir(address, folder)
        files = []
        for sub in ("new", "cur"):
            d = os.path.join(root, sub)
            if os.path.isdir(d):
                files += [os.path.join(d, n) for n in os.listdir(d)]
        files.sort(key=lambda p: (os.stat(p).st_mtime_ns, p))
        out = []
        for p in files:
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def wait_messages(self, address, count, timeout=15, folder=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msgs = self.messages(address, folder)
            if len(msgs) >= count:
                return msgs
            time.sleep(0.05)
        return self.messages(address, folder)


class WebClient:
    """Requests to the webmail over HTTPS, one connection each, carrying
    the session cookie and CSRF token a login gave."""

    def __init__(self, host, port, cafile, server_hostname="localhost", source="127.0.0.1"):
        self.host, self.port, self.source = host, port, source
        self.server_hostname = server_hostname
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, content_type="application/json"):
        """(status, headers as a lower-case dict, body bytes)."""
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        raw = socket.socket()
        raw.bind((self.source, 0))
        raw.settimeout(30)
        raw.connect((self.host, self.port))
        s = self.ctx.wrap_socket(raw, server_hostname=self.server_hostname)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.server_hostname}\r\nConnection: close\r\n"
        if self.cookie:
            head += f"Cookie: {self.cookie}\r\n"
        if method == "POST":
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body or b'')}\r\n"
            if self.csrf:
                head += f"X-CSRF-Token: {self.csrf}\r\n"
        s.sendall(head.encode() + b"\r\n" + (body or b""))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        header, _, rest = data.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k.strip().lower(), v.strip())
        if headers.get("transfer-encoding", "").lower() == "chunked":
            out = b""
            while True:
                size, _, rest = rest.partition(b"\r\n")
                n = int(size.split(b";")[0], 16)
                if n == 0:
                    break
                out += rest[:n]
                rest = rest[n + 2:]
            rest = out
        return int(lines[0].split(" ", 2)[1]), headers, rest

    def get(self, path):
        status, _, body = self.request("GET", path)
        return status, (json.loads(body) if body[:1] in (b"{", b"[") else body)

    def post(self, path, obj):
        status, _, body = self.request("POST", path, obj)
        return status, (json.loads(body) if body[:1] in (b"{", b"[") else body)

    def login(self, user, password):
        """POST /api/login; the HTTP status. Keeps the session."""
        status, headers, body = self.request("POST", "/api/login",
                                             {"user": user, "password": password})
        if status == 200:
            self.cookie = headers["set-cookie"].split(";", 1)[0]
            self.csrf = json.loads(body)["csrf"]
        return status


class RawClient:
    """A line-oriented client that can send anything, for protocol tests."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """One SMTP reply (all its lines); returns (code, text)."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        return int(lines[-1][:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def starttls(self, ctx, server_hostname):
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.buf = b""

    def closed(self, timeout=5):
        """Whether the server closed the connection."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture(scope="module")
def server():
    srv = Server()
    srv.add_user("alice@" + DOMAIN, "alice-pw")
    srv.add_user("bob@" + DOMAIN, "bob-pw")
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture
def make_server():
    made = []

    def make(start=True, users=("alice@" + DOMAIN,), **kw):
        srv = Server(**kw)
        for u in users:
            srv.add_user(u, u.split("@")[0] + "-pw")
        if start:
            srv.start()
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.cleanup()
