"""trusted_proxies (docs/security.md, "Limits"): a webmail on another host
(`correu web` alone) logs in to IMAP for browsers anywhere. When its
address is in the mail server's trusted_proxies, the server believes the
browser's address it names in IMAP ID (x-originating-ip), so failed
logins count against that browser and not against every webmail user,
and its connections pass max_connections_per_ip. Nobody else's ID is
believed. The proxy is played by a client socket bound to 127.0.0.2
(anyone else: 127.0.0.3), then by a real standalone `correu web`."""
import socket
import time

from conftest import DOMAIN, Server, pick_port_base

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
PROXY = "127.0.0.2"
OTHER = "127.0.0.3"
THROTTLE = {"auth_fail_block_after": "3", "auth_fail_delay_max": "0"}


class Imap:
    """A minimal IMAPS client whose socket has a chosen source address."""

    def __init__(self, srv, source):
        raw = socket.socket()
        raw.bind((source, 0))
        raw.settimeout(30)
        raw.connect((srv.host, srv.ports["imaps"]))
        self.sock = srv.ssl_context().wrap_socket(raw, server_hostname="localhost")
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def cmd(self, text):
        """Sends a command; returns its tagged reply line."""
        self.n += 1
        tag = f"t{self.n}"
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return line[len(tag) + 1:]

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, EOFError):
            pass
        self.sock.close()


def login(srv, source, user, password, origin=None):
    """LOGIN from source, after an ID naming origin when given."""
    c = Imap(srv, source)
    try:
        assert c.greeting.startswith("* OK"), c.greeting
        if origin is not None:
            assert c.cmd(f'ID ("name" "proxy" "x-originating-ip" "{origin}")').startswith("OK")
        return c.cmd(f'LOGIN "{user}" "{password}"')
    finally:
        c.close()


def guesses(srv, source, origin, n=3):
    """n failed logins (unknown accounts, so no account gets blocked)."""
    for i in range(n):
        r = login(srv, source, f"nobody{i}@{DOMAIN}", "guess", origin)
        assert "[AUTHENTICATIONFAILED]" in r, r


def test_failures_through_a_trusted_proxy_count_per_origin(make_server):
    srv = make_server(users=(ALICE, BOB), listen=("127.0.0.1",),
                      settings=dict(THROTTLE, trusted_proxies=f"{PROXY} 2001:db8::/64"))
    guesses(srv, PROXY, "192.0.2.7")
    # That browser is blocked, even with a right password...
    assert "[UNAVAILABLE]" in login(srv, PROXY, BOB, "bob-pw", "192.0.2.7")
    # ...another browser behind the same proxy is not, nor is the proxy.
    assert login(srv, PROXY, BOB, "bob-pw", "192.0.2.8").startswith("OK")
    assert login(srv, PROXY, ALICE, "alice-pw", "2001:db8:1::5").startswith("OK")
    assert login(srv, PROXY, ALICE, "alice-pw").startswith("OK")
    log = srv.read_log()
    # Both addresses in the log: what was counted, and where it came from.
    assert f"speaking for 192.0.2.7 (trusted proxy {PROXY})" in log
    assert f"login failed from 192.0.2.7 via {PROXY}" in log
    assert "login failed: user=<nobody0@example.test> ip=192.0.2.7" in log
    assert f"logged in {BOB} from 192.0.2.8 via {PROXY}" in log
    assert f"logged in {ALICE} from {PROXY}\n" in log


def test_id_from_anyone_else_is_not_believed(make_server):
    srv = make_server(users=(ALICE, BOB), settings=dict(THROTTLE, trusted_proxies=PROXY))
    guesses(srv, OTHER, "192.0.2.20")
    # Counted against the connecting address, whatever ID says.
    assert "[UNAVAILABLE]" in login(srv, OTHER, BOB, "bob-pw", "192.0.2.21")
    assert "[UNAVAILABLE]" in login(srv, OTHER, BOB, "bob-pw")
    log = srv.read_log()
    assert "speaking for" not in log
    assert f"login failed: user=<nobody0@example.test> ip={OTHER}" in log
    # The address it named was never counted.
    assert login(srv, PROXY, BOB, "bob-pw", "192.0.2.20").startswith("OK")
    # After login, even a trusted proxy's ID changes nothing.
    c = Imap(srv, PROXY)
    assert c.cmd(f'LOGIN "{ALICE}" "alice-pw"').startswith("OK")
    assert c.cmd('ID ("x-originating-ip" "192.0.2.30")').startswith("OK")
    c.close()
    assert "speaking for 192.0.2.30" not in srv.read_log()


def greet(srv, kind, source):
    raw = socket.socket()
    raw.bind((source, 0))
    raw.settimeout(10)
    raw.connect((srv.host, srv.ports[kind]))
    s = srv.ssl_context().wrap_socket(raw, server_hostname="localhost")
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return s, data.split(b"\r\n")[0]


def test_trusted_proxy_passes_the_per_ip_limit(make_server):
    srv = make_server(settings={"max_connections_per_ip": "2", "trusted_proxies": PROXY})
    held = []
    try:
        for kind, ok in (("imaps", b"* OK"), ("submissions", b"220 ")):
            for _ in range(5):
                s, line = greet(srv, kind, PROXY)
                held.append(s)
                assert line.startswith(ok), (kind, line)
            for _ in range(2):
                s, line = greet(srv, kind, OTHER)
                held.append(s)
                assert line.startswith(ok), (kind, line)
            s, line = greet(srv, kind, OTHER)
            held.append(s)
            assert not line.startswith(ok), (kind, line)
    finally:
        for s in held:
            s.close()


def test_trusted_proxies_reload(make_server):
    srv = make_server(settings={"auth_fail_delay_max": "0"})
    guesses(srv, PROXY, "192.0.2.40", n=1)
    assert "speaking for 192.0.2.40" not in srv.read_log()
    with open(srv.conf, "a") as f:
        f.write("trusted_proxies = 127.0.0.0/30\n")
    srv.reload()
    deadline = time.time() + 15
    while "speaking for 192.0.2.41" not in srv.read_log():
        assert time.time() < deadline, srv.read_log()[-3000:]
        guesses(srv, PROXY, "192.0.2.41", n=1)
        time.sleep(0.2)
    # A network with host bits set is refused, naming it.
    with open(srv.conf, "a") as f:
        f.write("trusted_proxies = 127.0.0.1/8\n")
    r = srv.cli("check-config", check=False)
    assert r.returncode != 0 and "trusted_proxies: \"127.0.0.1/8\"" in r.stderr, r.stderr


def start_web(srv, throttle):
    """A standalone `correu web` in front of srv, started: its Server."""
    web = Server(port_base=pick_port_base(), settings=dict(
        throttle, web_imap_host="127.0.0.1", web_imap_port=str(srv.ports["imaps"]),
        web_smtp_host="127.0.0.1", web_smtp_port=str(srv.ports["submissions"]),
        web_ca_file=srv.cert))
    web.start_web()
    return web


def test_standalone_web_names_the_browser(make_server):
    """A `correu web` of its own (no token) names the browser in ID; the
    mail server trusts its address (127.0.0.1: loopback connections to
    any 127/8 address leave from it). Before, three failures from any
    browser blocked every webmail login at the mail server."""
    srv = make_server(users=(ALICE, BOB),
                      settings=dict(THROTTLE, web_enabled="no", trusted_proxies="127.0.0.1"))
    web = start_web(srv, THROTTLE)
    try:
        for i in range(3):
            assert web.web_login(f"nobody{i}@{DOMAIN}", "guess", "127.0.0.5") == 401
        assert web.web_login(BOB, "bob-pw", "127.0.0.5") == 429
        assert web.web_login(BOB, "bob-pw", "127.0.0.6") == 200
        assert web.web_login(ALICE, "alice-pw", "127.0.0.7") == 200
        slog = srv.read_log()
        assert "speaking for 127.0.0.5 (trusted proxy 127.0.0.1)" in slog
        assert "login failed: user=<nobody2@example.test> ip=127.0.0.5" in slog
        assert f"logged in {BOB} from 127.0.0.6 via 127.0.0.1" in slog
        assert "x-correu-proxy" not in slog  # it has no token to send
    finally:
        web.stop_web()
        web.cleanup()
    assert "killed by signal" not in srv.read_log()


def test_standalone_web_reports_a_server_block(make_server):
    """When the mail server blocks a browser sooner than the webmail's own
    throttle would, its NO [UNAVAILABLE] is shown as "try later" (503),
    not as a wrong password, and not counted again by the webmail."""
    srv = make_server(users=(ALICE,),
                      settings=dict(THROTTLE, web_enabled="no", trusted_proxies="127.0.0.1"))
    web = start_web(srv, {"auth_fail_block_after": "10", "auth_fail_delay_max": "0"})
    try:
        for i in range(3):
            assert web.web_login(f"nobody{i}@{DOMAIN}", "guess", "127.0.0.5") == 401
        assert web.web_login(ALICE, "alice-pw", "127.0.0.5") == 503
        assert web.web_login(ALICE, "alice-pw", "127.0.0.6") == 200
        assert "refused for now" in web.read_log()
    finally:
        web.stop_web()
        web.cleanup()
