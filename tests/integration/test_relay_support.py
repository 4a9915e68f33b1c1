"""Helpers for the relay and submission tests (no tests here).

- Unbound: a real unbound on 127.0.0.1 with local zones for the test
  domains; it refuses everything else, so nothing reaches the system
  resolver or the Internet.
- FakeSMTP: a small SMTP server on a loopback address that can misbehave
  (no 8BITMIME, endless or over-long replies, bad codes, slow drip, a
  final reply that takes its time) and records what it receives.
- Relay: two correu instances, A on 127.0.0.1 (a.test) and B on 127.0.0.2
  (b.test), same high ports, both using the unbound above."""
import os
import random
import re
import socket
import subprocess
import threading
import time

from conftest import CORREU, Server, pick_port_base

UNBOUND = "/usr/sbin/unbound"


def free_port(host="127.0.0.1"):
    """A port free for both UDP and TCP on host, above every port a
    server's port base can use (11000-31002, conftest.pick_port_base) and
    below the ephemeral range: a resolver picked after a Relay's base
    once took that instance's HTTP port."""
    for _ in range(200):
        port = random.randrange(31100, 32700)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
                u.bind((host, port))
                t.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


class Unbound:
    """records: list of (name, type, data), e.g. ("b.test", "MX", "10 mx.b.test.")."""

    def __init__(self, records):
        self.dir = os.path.join("/tmp", f"correu-unbound-{os.getpid()}-{random.randrange(1 << 30)}")
        os.makedirs(self.dir)
        self.port = free_port()
        zones = sorted({name.split(".", 1)[1] if name.count(".") > 1 else name
                        for name, _, _ in records} | {"a.test", "b.test"})
        lines = [
            "server:",
            f"  interface: 127.0.0.1@{self.port}",
            f"  port: {self.port}",
            "  do-ip6: no",
            "  access-control: 127.0.0.0/8 allow",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{self.dir}"',
            f'  pidfile: "{self.dir}/unbound.pid"',
            "  use-syslog: no",
            '  logfile: ""',
            "  verbosity: 1",
            "  do-not-query-localhost: no",
            '  module-config: "iterator"',
            # test. is a special-use name unbound would answer itself;
            # everything outside our zones is refused (no recursion).
            '  local-zone: "test." nodefault',
            '  local-zone: "." refuse',
        ]
        for z in zones:
            lines.append(f'  local-zone: "{z}." static')
        for name, rtype, data in records:
            lines.append(f'  local-data: "{name}. 60 IN {rtype} {data}"')
        lines += ["remote-control:", "  control-enable: no"]
        self.conf = os.path.join(self.dir, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.dir, "unbound.log"), "w")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited: " + open(self.log.name).read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("unbound did not start")

    @property
    def addr(self):
        return f"127.0.0.1@{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        subprocess.run(["rm", "-rf", self.dir])


class FakeSMTP:
    """A minimal SMTP server. mode:
    normal    plain ESMTP without 8BITMIME/SMTPUTF8/CHUNKING, records messages
    endless   an endless multi-line greeting
    longline  a greeting line of 100 kB
    badcode   a greeting with a malformed code
    drip      the greeting one byte per drip seconds
    slowdot   the first message's final reply comes after slow seconds
    oneshot   one message per connection: the next command gets the
              connection closed without a reply (an idle-closed cache)
    """

    def __init__(self, host, port, mode="normal", caps=("PIPELINING", "SIZE 10000000"),
                 drip=0.7, slow=6.0):
        self.host, self.port, self.mode = host, port, mode
        self.caps = list(caps)
        self.drip, self.slow = drip, slow
        self.messages = []          # (mail_from, [rcpts], data bytes)
        self.commands = []
        self.connections = 0
        self.dots = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()

    def _session(self, c):
        with self.lock:
            self.connections += 1
        c.settimeout(30)
        try:
            self._talk(c)
        except OSError:
            pass
        finally:
            c.close()

    def _talk(self, c):
        f = c.makefile("rb")
        if self.mode == "endless":
            c.sendall(b"220-hello\r\n")
            while not self.stopping:
                c.sendall(b"220-" + b"x" * 60 + b"\r\n" * 1)
            return
        if self.mode == "longline":
            c.sendall(b"220 " + b"x" * 100000 + b"\r\n")
            f.readline()
            return
        if self.mode == "badcode":
            c.sendall(b"2x0 what kind of code is this\r\n")
            f.readline()
            return
        if self.mode == "drip":
            for b in b"220 slowly but surely\r\n":
                if self.stopping:
                    return
                c.sendall(bytes([b]))
                time.sleep(self.drip)
            f.readline()
            return
        c.sendall(b"220 fake.test ESMTP fake\r\n")
        mail_from, rcpts = None, []
        done_here = 0
        while True:
            line = f.readline()
            if not line:
                return
            if self.mode == "oneshot" and done_here >= 1:
                return
            cmd = line.rstrip(b"\r\n").decode("latin-1")
            with self.lock:
                self.commands.append(cmd)
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                lines = ["fake.test"] + self.caps
                out = "".join(f"250-{l}\r\n" for l in lines[:-1]) + f"250 {lines[-1]}\r\n"
                c.sendall(out.encode())
            elif verb == "HELO":
                c.sendall(b"250 fake.test\r\n")
            elif verb == "MAIL":
                mail_from, rcpts = re.search(r"<(.*?)>", cmd).group(1), []
                c.sendall(b"250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                rcpts.append(re.search(r"<(.*?)>", cmd).group(1))
                c.sendall(b"250 2.1.5 Ok\r\n")
            elif verb == "DATA":
                c.sendall(b"354 go ahead\r\n")
                data = b""
                while True:
                    l = f.readline()
                    if not l or l == b".\r\n":
                        break
                    data += l[1:] if l.startswith(b"..") else l
                with self.lock:
                    self.dots += 1
                    first = self.dots == 1
                if self.mode == "slowdot" and first:
                    time.sleep(self.slow)
                with self.lock:
                    self.messages.append((mail_from, rcpts, data))
                done_here += 1
                c.sendall(b"250 2.0.0 Ok: queued\r\n")
            elif verb == "RSET":
                mail_from, rcpts = None, []
                c.sendall(b"250 2.0.0 Ok\r\n")
            elif verb == "NOOP":
                c.sendall(b"250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                c.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                c.sendall(b"502 5.5.1 not implemented\r\n")


def queue_lines(server):
    return server.cli("queue", "list").stdout


def queue_entry(server, rcpt):
    """The (status text) shown after <rcpt> in `queue list`, or None if
    the recipient is not queued."""
    for line in queue_lines(server).splitlines():
        m = re.match(r"\s+<([^>]*)>\s*(?:\((.*)\))?$", line)
        if m and m.group(1) == rcpt:
            return m.group(2) or ""
    return None


def wait_for(pred, timeout=20, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


def queue_process_pid(server):
    for pid in server.pids():
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "correu-queue":
                    return pid
        except OSError:
            pass
    return None


def sendmail(server, args, message):
    """Runs `correu sendmail ARGS < message`."""
    return subprocess.run([CORREU, "-c", server.conf, "sendmail", *args],
                          input=message.encode() if isinstance(message, str) else message,
                          capture_output=True)


class Relay:
    """Instances A (a.test on 127.0.0.1) and B (b.test on 127.0.0.2) on the
    same ports, resolving through one unbound."""

    def __init__(self, records=(), a_settings=None, b_settings=None, extra_hosts=()):
        base = pick_port_base(("127.0.0.1", "127.0.0.2") + tuple(extra_hosts))
        self.port = base + 25
        recs = [
            ("a.test", "MX", "10 mx.a.test."), ("mx.a.test", "A", "127.0.0.1"),
            ("b.test", "MX", "10 mx.b.test."), ("mx.b.test", "A", "127.0.0.2"),
        ] + list(records)
        self.dns = Unbound(recs)
        common = ["--dns", self.dns.addr, "--smtp-out-port", str(self.port)]
        self.a = Server(settings=dict({"smtp_out_timeout": "5s",
                                       "smtp_out_connect_timeout": "5s"}, **(a_settings or {})),
                        listen=("127.0.0.1",), domain="a.test", hostname="mx.a.test",
                        port_base=base, init_args=common)
        self.b = Server(settings=b_settings, listen=("127.0.0.2",), domain="b.test",
                        hostname="mx.b.test", port_base=base, init_args=common)
        self.a.add_user("alice@a.test", "alice-pw")
        self.b.add_user("bob@b.test", "bob-pw")

    def start(self):
        self.a.start()
        self.b.start()
        for s in (self.a, self.b):
            assert wait_for(lambda: queue_process_pid(s) is not None, 20), "no queue process"
            # The queue process announces itself once its socket is bound.
            assert wait_for(lambda: "queue: ready" in s.read_log(), 20), s.read_log()[-2000:]
        return self

    def cleanup(self):
        for s in (self.a, self.b):
            s.cleanup()
        self.dns.stop()
