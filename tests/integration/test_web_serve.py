"""The webmail of `correu serve` with a certificate from a CA (not
self-signed, not naming localhost): it checks its own IMAP and
submission servers against that very certificate (pinned) and the name
it carries; a wrong pin fails cleanly; a reload (SIGHUP) keeps the
browsers' sessions and hands over new certificates; a failed login waits
for one throttle delay, not two."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import DOMAIN, Server, pick_port_base

ALICE = "alice@" + DOMAIN
NAME = "mail.example.test"


@pytest.fixture
def tmp_path():
    """Certificates the web user can read (except the keys)."""
    d = tempfile.mkdtemp(prefix="correu-certs-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d):
    """A throw-away CA in d: (ca.pem, ca-key.pem)."""
    ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca-key.pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "2", "-subj", "/CN=Correu Test CA", "-keyout", cakey, "-out", ca,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return ca, cakey


def make_leaf(d, ca, cakey, tag, name=NAME):
    """A certificate for name issued by the CA (not self-signed, no
    localhost), with the CA in its chain file, and a key only root may
    read: (fullchain.pem, key.pem, leaf DER)."""
    key, csr = os.path.join(d, f"{tag}-key.pem"), os.path.join(d, f"{tag}.csr")
    leaf, chain = os.path.join(d, f"{tag}.pem"), os.path.join(d, f"{tag}-fullchain.pem")
    ext = os.path.join(d, f"{tag}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{name}\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={name}", "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", leaf)
    with open(chain, "w") as out:
        for p in (leaf, ca):
            with open(p) as f:
                out.write(f.read())
    os.chmod(key, 0o600)  # as a CA's client leaves it: root only
    der = ssl.PEM_cert_to_DER_cert(open(leaf).read())
    return chain, key, der


def served_cert(srv, port, cafile):
    """The DER certificate the server shows for NAME on port."""
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((srv.host, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=NAME) as s:
            return s.getpeercert(binary_form=True)


def wait_log(srv, text, timeout=20, log=None):
    deadline = time.time() + timeout
    while True:
        got = (log or srv.read_log)()
        if text in got:
            return got
        assert time.time() < deadline, f"no {text!r} in the log: {got[-3000:]}"
        time.sleep(0.1)


def web_pid(srv):
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(srv.proc.pid)],
                         capture_output=True, text=True).stdout
    pids = [int(line.split()[0]) for line in out.splitlines() if line.split()[1] == "correu-web"]
    assert len(pids) == 1, out
    return pids[0]


def test_webmail_with_a_certificate_from_a_ca(make_server, tmp_path):
    """The defaults (web_ca_file empty, web_imap_host = localhost) with a
    CA-issued certificate for mail.example.test: the webmail logs in,
    lists folders and sends through submission. Before, every login
    failed: the leaf was used as a CA file and "localhost" was checked."""
    ca, cakey = make_ca(tmp_path)
    chain, key, der = make_leaf(tmp_path, ca, cakey, "leaf")
    srv = make_server(settings={"tls_cert": chain, "tls_key": key}, hostname=NAME)
    assert served_cert(srv, srv.ports["imaps"], ca) == der
    log = wait_log(srv, "certificate checked against tls_cert (pinned) for " + NAME)
    web = srv.web_client(cafile=ca, server_hostname=NAME)
    assert web.login(ALICE, "alice-pw") == 200
    status, folders = web.get("/api/folders")
    assert status == 200 and any(f["id"] == "INBOX" for f in folders["folders"]), folders
    status, res = web.post("/api/send", {"to": ALICE, "subject": "pinned", "text": "hello"})
    assert status == 200, res
    assert any(b"Subject: pinned" in m for m in srv.wait_messages(ALICE, 1))
    log = srv.read_log()
    assert "certificate verify failed" not in log
    assert "web: web:" not in log


def start_web(srv, tmp_path, settings):
    """A standalone `correu web` with srv's settings and these, started:
    (its process, its Server)."""
    web = Server(port_base=pick_port_base(), hostname=NAME, settings=dict(
        {"web_imap_port": str(srv.ports["imaps"]), "web_smtp_port": str(srv.ports["submissions"])},
        **settings))
    return web.start_web(), web


def stop_web(proc, web):
    rc = web.stop_web()
    web.cleanup()
    return rc


def test_wrong_pin_or_name_fails_cleanly(make_server, tmp_path):
    """Another certificate for the same name from the same CA is not the
    pinned one: refused. With web_ca_file set, the host's name is
    checked as usual (here "localhost", which the certificate does not
    carry). Each login answers 502 and the webmail goes on."""
    ca, cakey = make_ca(tmp_path)
    chain, key, _ = make_leaf(tmp_path, ca, cakey, "leaf")
    chain2, key2, _ = make_leaf(tmp_path, ca, cakey, "other")
    srv = make_server(settings={"tls_cert": chain, "tls_key": key, "web_enabled": "no",
                                "trusted_proxies": "127.0.0.1"}, hostname=NAME)
    for settings in ({"tls_cert": chain2, "tls_key": key2},
                     {"tls_cert": chain2, "tls_key": key2, "web_ca_file": ca}):
        proc, web = start_web(srv, tmp_path, settings)
        try:
            client = web.web_client(cafile=ca, server_hostname=NAME)
            assert client.login(ALICE, "alice-pw") == 502
            assert client.login(ALICE, "alice-pw") == 502
            wlog = web.read_log()
            assert "mail server unreachable" in wlog and "certificate verify failed" in wlog, wlog
            assert proc.poll() is None
        finally:
            assert stop_web(proc, web) == 0
    # The right pin (the server's own certificate) is accepted.
    proc, web = start_web(srv, tmp_path, {"tls_cert": chain, "tls_key": key})
    try:
        assert web.web_client(cafile=ca, server_hostname=NAME).login(ALICE, "alice-pw") == 200
    finally:
        assert stop_web(proc, web) == 0


def test_reload_keeps_webmail_sessions(make_server, tmp_path):
    """SIGHUP to correu serve: the web process stays, its sessions go on,
    new connections get the new certificate (handed over by the master:
    the web user cannot read the key), and the pin follows it. A change
    that needs a new web process (its mail server) still restarts it."""
    ca, cakey = make_ca(tmp_path)
    chain, key, der = make_leaf(tmp_path, ca, cakey, "leaf")
    chain2, key2, der2 = make_leaf(tmp_path, ca, cakey, "renewed")
    srv = make_server(settings={"tls_cert": chain, "tls_key": key}, hostname=NAME)
    wait_log(srv, "webmail ready")
    web = srv.web_client(cafile=ca, server_hostname=NAME)
    assert web.login(ALICE, "alice-pw") == 200
    assert web.get("/api/folders")[0] == 200
    pid = web_pid(srv)
    with open(srv.conf, "a") as f:
        f.write(f"tls_cert = {chain2}\ntls_key = {key2}\nweb_session_timeout = 45m\n")
    srv.reload()
    wait_log(srv, "configuration reloaded, with its certificates; 1 session kept")
    assert web_pid(srv) == pid
    assert web.get("/api/folders")[0] == 200
    assert served_cert(srv, srv.ports["https"], ca) == der2
    deadline = time.time() + 15
    while served_cert(srv, srv.ports["imaps"], ca) != der2:  # the new workers
        assert time.time() < deadline
        time.sleep(0.1)
    # A new login checks the new certificate of the new workers.
    web2 = srv.web_client(cafile=ca, server_hostname=NAME)
    assert web2.login(ALICE, "alice-pw") == 200
    assert web2.get("/api/folders")[0] == 200
    assert web.get("/api/folders")[0] == 200
    # The mail server the sessions are logged in to: a new web process.
    with open(srv.conf, "a") as f:
        f.write("web_imap_host = 127.0.0.1\n")
    srv.reload()
    wait_log(srv, "web: web_imap_host changed; restarting it")
    deadline = time.time() + 20
    while True:
        try:
            if web_pid(srv) != pid:
                break
        except AssertionError:
            pass
        assert time.time() < deadline
        time.sleep(0.1)
    deadline = time.time() + 20
    while True:
        try:
            status = web.get("/api/folders")[0]
            break
        except OSError:
            assert time.time() < deadline
            time.sleep(0.1)
    assert status == 401
    died = re.findall(r"master: \w+ \d+ \(pid \d+\) killed by signal.*", srv.read_log())
    assert not died, died


def test_failed_login_waits_once(make_server):
    """correu's IMAP server delays a NO by its throttle (counting the
    browser's address from ID); the webmail waits only for what is left
    of its own delay, which counts the same failures: nothing."""
    srv = make_server(settings={"auth_fail_delay_max": "2s", "auth_fail_block_after": "10"})
    web = srv.web_client(source="127.0.0.9")
    assert [web.login(ALICE, f"guess{i}") for i in range(3)] == [401] * 3
    lines = re.findall(r"login failed for \S+ from 127\.0\.0\.9 \(the server took (\d+) ms, "
                       r"waiting (\d+) ms more\)", srv.read_log())
    assert len(lines) == 3, srv.read_log()[-3000:]
    for took, more in lines:
        assert int(more) == 0, lines
    assert int(lines[-1][0]) >= 900, lines  # the server's third delay: 1 s


def test_standalone_reload_keeps_sessions(make_server, tmp_path):
    """SIGHUP to a standalone `correu web`: it re-reads its file and keeps
    the sessions; a key only root may read cannot be re-read by the web
    user, so the certificates stay those of the start (said in the log)."""
    ca, cakey = make_ca(tmp_path)
    chain, key, der = make_leaf(tmp_path, ca, cakey, "leaf")
    srv = make_server(settings={"tls_cert": chain, "tls_key": key, "web_enabled": "no",
                                "trusted_proxies": "127.0.0.1"}, hostname=NAME)
    proc, web = start_web(srv, tmp_path, {"tls_cert": chain, "tls_key": key,
                                          "syslog_facility": "local3"})
    try:
        client = web.web_client(cafile=ca, server_hostname=NAME)
        assert client.login(ALICE, "alice-pw") == 200
        with open(web.conf, "a") as f:
            f.write("web_session_timeout = 45m\n")
        proc.send_signal(signal.SIGHUP)
        wlog = wait_log(web, "configuration reloaded; 1 session kept")
        assert "certificates not reloaded" in wlog and "Permission denied" in wlog, wlog
        assert client.get("/api/folders")[0] == 200
        assert proc.poll() is None
    finally:
        assert stop_web(proc, web) == 0
