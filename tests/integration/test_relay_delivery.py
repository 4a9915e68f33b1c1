"""Outbound delivery between two correu instances through a real unbound:
A (a.test, 127.0.0.1) and B (b.test, 127.0.0.2) on the same high ports.
Mail submitted to A arrives in B's Maildir; deferral and retry, bounces,
MX fallback, null MX, implicit MX, 8-bit downgrade, sendmail, kill -9 of
the queue process mid-delivery."""
import email
import email.policy
import os
import signal
import smtplib
import subprocess
import time
from email.message import EmailMessage

import pytest

from conftest import CORREU
from test_relay_support import (FakeSMTP, Relay, queue_entry, queue_lines, queue_process_pid,
                                sendmail, wait_for)

RECORDS = [
    # Two MX hosts: the preferred one (127.0.0.9) has no server.
    ("multi.test", "MX", "10 mx1.multi.test."), ("mx1.multi.test", "A", "127.0.0.9"),
    ("multi.test", "MX", "20 mx.b.test."),
    # RFC 7505 null MX.
    ("null.test", "MX", "0 ."),
    # No MX: the A record is the mail host (RFC 5321 5.1).
    ("amx.test", "A", "127.0.0.2"),
    # A server without 8BITMIME.
    ("old.test", "MX", "10 mx.old.test."), ("mx.old.test", "A", "127.0.0.4"),
    # A server whose first final reply is slow (kill -9 mid-delivery).
    ("slow.test", "MX", "10 mx.slow.test."), ("mx.slow.test", "A", "127.0.0.5"),
]


@pytest.fixture(scope="module")
def relay():
    r = Relay(RECORDS, extra_hosts=("127.0.0.4", "127.0.0.5", "127.0.0.9"),
              a_settings={"queue_delay_warning": "2s"})
    r.b.cli("domain", "add", "multi.test")
    r.b.cli("domain", "add", "amx.test")
    r.b.add_user("carol@multi.test", "carol-pw")
    r.b.add_user("dave@amx.test", "dave-pw")
    r.old = FakeSMTP("127.0.0.4", r.port, "normal")
    r.slow = FakeSMTP("127.0.0.5", r.port, "slowdot", slow=8.0)
    r.start()
    yield r
    r.old.stop()
    r.slow.stop()
    r.cleanup()


def submit(relay, to, subject, body="hello\n", sender="alice@a.test", password="alice-pw",
           **headers):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ", ".join(to)
    m["Subject"] = subject
    for k, v in headers.items():
        m[k] = v
    m.set_content(body)
    with relay.a.smtp("submission", starttls=True) as s:
        s.login(sender, password)
        s.send_message(m)
    return m


def subjects(server, address):
    out = []
    for raw in server.messages(address):
        out.append(email.message_from_bytes(raw)["Subject"])
    return out


def wait_subject(server, address, subject, timeout=20):
    return wait_for(lambda: subject in subjects(server, address), timeout)


def test_submission_to_remote_arrives(relay):
    submit(relay, ["bob@b.test"], "relay smtplib 1")
    assert wait_subject(relay.b, "bob@b.test", "relay smtplib 1")
    raw = [m for m in relay.b.messages("bob@b.test") if b"relay smtplib 1" in m][0]
    msg = email.message_from_bytes(raw)
    assert msg["Return-Path"] == "<alice@a.test>"
    # A's Received (ESMTPSA from the client) and B's (ESMTPS from A, over TLS).
    received = msg.get_all("Received")
    assert any("by mx.b.test" in r and "ESMTPS" in r for r in received)
    assert any("by mx.a.test" in r and "ESMTPSA" in r for r in received)
    # Submission added what the client left out.
    assert msg["Date"] and msg["Message-ID"]
    assert wait_for(lambda: "the queue is empty" in queue_lines(relay.a))


def test_msmtp_client(relay, tmp_path):
    conf = tmp_path / "msmtprc"
    conf.write_text(f"""defaults
tls on
tls_starttls on
tls_trust_file {relay.a.cert}
account a
host 127.0.0.1
port {relay.a.ports['submission']}
from alice@a.test
auth plain
user alice@a.test
password alice-pw
tls_host_override mx.a.test
account default : a
""")
    conf.chmod(0o600)
    msg = "From: alice@a.test\nTo: bob@b.test\nSubject: relay msmtp\n\nvia msmtp\n"
    r = subprocess.run(["msmtp", "-C", str(conf), "bob@b.test"], input=msg.encode(),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert wait_subject(relay.b, "bob@b.test", "relay msmtp")


def b_connections(relay):
    return sum(1 for l in relay.b.read_log().splitlines()
               if "connect from [127.0.0.1]" in l and "smtp[" in l)


def test_connection_reuse_and_many_messages(relay):
    before = b_connections(relay)
    with relay.a.smtp("submission", starttls=True) as s:
        s.login("alice@a.test", "alice-pw")
        for i in range(12):
            s.sendmail("alice@a.test", ["bob@b.test"],
                       f"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: burst {i}\r\n\r\nx\r\n")
    for i in range(12):
        assert wait_subject(relay.b, "bob@b.test", f"burst {i}")
    # Fewer connections than messages reached B: they were reused.
    assert b_connections(relay) - before < 12


def test_unknown_user_bounces_to_sender(relay):
    submit(relay, ["nobody@b.test"], "to a ghost")
    def bounced():
        for raw in relay.a.messages("alice@a.test"):
            if b"Undelivered Mail Returned to Sender" in raw and b"nobody@b.test" in raw:
                return raw
        return None
    raw = wait_for(bounced, 20)
    assert raw, relay.a.read_log()[-3000:]
    msg = email.message_from_bytes(raw)
    assert msg["From"].startswith("Mail Delivery System <MAILER-DAEMON@mx.a.test>")
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.walk())
    ds = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    assert ds
    text = raw.decode()
    assert "Final-Recipient: rfc822; nobody@b.test" in text
    assert "Action: failed" in text
    assert "Status: 5.1.1" in text
    assert "Remote-MTA: dns; mx.b.test[127.0.0.2]" in text
    assert "Diagnostic-Code: smtp; 550 5.1.1" in text
    # The original headers come back, the body does not (no RET=FULL).
    assert "Subject: to a ghost" in text
    assert msg["Return-Path"] == "<>"


def test_peer_down_defers_then_flush_delivers(relay):
    relay.b.stop()
    try:
        submit(relay, ["bob@b.test"], "while B is down")
        err = wait_for(lambda: queue_entry(relay.a, "bob@b.test"), 20)
        assert err and ("connect" in err or "refused" in err), queue_lines(relay.a)
        # Still failing after queue_delay_warning: one delay DSN.
        time.sleep(2.5)
        relay.a.cli("queue", "flush")
        def warned():
            return [m for m in relay.a.messages("alice@a.test")
                    if b"Delayed Mail (still being retried)" in m and b"while B is down" in m]
        got = wait_for(warned, 20)
        assert got, relay.a.read_log()[-3000:]
        assert b"Action: delayed" in got[0] and b"Will-Retry-Until:" in got[0]
        relay.a.cli("queue", "flush")
        time.sleep(1)
        assert len(warned()) == 1
    finally:
        relay.b.start()
    assert wait_for(lambda: queue_process_pid(relay.b) is not None)
    relay.a.cli("queue", "flush")
    assert wait_subject(relay.b, "bob@b.test", "while B is down", 30), relay.a.read_log()[-3000:]
    assert wait_for(lambda: queue_entry(relay.a, "bob@b.test") is None)


def test_first_mx_down_uses_second(relay):
    submit(relay, ["carol@multi.test"], "second MX")
    assert wait_subject(relay.b, "carol@multi.test", "second MX"), relay.a.read_log()[-3000:]
    assert "127.0.0.9" in relay.a.read_log()


def test_implicit_mx_from_address_record(relay):
    submit(relay, ["dave@amx.test"], "no MX record")
    assert wait_subject(relay.b, "dave@amx.test", "no MX record"), relay.a.read_log()[-3000:]


def test_null_mx_bounces_at_once(relay):
    submit(relay, ["someone@null.test"], "null mx")
    def bounced():
        return any(b"someone@null.test" in raw and b"Status: 5.1.10" in raw
                   for raw in relay.a.messages("alice@a.test"))
    assert wait_for(bounced, 20), relay.a.read_log()[-3000:]


def test_8bit_downgraded_for_peer_without_8bitmime(relay):
    m = EmailMessage()
    m["From"] = "alice@a.test"
    m["To"] = "old@old.test"
    m["Subject"] = "eight bit"
    m.set_content("Grüße aus Zürich — ½ € über alles\n", cte="8bit")
    with relay.a.smtp("submission", starttls=True) as s:
        s.login("alice@a.test", "alice-pw")
        s.send_message(m, mail_options=["BODY=8BITMIME"])
    assert wait_for(lambda: relay.old.messages, 20), relay.a.read_log()[-3000:]
    mail_from, rcpts, data = relay.old.messages[-1]
    assert rcpts == ["old@old.test"]
    assert all(b < 0x80 for b in data), data
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Content-Transfer-Encoding"].lower() == "quoted-printable"
    assert "Grüße aus Zürich" in msg.get_content()
    # BODY=8BITMIME was not offered to a server that does not know it.
    assert not any("BODY=8BITMIME" in c for c in relay.old.commands)


def test_sendmail_t_delivers(relay):
    msg = ("To: Bob <bob@b.test>\nCc: alice@a.test\nBcc: carol@multi.test\n"
           "Subject: from the command line\n\nsent by sendmail -t\n")
    r = sendmail(relay.a, ["-t", "-f", "alice@a.test"], msg)
    assert r.returncode == 0, r.stderr
    assert wait_subject(relay.b, "bob@b.test", "from the command line")
    assert wait_subject(relay.a, "alice@a.test", "from the command line")
    assert wait_subject(relay.b, "carol@multi.test", "from the command line")
    raw = [m for m in relay.b.messages("bob@b.test") if b"from the command line" in m][0]
    assert b"Bcc:" not in raw
    assert b"Message-ID:" in raw and b"Date:" in raw


def test_sendmail_symlink_and_dot(relay, tmp_path):
    link = tmp_path / "sendmail"
    link.symlink_to(os.path.abspath(CORREU))
    env = dict(os.environ, CORREU_CONFIG=relay.a.conf)
    # Without -i a lone "." ends the message.
    r = subprocess.run([str(link), "-f", "alice@a.test", "bob@b.test"],
                       input=b"Subject: via symlink\n\nfirst\n.\nnot part of it\n",
                       capture_output=True, env=env)
    assert r.returncode == 0, r.stderr
    assert wait_subject(relay.b, "bob@b.test", "via symlink")
    raw = [m for m in relay.b.messages("bob@b.test") if b"via symlink" in m][0]
    assert b"first" in raw and b"not part of it" not in raw


def test_kill9_queue_process_mid_delivery_loses_nothing(relay):
    # The first final reply from mx.slow.test takes 8 s: kill the queue
    # process while it waits. The message must still be delivered.
    r = sendmail(relay.a, ["-f", "alice@a.test", "x@slow.test"],
                 "Subject: survive kill -9\n\nbody\n")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: relay.slow.dots >= 1, 20), relay.a.read_log()[-3000:]
    pid = queue_process_pid(relay.a)
    os.kill(pid, signal.SIGKILL)
    # The master starts a new queue process, which finds the message.
    assert wait_for(lambda: (queue_process_pid(relay.a) or pid) != pid, 30)
    relay.a.cli("queue", "flush", check=False)
    assert wait_for(lambda: any(b"survive kill -9" in m[2] for m in relay.slow.messages), 40)
    assert wait_for(lambda: queue_entry(relay.a, "x@slow.test") is None, 30), \
        queue_lines(relay.a)

    # And a burst with kill -9 in the middle: every message arrives at B
    # (a repeat is allowed, a loss is not).
    n = 20
    for i in range(n):
        r = sendmail(relay.a, ["-f", "alice@a.test", "bob@b.test"],
                     f"Subject: kill burst {i}\n\nbody {i}\n")
        assert r.returncode == 0
        if i == 8:
            os.kill(queue_process_pid(relay.a), signal.SIGKILL)
    def all_there():
        got = subjects(relay.b, "bob@b.test")
        return all(f"kill burst {i}" in got for i in range(n))
    def flush_and_check():
        relay.a.cli("queue", "flush", check=False)
        return all_there()
    assert wait_for(flush_and_check, 60, interval=1), queue_lines(relay.a)
