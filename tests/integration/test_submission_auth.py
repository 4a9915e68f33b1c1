"""Submission (RFC 6409, RFC 8314): AUTH only after TLS, PLAIN, LOGIN and
SCRAM-SHA-256 (gsasl as the client), unauthenticated MAIL refused on
587 and 465, sender and From: ownership (553 5.7.1), aliases and +tags
allowed, Date:/Message-ID: added, per-user limits. Recipients are local
so no DNS is involved; the resolver is pointed at a closed loopback port
anyway so nothing can leave the machine."""
import base64
import email
import smtplib
import ssl
import subprocess

import pytest

from conftest import Server
from test_relay_support import wait_for

DOMAIN = "example.test"
SAFE = {"dns_resolver": "127.0.0.1@9"}


@pytest.fixture(scope="module")
def srv():
    s = Server(settings=dict(SAFE, submission_max_recipients="3"))
    s.add_user("alice@" + DOMAIN, "alice-pw")
    s.add_user("bob@" + DOMAIN, "bob-pw")
    s.cli("alias", "add", "sales@" + DOMAIN, "alice@" + DOMAIN)
    s.start()
    yield s
    s.cleanup()


def login(srv, kind="submission", user="alice@" + DOMAIN, pw="alice-pw"):
    s = srv.smtp(kind, starttls=(kind == "submission"))
    s.login(user, pw)
    return s


def test_no_auth_before_tls(srv):
    with srv.smtp("submission") as s:
        assert "auth" not in s.esmtp_features
        code, msg = s.docmd("AUTH", "PLAIN " + base64.b64encode(
            b"\0alice@example.test\0alice-pw").decode())
        assert code == 530, msg
        code, msg = s.docmd("MAIL", "FROM:<alice@example.test>")
        assert code == 530


def test_unauthenticated_mail_refused(srv):
    for kind in ("submission", "submissions"):
        with srv.smtp(kind, starttls=(kind == "submission")) as s:
            assert "auth" in s.esmtp_features
            code, msg = s.docmd("MAIL", "FROM:<alice@example.test>")
            assert code == 530, (kind, msg)


def test_auth_plain_implicit_tls_and_local_delivery(srv):
    with login(srv, "submissions") as s:
        s.sendmail("alice@example.test", ["bob@example.test"],
                   "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: via 465\r\n\r\nhi\r\n")
    msgs = srv.wait_messages("bob@example.test", 1)
    assert any(b"via 465" in m for m in msgs)
    raw = [m for m in msgs if b"via 465" in m][0]
    assert b"ESMTPSA" in raw
    msg = email.message_from_bytes(raw)
    # Added by the server.
    assert msg["Date"] and msg["Message-ID"]


def test_auth_login_and_bad_password(srv):
    with srv.smtp("submission", starttls=True) as s:
        s.user, s.password = "alice@example.test", "alice-pw"
        code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        assert code == 235
    with srv.smtp("submission", starttls=True) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice@example.test", "wrong")
        assert e.value.smtp_code == 535
    # Port 25 does not offer AUTH.
    with srv.smtp("smtp", starttls=True) as s:
        assert "auth" not in s.esmtp_features
        code, _ = s.docmd("AUTH", "PLAIN")
        assert code == 503


def test_auth_abort(srv):
    with srv.smtp("submission", starttls=True) as s:
        code, msg = s.docmd("AUTH", "LOGIN")
        assert code == 334
        code, msg = s.docmd("*")
        assert code == 501
        code, _ = s.docmd("NOOP")
        assert code == 250


def test_scram_sha_256_with_gsasl(srv):
    r = subprocess.run(["gsasl", "--smtp", f"--connect=127.0.0.1:{srv.ports['submission']}",
                        "-m", "SCRAM-SHA-256", "-a", "alice@example.test", "-p", "alice-pw",
                        f"--x509-ca-file={srv.cert}", f"--hostname={srv.hostname}",
                        # gsasl 2.2 cannot get TLS 1.3 channel bindings
                        "--no-cb", "--verbose"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    assert "235 2.7.0" in out, out
    r = subprocess.run(["gsasl", "--smtp", f"--connect=127.0.0.1:{srv.ports['submission']}",
                        "-m", "SCRAM-SHA-256", "-a", "alice@example.test", "-p", "not-it",
                        f"--x509-ca-file={srv.cert}", f"--hostname={srv.hostname}",
                        "--no-cb", "--verbose"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    assert "235 2.7.0" not in out and "535" in out, out


def test_sender_ownership(srv):
    with login(srv) as s:
        # Envelope sender of someone else.
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("bob@example.test", ["bob@example.test"], "Subject: x\r\n\r\nx\r\n")
        assert e.value.smtp_code == 553
        assert b"5.7.1" in e.value.smtp_error
        s.rset()
        # From: header of someone else.
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("alice@example.test", ["bob@example.test"],
                       "From: Bob <bob@example.test>\r\nSubject: spoof\r\n\r\nx\r\n")
        assert e.value.smtp_code == 553
        # Aliases of the user and +tags are hers.
        s.sendmail("sales@example.test", ["bob@example.test"],
                   "From: Sales <sales@example.test>\r\nSubject: from alias\r\n\r\nx\r\n")
        s.sendmail("alice+news@example.test", ["bob@example.test"],
                   "From: alice+news@example.test\r\nSubject: from tag\r\n"
                   "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <keep@me>\r\n\r\nx\r\n")
    msgs = srv.wait_messages("bob@example.test", 3)
    assert not any(b"Subject: spoof" in m for m in msgs)
    assert any(b"from alias" in m for m in msgs)
    tagged = [m for m in msgs if b"from tag" in m][0]
    # Present fields are kept, not duplicated.
    assert tagged.count(b"Message-ID:") == 1 and b"<keep@me>" in tagged
    assert tagged.count(b"\nDate:") == 1


def test_recipient_limit(srv):
    with login(srv) as s:
        s.mail("alice@example.test")
        for i in range(3):
            assert s.rcpt("bob@example.test")[0] == 250
        code, msg = s.rcpt("bob@example.test")
        assert code == 452, msg


def test_hourly_limit():
    srv = Server(settings=dict(SAFE, submission_max_messages_per_hour="3"))
    try:
        srv.add_user("alice@" + DOMAIN, "alice-pw")
        srv.start()
        with login(srv) as s:
            for i in range(3):
                s.sendmail("alice@example.test", ["alice@example.test"],
                           f"Subject: n{i}\r\n\r\nx\r\n")
            with pytest.raises(smtplib.SMTPSenderRefused) as e:
                s.sendmail("alice@example.test", ["alice@example.test"], "Subject: n3\r\n\r\nx\r\n")
            assert e.value.smtp_code == 450
        # The limit is per user across connections (and workers).
        with login(srv) as s:
            code, _ = s.docmd("MAIL", "FROM:<alice@example.test>")
            assert code == 450
        assert len(srv.wait_messages("alice@example.test", 3)) == 3
    finally:
        srv.cleanup()


def test_auth_failures_throttled():
    # The shared throttle of the auth process: after auth_fail_block_after
    # failures further attempts are refused, even with the right password.
    srv = Server(settings=dict(SAFE, auth_fail_block_after="3", auth_fail_delay_max="1s"))
    try:
        srv.add_user("alice@" + DOMAIN, "alice-pw")
        srv.start()
        codes = []
        for i in range(5):
            with srv.smtp("submission", starttls=True) as s:
                # One mechanism per attempt (login() would try several).
                s.user, s.password = "alice@example.test", "wrong-%d" % i
                codes.append(s.docmd("AUTH", "PLAIN " + base64.b64encode(
                    b"\0alice@example.test\0" + s.password.encode()).decode())[0])
        assert codes[:3] == [535, 535, 535], codes
        assert 454 in codes[3:], codes
        with srv.smtp("submission", starttls=True) as s:
            code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(
                b"\0alice@example.test\0alice-pw").decode())
            assert code == 454
    finally:
        srv.cleanup()
