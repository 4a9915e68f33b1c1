"""`correu serve` as a process tree: privilege drop, durability under
kill -9, restart of a crashed worker, reload on SIGHUP, IPv6, SNI, and
the command-line contract around it."""
import os
import signal
import ssl
import subprocess
import threading
import time

import pytest

from conftest import CORREU, DOMAIN, Server

ALICE = "alice@" + DOMAIN


def proc_status(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    except FileNotFoundError:
        return {"Name": "", "State": "gone"}


def test_children_unprivileged(server):
    pids = server.pids()
    assert len(pids) >= 4  # master, auth, 2 workers
    if os.geteuid() != 0:
        pytest.skip("privilege drop needs root")
    for pid in pids[1:]:
        st = proc_status(pid)
        uids = st["Uid"].split()
        assert all(u != "0" for u in uids), (pid, st["Name"], uids)
        assert st["NoNewPrivs"].strip() == "1"


def test_kill9_after_250_loses_nothing(make_server):
    srv = make_server()
    acked = []
    stop = threading.Event()

    def sender(n):
        import smtplib
        i = 0
        while not stop.is_set():
            try:
                with srv.smtp(timeout=10) as s:
                    while not stop.is_set():
                        subject = f"t{n}-{i}"
                        s.sendmail("a@remote.example", [ALICE],
                                   f"Subject: {subject}\r\n\r\nbody {subject}\r\n".encode())
                        acked.append(subject)
                        i += 1
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill9_all()
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) > 10
    got = b"\n".join(srv.messages(ALICE))
    lost = [s for s in acked if f"Subject: {s}\r\n".encode() not in got]
    assert lost == []
    # No half-written message is visible.
    for m in srv.messages(ALICE):
        assert m.endswith(b"\r\n") and b"\r\n\r\nbody t" in m
    # It starts again with the same data and keeps delivering.
    srv.start()
    with srv.smtp() as s:
        s.sendmail("a@remote.example", [ALICE], b"Subject: after restart\r\n\r\nx\r\n")
    assert any(b"after restart" in m for m in srv.wait_messages(ALICE, len(acked) + 1))


def test_worker_crash_restarted(make_server):
    srv = make_server()
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.test")
    # Under load a worker may still be starting (named after its role
    # only once it runs).
    deadline = time.time() + 10
    while True:
        workers = [p for p in srv.pids()[1:] if "worker" in proc_status(p)["Name"]]
        if len(workers) == 2 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert len(workers) == 2
    # Find the worker that does not hold our session and crash it.
    victim = workers[0]
    # SIGABRT rather than SIGSEGV: sanitizer builds catch SEGV themselves.
    os.kill(victim, signal.SIGABRT)
    deadline = time.time() + 10
    while time.time() < deadline:
        now = [p for p in srv.pids()[1:] if "worker" in proc_status(p)["Name"]]
        if victim not in now and len(now) == 2:
            break
        time.sleep(0.1)
    assert victim not in now and len(now) == 2
    log = srv.read_log()
    assert f"(pid {victim}) killed by signal 6" in log and "restarting" in log
    # The server still answers; our session survived unless it was the victim's.
    with srv.smtp() as s:
        s.sendmail("a@remote.example", [ALICE], b"Subject: after crash\r\n\r\nx\r\n")
    c.close()


def test_reload_keeps_sessions(make_server):
    srv = make_server()
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.test")
    with open(srv.conf, "a") as f:
        f.write("smtp_banner = ESMTP reloaded\n")
    srv.reload()
    deadline = time.time() + 10
    text = ""
    while time.time() < deadline:
        d = srv.raw()
        code, text = d.reply()
        d.close()
        if "reloaded" in text:
            break
        time.sleep(0.2)
    assert "reloaded" in text
    # The session opened before the reload still works.
    assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 250
    assert c.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send("Subject: across reload\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    c.cmd("QUIT")
    # A broken configuration is refused and the server keeps running.
    with open(srv.conf, "a") as f:
        f.write("no_such_key = 1\n")
    srv.reload()
    time.sleep(1)
    assert "reload refused" in srv.read_log()
    assert srv.raw().reply()[0] == 220


def test_reload_storm_kills_nothing(make_server):
    """Reloads in quick succession: the queue process restarted by one is
    stopped by the next, maybe before its loop watches SIGTERM. Its stop
    and reload signals stay pending until then (stopsig.h), so no child
    dies of a signal and stray HUPs sent to every correu process (pkill
    -HUP correu) end no worker."""
    srv = make_server()
    for _ in range(8):
        srv.reload()
        time.sleep(0.05)
    for pid in srv.pids()[1:]:
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            pass
    time.sleep(2)
    with srv.smtp() as c:
        assert c.noop()[0] == 250
    log = srv.read_log()
    assert "killed by signal" not in log, [l for l in log.splitlines() if "killed" in l]
    assert srv.proc.poll() is None


def test_sigterm_clean_exit(make_server):
    srv = make_server()
    pids = srv.pids()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(20) == 0
    time.sleep(0.2)
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or "Z" in proc_status(pid)["State"]
    srv.proc = None
    srv.log.close()


def test_ipv6_listener(make_server):
    srv = make_server(listen=("127.0.0.1", "::1"))
    import socket
    with socket.create_connection(("::1", srv.ports["smtp"]), timeout=5) as s:
        assert s.recv(100).startswith(b"220")


def test_sni_certificate(make_server):
    srv = make_server(start=False)
    other = os.path.join(srv.dir, "tls", "other")
    os.makedirs(other)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", f"{other}/key.pem", "-out", f"{other}/cert.pem",
                    "-days", "2", "-subj", "/CN=other.example.test",
                    "-addext", "subjectAltName=DNS:other.example.test"],
                   check=True, capture_output=True)
    with open(srv.conf, "a") as f:
        f.write("tls_extra_cert = tls/other/cert.pem tls/other/key.pem\n")
    srv.start()
    for name, cafile in (("other.example.test", f"{other}/cert.pem"), (srv.hostname, srv.cert)):
        ctx = ssl.create_default_context(cafile=cafile)
        c = srv.raw()
        c.reply()
        c.cmd("EHLO client.test")
        assert c.cmd("STARTTLS")[0] == 220
        c.starttls(ctx, name)  # verifies chain and name
        assert c.cmd("EHLO client.test")[0] == 250
        c.close()


def test_root_without_user(make_server):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    srv = make_server(start=False)
    with open(srv.conf, "a") as f:
        f.write("user = correu-no-such-user\n")
    r = subprocess.run([CORREU, "-c", srv.conf, "serve"], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "correu-no-such-user" in r.stderr and "useradd" in r.stderr


def test_check_config(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("hostname = mx.example.test\nsmtp_port = 99999\nbogus_key = 1\n"
                    "listen = 127.0.0.1\ntls_cert = /nonexistent/cert.pem\n")
    r = subprocess.run([CORREU, "-c", str(conf), "check-config"], capture_output=True, text=True)
    assert r.returncode != 0
    assert f"{conf}:2: smtp_port" in r.stderr
    assert f"{conf}:3: unknown key \"bogus_key\"" in r.stderr
    assert "/nonexistent/cert.pem" in r.stderr


def test_config_keys_documented():
    r = subprocess.run([CORREU, "config-keys"], capture_output=True, text=True, check=True)
    keys = [line.split("\t")[0] for line in r.stdout.splitlines()]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "configuration.md")) as f:
        doc = f.read()
    documented = set()
    for line in doc.splitlines():
        if line.startswith("| `"):
            documented.add(line.split("`")[1])
    assert set(keys) - documented == set(), "undocumented keys"
    assert documented - set(keys) == set(), "documented keys that do not exist"


def test_init_contract(tmp_path):
    d = tmp_path / "inst"
    r = subprocess.run([CORREU, "init", str(d), "--domain", "corp.test", "--hostname", "mx.corp.test",
                        "--port-base", "40000", "--listen", "127.0.0.1", "--listen", "::1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    conf = (d / "correu.conf").read_text()
    for key, port in (("smtp_port", 40025), ("submission_port", 40587), ("submissions_port", 40465),
                      ("imap_port", 40143), ("imaps_port", 40993), ("pop3_port", 40110),
                      ("pop3s_port", 40995), ("https_port", 40443)):
        assert f"{key} = {port}\n" in conf
    assert "listen = 127.0.0.1 ::1\n" in conf
    out = subprocess.run(["openssl", "x509", "-in", str(d / "tls" / "cert.pem"), "-noout", "-text"],
                         capture_output=True, text=True).stdout
    assert "DNS:mx.corp.test" in out
    assert oct((d / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"
    # Self-signed and usable as its own trust anchor.
    v = subprocess.run(["openssl", "verify", "-CAfile", str(d / "tls" / "cert.pem"),
                        str(d / "tls" / "cert.pem")], capture_output=True, text=True)
    assert v.returncode == 0
    r = subprocess.run([CORREU, "-c", str(d / "correu.conf"), "domain", "list"],
                       capture_output=True, text=True)
    assert "corp.test" in r.stdout
    # Refuses to overwrite.
    r = subprocess.run([CORREU, "init", str(d)], capture_output=True, text=True)
    assert r.returncode != 0 and "exists" in r.stderr
