"""How the webmail takes messages out of a folder on servers without MOVE
or UIDPLUS: a real correu behind a TLS relay that only hides those
capabilities from the webmail (everything else, COPY, STORE, EXPUNGE and
their effects, is correu's own). Without UIDPLUS the webmail must not
send a plain EXPUNGE, which would also remove another client's \\Deleted
messages; it leaves what it moved or deleted \\Deleted and hides it.
With UIDPLUS (but no MOVE) it expunges exactly its own UIDs."""
import email.utils
import imaplib
import re
import socket
import ssl
import threading

import pytest

from conftest import DOMAIN, Server, pick_port_base

ALICE = "alice@" + DOMAIN


class CapRelay:
    """IMAPS on a loopback port, relayed to srv's IMAPS, with the named
    capabilities removed from CAPABILITY responses and codes. Records the
    client's command lines."""

    def __init__(self, srv, strip):
        self.srv, self.strip = srv, {c.upper() for c in strip}
        self.commands = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.sctx.load_cert_chain(srv.cert, srv.cert.replace("cert.pem", "key.pem"))
        self.cctx = ssl.create_default_context(cafile=srv.cert)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            c = self.sctx.wrap_socket(conn, server_side=True)
            u = self.cctx.wrap_socket(socket.create_connection((self.srv.host, self.srv.ports["imaps"])),
                                      server_hostname="localhost")
        except (OSError, ssl.SSLError):
            conn.close()
            return
        threading.Thread(target=self.pump, args=(c, u, self.record), daemon=True).start()
        self.pump(u, c, self.rewrite)

    def record(self, line):
        self.commands.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        return line

    def rewrite(self, line):
        text = line.decode("latin-1")
        m = re.match(r"^(\* CAPABILITY |\S+ OK \[CAPABILITY )([^\]\r\n]*)(.*)$", text, re.S) or \
            re.match(r"^(\* OK \[CAPABILITY )([^\]\r\n]*)(.*)$", text, re.S)
        if m:
            caps = [c for c in m.group(2).split() if c.upper() not in self.strip]
            text = m.group(1) + " ".join(caps) + m.group(3)
        return text.encode("latin-1")

    @staticmethod
    def pump(src, dst, fn):
        """Line by line, literals passed through untouched."""
        buf = b""
        try:
            while True:
                while b"\n" not in buf:
                    chunk = src.recv(65536)
                    if not chunk:
                        raise EOFError
                    buf += chunk
                line, buf = buf.split(b"\n", 1)
                line += b"\n"
                dst.sendall(fn(line))
                m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
                if m:
                    n = int(m.group(1))
                    while len(buf) < n:
                        chunk = src.recv(65536)
                        if not chunk:
                            raise EOFError
                        buf += chunk
                    dst.sendall(buf[:n])
                    buf = buf[n:]
        except (EOFError, OSError, ssl.SSLError):
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.sock.close()


def start_web(srv, relay):
    """A standalone `correu web` whose IMAP goes through relay: its Server."""
    web = Server(port_base=pick_port_base(), settings={
        "web_imap_host": "127.0.0.1", "web_imap_port": str(relay.port),
        "web_smtp_host": "127.0.0.1", "web_smtp_port": str(srv.ports["submissions"]),
        "web_ca_file": srv.cert})
    web.start_web()
    return web


def message(subject):
    return (f"From: carol@{DOMAIN}\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
            f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{subject}@{DOMAIN}>\r\n\r\n"
            f"{subject}\r\n").encode()


def uid_flags(m, folder):
    """{subject: set of flags} of folder, by a client of its own."""
    m.select(folder)
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = {}
    for item in data:
        if isinstance(item, tuple):
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split())
            subject = item[1].decode().split(":", 1)[1].strip()
            out[subject] = flags
    return out


@pytest.mark.parametrize("strip", [("MOVE", "UIDPLUS"), ("MOVE",)], ids=["plain", "uidplus"])
def test_moves_without_move_or_uidplus(make_server, strip):
    srv = make_server(users=(ALICE,), settings={"web_enabled": "no", "trusted_proxies": "127.0.0.1"})
    m = imaplib.IMAP4_SSL(srv.host, srv.ports["imaps"], ssl_context=srv.ssl_context())
    m.login(ALICE, "alice-pw")
    m.create("Archive")
    for s in ("keep", "theirs", "moved", "gone"):
        m.append("INBOX", None, None, message(s))
    uids = {}
    m.select("INBOX")
    for s in ("keep", "theirs", "moved", "gone"):
        uids[s] = int(m.uid("SEARCH", "SUBJECT", s)[1][0])
    # Another client's deletion, not expunged yet.
    m.uid("STORE", str(uids["theirs"]), "+FLAGS", r"(\Deleted)")
    relay = CapRelay(srv, strip)
    web = start_web(srv, relay)
    try:
        client = web.web_client()
        assert client.login(ALICE, "alice-pw") == 200
        status, info = client.get("/api/session")
        assert status == 200
        status, res = client.post("/api/move", {"folder": "INBOX", "uids": [uids["moved"]],
                                                "to": "Archive"})
        assert status == 200, res
        status, res = client.post("/api/delete", {"folder": "INBOX", "uids": [uids["gone"]],
                                                  "permanent": True})
        assert status == 200, res
        status, page = client.get("/api/messages?folder=INBOX&limit=100")
        assert status == 200, page
        shown = sorted(r["subject"] for r in page["messages"])
        inbox = uid_flags(m, "INBOX")
        archive = uid_flags(m, "Archive")
    finally:
        assert web.stop_web() == 0
        web.cleanup()
        relay.close()
    m.logout()
    sent = [c for c in relay.commands if re.match(r"^W\d+ ", c)]
    assert not any(" MOVE " in c for c in sent), sent
    assert any(re.match(r"^W\d+ UID COPY ", c) for c in sent), sent
    # The other client's pending deletion is never expunged by us.
    assert r"\Deleted" in inbox["theirs"], inbox
    assert list(archive) == ["moved"], archive
    if "UIDPLUS" in strip:
        assert not any("EXPUNGE" in c for c in sent), sent
        # Ours are left \Deleted, and hidden like every \Deleted message.
        assert r"\Deleted" in inbox["moved"] and r"\Deleted" in inbox["gone"], inbox
        assert shown == ["keep"], shown
    else:
        expunges = [c.split(" ", 1)[1] for c in sent if "EXPUNGE" in c]
        assert expunges == [f"UID EXPUNGE {uids['moved']}", f"UID EXPUNGE {uids['gone']}"], sent
        assert sorted(inbox) == ["keep", "theirs"], inbox
        assert shown == ["keep", "theirs"], shown
