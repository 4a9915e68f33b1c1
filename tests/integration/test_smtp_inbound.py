"""Inbound SMTP (RFC 5321) on the MX port through real sockets: greeting,
capabilities, STARTTLS, recipients, relay control, sizes, message data
rules, pipelining, BDAT and delivery into the Maildir."""
import os
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import DOMAIN

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN


def body_of(raw):
    """The message as the client sent it: without our Return-Path and
    Received: trace lines."""
    lines = raw.split(b"\r\n")
    assert lines[0].startswith(b"Return-Path: <")
    i = 1
    assert lines[i].startswith(b"Received: ")
    i += 1
    while lines[i].startswith(b"\t"):
        i += 1
    return b"\r\n".join(lines[i:])


def test_greeting_and_ehlo(server):
    c = server.raw()
    code, text = c.reply()
    assert code == 220 and server.hostname in text and "ESMTP" in text
    code, text = c.cmd("EHLO client.test")
    assert code == 250
    for ext in ("PIPELINING", "SIZE ", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                "STARTTLS", "CHUNKING", "DSN"):
        assert ext in text, ext
    assert "AUTH" not in text  # never on the MX port without TLS
    assert c.cmd("HELO client.test")[0] == 250
    assert c.cmd("NOOP")[0] == 250
    code, text = c.cmd("VRFY alice")
    assert code == 252
    assert c.cmd("HELP")[0] == 214
    assert c.cmd("EXPN staff")[0] == 502
    assert c.cmd("RSET")[0] == 250
    code, text = c.cmd("QUIT")
    assert code == 221
    assert c.closed()


def test_deliver_over_starttls(server):
    before = len(server.messages(ALICE))
    with server.smtp(starttls=True) as s:
        assert "STARTTLS" not in s.esmtp_features
        s.sendmail("sender@remote.example", [ALICE],
                   b"Subject: hello\r\nFrom: sender@remote.example\r\n\r\nHi Alice\r\n")
    msgs = server.wait_messages(ALICE, before + 1)
    assert len(msgs) == before + 1
    m = msgs[-1]
    assert m.startswith(b"Return-Path: <sender@remote.example>\r\nReceived: from client.test ([127.0.0.1])")
    assert b"with ESMTPS id " in m and b"TLSv1.3" in m
    assert body_of(m) == b"Subject: hello\r\nFrom: sender@remote.example\r\n\r\nHi Alice\r\n"
    # The file name carries its size, as Maildir tools expect.
    new = os.path.join(server.maildir(ALICE), "new")
    names = sorted(os.listdir(new), key=lambda n: os.stat(os.path.join(new, n)).st_mtime_ns)
    assert f",S={len(m)}" in names[-1]


def test_null_sender_plus_and_postmaster(server):
    server.cli("alias", "add", "postmaster@" + DOMAIN, ALICE)
    before_a = len(server.messages(ALICE))
    before_b = len(server.messages(BOB))
    with server.smtp() as s:
        s.sendmail("", ["bob+lists@" + DOMAIN], b"Subject: bounce\r\n\r\nx\r\n")
        code, _ = s.docmd("MAIL FROM:<>")
        assert code == 250
        code, _ = s.docmd("RCPT TO:<Postmaster>")
        assert code == 250
        code, _ = s.data(b"Subject: to postmaster\r\n\r\ny\r\n")
        assert code == 250
    assert len(server.wait_messages(BOB, before_b + 1)) == before_b + 1
    assert len(server.wait_messages(ALICE, before_a + 1)) == before_a + 1


def test_unknown_user_and_relay_denied(server):
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<x@remote.example>")[0] == 250
    code, text = c.cmd(f"RCPT TO:<nobody@{DOMAIN}>")
    assert code == 550 and "5.1.1" in text
    # Loopback is not trusted for relaying either.
    code, text = c.cmd("RCPT TO:<victim@elsewhere.example>")
    assert code == 554 and "5.7.1" in text and "Relay access denied" in text
    code, text = c.cmd("DATA")
    assert code == 554  # no valid recipients
    # The session goes on.
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("MAIL FROM:<x@remote.example>")[0] == 250
    assert c.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    c.cmd("QUIT")


def test_command_sequence_errors(server):
    c = server.raw()
    c.reply()
    code, text = c.cmd("MAIL FROM:<a@b.example>")
    assert code == 503 and "5.5.1" in text
    c.cmd("EHLO client.test")
    assert c.cmd(f"RCPT TO:<{ALICE}>")[0] == 503
    assert c.cmd("DATA")[0] == 503
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503
    assert c.cmd("BOGUS")[0] == 500
    assert c.cmd("MAIL FROM:<not an address>")[0] == 501
    assert c.cmd("DATA extra")[0] == 501
    c.cmd("QUIT")


def test_esmtp_parameters(server):
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    code, text = c.cmd("MAIL FROM:<a@b.example> SIZE=999999999999")
    assert code == 552 and "5.3.4" in text
    assert c.cmd("MAIL FROM:<a@b.example> FOO=bar")[0] == 555
    assert c.cmd("MAIL FROM:<a@b.example> BODY=BINARYMIME")[0] == 555
    assert c.cmd("MAIL FROM:<jörg@b.example>")[0] == 553
    assert c.cmd("MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=abc+2B1 SMTPUTF8")[0] == 250
    assert c.cmd(f"RCPT TO:<{ALICE}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{ALICE}")[0] == 250
    assert c.cmd(f"RCPT TO:<{BOB}> NOTIFY=NEVER,SUCCESS")[0] == 501
    c.cmd("QUIT")


def test_message_size_limit(make_server):
    srv = make_server(settings={"message_size_limit": "64k"})
    with srv.smtp() as s:
        assert s.esmtp_features["size"] == str(64 * 1024)
        code, text = s.docmd("MAIL FROM:<a@b.example> SIZE=100000")
        assert code == 552 and b"5.3.4" in text
    # Undeclared and too big: refused at the end of data, session lives on.
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<a@b.example>")
    c.cmd("RCPT TO:<alice@" + DOMAIN + ">")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 1000 + b".\r\n")
    code, text = c.reply()
    assert code == 552 and "5.3.4" in text
    assert c.cmd("NOOP")[0] == 250
    c.close()
    with srv.smtp() as s:
        s.sendmail("a@b.example", ["alice@" + DOMAIN], b"Subject: small\r\n\r\nok\r\n")
    assert len(srv.wait_messages("alice@" + DOMAIN, 1)) == 1
    assert b"Subject: small" in srv.messages("alice@" + DOMAIN)[0]


SMUGGLING = [
    b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n",
]


@pytest.mark.parametrize("seq", SMUGGLING, ids=lambda s: repr(s))
def test_smuggling_rejected(server, seq):
    """An outbound MTA that ends DATA at a non-standard sequence must not
    make us accept a second, smuggled message (CVE-2023-51766 class)."""
    before = len(server.messages(BOB))
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<a@remote.example>")
    c.cmd(f"RCPT TO:<{ALICE}>")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: first\r\n\r\nbody" + seq +
           b"MAIL FROM:<admin@remote.example>\r\nRCPT TO:<" + BOB.encode() + b">\r\n"
           b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
    code, text = c.reply()
    assert code == 550 and "bare" in text
    # Nothing else comes: the smuggled commands were message content.
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    time.sleep(0.3)
    assert len(server.messages(BOB)) == before
    assert not any(b"smuggled" in m for m in server.messages(ALICE))


def test_nul_and_long_lines_rejected(server):
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    for content, why in ((b"Subject: x\r\n\r\na\0b\r\n", "NUL"),
                         (b"Subject: x\r\n\r\n" + b"z" * 1200 + b"\r\n", "line")):
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd(f"RCPT TO:<{ALICE}>")
        assert c.cmd("DATA")[0] == 354
        c.send(content + b".\r\n")
        code, text = c.reply()
        assert code == 550 and why in text
    # Command lines have their own limit; the session continues after it.
    code, text = c.cmd("NOOP " + "x" * 600)
    assert code == 500 and "too long" in text
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")


def test_starttls_injection(server):
    """Commands pipelined after STARTTLS in plaintext must be dropped
    (CVE-2011-0411 class)."""
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    c.send("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@x.example>\r\n")
    code, _ = c.reply()
    assert code == 220
    c.starttls(server.ssl_context(), server.hostname)
    code, text = c.cmd("EHLO client.test")
    assert code == 250 and "STARTTLS" not in text
    # MAIL was not carried over: a fresh MAIL is not "nested".
    assert c.cmd("MAIL FROM:<ok@x.example>")[0] == 250
    c.cmd("QUIT")


def test_starttls_requires_ehlo_again(server):
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    assert c.cmd("STARTTLS")[0] == 220
    c.starttls(server.ssl_context(), server.hostname)
    assert c.cmd("MAIL FROM:<a@x.example>")[0] == 503  # EHLO state reset
    assert c.cmd("EHLO client.test")[0] == 250
    assert c.cmd("STARTTLS")[0] == 503
    c.cmd("QUIT")


def test_tls_versions(server):
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(server.cert)
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = version
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        c = server.raw()
        c.reply()
        c.cmd("EHLO client.test")
        assert c.cmd("STARTTLS")[0] == 220
        with pytest.raises((ssl.SSLError, OSError)):
            c.starttls(ctx, server.hostname)
        c.close()
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.ports['smtp']}",
                        "-starttls", "smtp", "-CAfile", server.cert, "-tls1_2",
                        "-verify_return_error", "-servername", server.hostname],
                       input="QUIT\n", capture_output=True, text=True, timeout=20)
    assert "Verify return code: 0 (ok)" in r.stdout
    assert "TLSv1.2" in r.stdout and "ECDHE" in r.stdout


def test_pipelining(server):
    before = len(server.messages(ALICE))
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    c.send(f"MAIL FROM:<p@remote.example>\r\nRCPT TO:<{ALICE}>\r\n"
           f"RCPT TO:<nobody@{DOMAIN}>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(5)] == [250, 250, 550, 250, 354]
    c.send("Subject: pipelined\r\n\r\nx\r\n.\r\nMAIL FROM:<q@remote.example>\r\n"
           f"RCPT TO:<{ALICE}>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c.send("Subject: second\r\n\r\ny\r\n.\r\nQUIT\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 221
    msgs = server.wait_messages(ALICE, before + 2)
    assert b"Subject: pipelined" in msgs[-2] and b"Subject: second" in msgs[-1]


def test_bdat(server):
    before = len(server.messages(ALICE))
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    # BDAT without a transaction: its octets are consumed, then 503.
    c.send("BDAT 5\r\nhello")
    assert c.reply()[0] == 503
    c.cmd("MAIL FROM:<b@remote.example> BODY=8BITMIME")
    c.cmd(f"RCPT TO:<{ALICE}>")
    part1 = b"Subject: chunked\r\n\r\n"
    part2 = "caf\u00e9 \r\n.line with dot\r\n".encode()
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    assert c.reply()[0] == 250
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    code, text = c.reply()
    assert code == 250 and "queued as" in text
    # BDAT 0 LAST right after another message works too.
    c.cmd("MAIL FROM:<b@remote.example>")
    c.cmd(f"RCPT TO:<{ALICE}>")
    c.send(b"BDAT 12\r\nSubject: z\r\n")
    assert c.reply()[0] == 250
    c.send(b"BDAT 0 LAST\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("DATA")[0] == 503
    c.cmd("QUIT")
    msgs = server.wait_messages(ALICE, before + 2)
    assert body_of(msgs[-2]) == part1 + part2  # no dot-unstuffing in BDAT
    assert body_of(msgs[-1]) == b"Subject: z\r\n"


def test_ten_mib_8bit_byte_exact(server):
    line = ("0123456789 äöü ñ € " * 4).encode()[:100] + b"\r\n"
    body = b"From: x@remote.example\r\nSubject: big\r\nContent-Type: text/plain; charset=utf-8\r\n" \
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + b".starts with dot\r\n" + line * (10 * 1024 * 1024 // len(line))
    before = len(server.messages(BOB))
    with server.smtp(starttls=True) as s:
        s.sendmail("x@remote.example", [BOB], body, mail_options=["BODY=8BITMIME"])
    msgs = server.wait_messages(BOB, before + 1)
    assert body_of(msgs[-1]) == body


def test_swaks(server):
    before = len(server.messages(ALICE))
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.ports['smtp']}", "--to", ALICE,
                        "--from", "swaks@remote.example", "--tls", "--tls-verify",
                        "--tls-ca-path", server.cert, "--tls-sni", server.hostname,
                        "--header", "Subject: from swaks", "--helo", "swaks.test"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "<~  250 2.0.0 Ok: queued as" in r.stdout
    msgs = server.wait_messages(ALICE, before + 1)
    assert b"Subject: from swaks" in msgs[-1]
    # swaks --pipeline and without TLS
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.ports['smtp']}", "--to", BOB,
                        "--from", "swaks@remote.example", "--pipeline", "--helo", "swaks.test"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_aliases_and_catchall(make_server):
    srv = make_server(users=("alice@" + DOMAIN, "bob@" + DOMAIN))
    srv.cli("alias", "add", "team@" + DOMAIN, "alice@" + DOMAIN, "bob@" + DOMAIN)
    with srv.smtp() as s:
        refused = s.sendmail("a@remote.example", ["team@" + DOMAIN], b"Subject: team\r\n\r\nx\r\n")
        assert refused == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("a@remote.example", ["random@" + DOMAIN], b"Subject: r\r\n\r\nx\r\n")
    # A catch-all added while the server runs applies at once.
    srv.cli("alias", "add", "@" + DOMAIN, "bob@" + DOMAIN)
    with srv.smtp() as s:
        s.sendmail("a@remote.example", ["random@" + DOMAIN], b"Subject: catch\r\n\r\nx\r\n")
    assert len(srv.wait_messages("alice@" + DOMAIN, 1)) == 1
    bob = srv.wait_messages("bob@" + DOMAIN, 2)
    assert len(bob) == 2 and b"Subject: catch" in bob[-1]
    # A user added while the server runs receives at once too.
    srv.add_user("carol@" + DOMAIN)
    with srv.smtp() as s:
        s.sendmail("a@remote.example", ["carol@" + DOMAIN], b"Subject: hi carol\r\n\r\nx\r\n")
    assert len(srv.wait_messages("carol@" + DOMAIN, 1)) == 1


def test_one_copy_per_user(server):
    """Two envelope recipients that resolve to one account get one copy."""
    before = len(server.messages(ALICE))
    with server.smtp() as s:
        s.sendmail("a@remote.example", [ALICE, "alice+x@" + DOMAIN], b"Subject: once\r\n\r\nx\r\n")
    time.sleep(0.2)
    assert len(server.messages(ALICE)) == before + 1
