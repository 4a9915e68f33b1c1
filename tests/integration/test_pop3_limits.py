"""POP3 abuse limits: each is exceeded and answered with a clean -ERR
and a close (or, for long lines, a -ERR and the session goes on); the
server keeps serving and nothing is deleted by a session that did not
reach QUIT."""
import socket
import time

from conftest import DOMAIN

ALICE = "alice@" + DOMAIN


class Raw:
    def __init__(self, srv, kind="pop3", tls=False):
        s = socket.create_connection((srv.host, srv.ports[kind]), timeout=15)
        if tls:
            s = srv.ssl_context().wrap_socket(s, server_hostname=srv.host)
        self.sock = s
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode()

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def login(srv, user=ALICE):
    c = Raw(srv, "pop3s", tls=True)
    assert c.line().startswith("+OK")
    assert c.cmd("USER " + user).startswith("+OK")
    r = c.cmd("PASS " + user.split("@")[0] + "-pw")
    assert r.startswith("+OK"), r
    return c


def test_too_many_errors(make_server):
    srv = make_server(settings={"pop3_max_errors": "3"})
    c = Raw(srv)
    c.line()
    assert c.cmd("BOGUS") == "-ERR Unknown command"
    assert c.cmd("RETR x") == "-ERR Invalid message number"
    assert c.cmd("BOGUS") == "-ERR Too many errors, disconnecting"
    assert c.closed()
    c2 = Raw(srv)
    assert c2.line().startswith("+OK")


def test_too_many_commands(make_server):
    srv = make_server(settings={"pop3_max_commands": "5"})
    with srv.smtp() as s:
        s.sendmail("a@remote.example", [ALICE], b"Subject: x\r\n\r\ny\r\n")
    srv.wait_messages(ALICE, 1)
    c = Raw(srv)
    c.line()
    for _ in range(5):
        assert c.cmd("CAPA").startswith("+OK")
        while c.line() != ".":
            pass
    assert c.cmd("CAPA") == "-ERR Too many commands, disconnecting"
    assert c.closed()
    # Logged in, the allowance grows with the maildrop: four per message.
    c = login(srv)  # USER and PASS count; the budget is now 5 + 4 * 1
    for _ in range(7):
        assert c.cmd("NOOP") == "+OK"
    assert c.cmd("NOOP") == "-ERR Too many commands, disconnecting"
    assert c.closed()


def test_idle_timeout_deletes_nothing(make_server):
    srv = make_server(settings={"pop3_timeout": "2s"})
    with srv.smtp() as s:
        s.sendmail("a@remote.example", [ALICE], b"Subject: x\r\n\r\ny\r\n")
    srv.wait_messages(ALICE, 1)
    c = login(srv)
    assert c.cmd("DELE 1").startswith("+OK")
    # RFC 1939 3: the autologout timer does not enter UPDATE.
    c.sock.settimeout(15)
    assert c.line() == "-ERR Disconnected for inactivity."
    assert c.closed()
    assert len(srv.messages(ALICE)) == 1
    # The lock went with the session.
    c = login(srv)
    assert c.cmd("STAT").startswith("+OK 1 ")
    assert c.cmd("QUIT").startswith("+OK")


def test_line_too_long(make_server):
    srv = make_server()
    c = Raw(srv)
    c.line()
    c.send("USER " + "a" * 5000 + "\r\n")
    assert c.line() == "-ERR Line too long"
    # The rest of that line is dropped; the session goes on.
    assert c.cmd("NOOP") == "-ERR Not logged in"
    c.send("B" * 200000)
    assert c.line() == "-ERR Line too long"
    c.send("\r\n")
    assert c.cmd("QUIT").startswith("+OK")
    assert c.closed()


def test_sasl_response_too_long(make_server):
    srv = make_server()
    c = Raw(srv, "pop3s", tls=True)
    c.line()
    assert c.cmd("AUTH PLAIN") == "+ "
    c.send("A" * 20000 + "\r\n")
    assert c.line() == "-ERR [AUTH] Authentication failed: response too long."
    assert c.cmd("NOOP") == "-ERR Not logged in"


def test_connections_per_ip(make_server):
    srv = make_server(settings={"max_connections_per_ip": "2"})
    held = [Raw(srv), Raw(srv)]
    for h in held:
        assert h.line().startswith("+OK")
    extra = Raw(srv)
    assert extra.line() == "-ERR [SYS/TEMP] too many connections"
    assert extra.closed()
    # POP3S (counted apart): no plaintext reply on a TLS port, a close.
    held_tls = [Raw(srv, "pop3s", tls=True), Raw(srv, "pop3s", tls=True)]
    for h in held_tls:
        assert h.line().startswith("+OK")
    # Over the limit on the TLS port: the refusal comes inside TLS.
    extra_tls = Raw(srv, "pop3s", tls=True)
    assert extra_tls.line() == "-ERR [SYS/TEMP] too many connections"
    assert extra_tls.closed()
    held[0].cmd("QUIT")
    deadline = time.time() + 5
    while True:
        c = Raw(srv)
        line = c.line()
        if line.startswith("+OK") or time.time() > deadline:
            break
        time.sleep(0.1)
    assert line.startswith("+OK")
