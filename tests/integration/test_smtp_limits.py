"""SMTP abuse limits: each limit is exceeded and answered with a clean
protocol error, never a crash or a hang; the server keeps serving."""
import socket
import time

from conftest import DOMAIN

ALICE = "alice@" + DOMAIN


def test_too_many_errors(make_server):
    srv = make_server(settings={"smtp_max_errors": "5"})
    c = srv.raw()
    c.reply()
    for _ in range(4):
        assert c.cmd("BOGUS")[0] == 500
    code, text = c.cmd("BOGUS")
    assert code == 500
    code, text = c.reply()
    assert code == 421 and "too many errors" in text
    assert c.closed()
    # Others are still served.
    c2 = srv.raw()
    assert c2.reply()[0] == 220
    c2.cmd("QUIT")


def test_too_many_commands(make_server):
    srv = make_server(settings={"smtp_max_commands": "10"})
    c = srv.raw()
    c.reply()
    for _ in range(10):
        assert c.cmd("NOOP")[0] == 250
    code, text = c.cmd("NOOP")
    assert code == 421
    assert c.closed()


def test_too_many_recipients(make_server):
    srv = make_server(settings={"smtp_max_recipients": "3"})
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<a@remote.example>")
    for _ in range(3):
        assert c.cmd(f"RCPT TO:<{ALICE}>")[0] == 250
    code, text = c.cmd(f"RCPT TO:<{ALICE}>")
    assert code == 452 and "4.5.3" in text
    assert c.cmd("DATA")[0] == 354
    c.send("Subject: x\r\n\r\ny\r\n.\r\n")
    assert c.reply()[0] == 250
    c.cmd("QUIT")


def test_connections_per_ip(make_server):
    srv = make_server(settings={"max_connections_per_ip": "3"})
    held = []
    # The readiness probe's connection may not be counted out yet (a
    # loaded machine): a 421 before three are held is retried.
    deadline = time.time() + 10
    while len(held) < 3:
        c = srv.raw()
        code, _ = c.reply()
        if code == 220:
            held.append(c)
            continue
        c.close()
        assert time.time() < deadline, code
        time.sleep(0.1)
    extra = srv.raw()
    code, text = extra.reply()
    assert code == 421 and "too many connections" in text
    assert extra.closed()
    # Closing one frees a slot.
    held.pop().cmd("QUIT")
    deadline = time.time() + 10
    while True:
        c = srv.raw()
        code, _ = c.reply()
        if code == 220 or time.time() > deadline:
            break
        c.close()
        time.sleep(0.1)
    assert code == 220
    for h in held + [c]:
        h.close()


def test_connections_total(make_server):
    srv = make_server(settings={"max_connections": "2", "max_connections_per_ip": "100"})
    time.sleep(0.5)  # let the readiness probe's connection be counted out
    a, b = srv.raw(), srv.raw()
    assert a.reply()[0] == 220 and b.reply()[0] == 220
    extra = srv.raw()
    assert extra.reply()[0] == 421
    a.close()
    b.close()


def test_idle_timeout(make_server):
    srv = make_server(settings={"smtp_timeout": "2s"})
    c = srv.raw(timeout=15)
    c.reply()
    c.cmd("EHLO client.test")
    code, text = c.reply()
    assert code == 421 and "4.4.2" in text
    assert c.closed()


def test_half_message_then_disconnect(server):
    """A client that vanishes mid-DATA leaves nothing behind."""
    before = len(server.messages(ALICE))
    c = server.raw()
    c.reply()
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<a@remote.example>")
    c.cmd(f"RCPT TO:<{ALICE}>")
    c.cmd("DATA")
    c.send("Subject: partial\r\n\r\n" + "x" * 100000)
    c.close()
    time.sleep(0.5)
    assert len(server.messages(ALICE)) == before
    spool = server.dir + "/data/spool"
    import os
    assert os.listdir(spool) == []


def test_garbage_does_not_crash(server):
    c = server.raw()
    c.reply()
    c.send(bytes(b for b in range(256) if b not in (10, 13)) * 4 + b"\r\n")
    code, _ = c.reply()
    assert code == 500
    c.send(b"\xff\xfe\x00\x01EHLO\r\n")
    assert c.reply()[0] == 500
    assert c.cmd("EHLO ok.test")[0] == 250
    c.cmd("QUIT")
    # A slow drip of one byte at a time still works.
    c = server.raw()
    c.reply()
    for ch in b"NOOP\r\n":
        c.send(bytes([ch]))
        time.sleep(0.01)
    assert c.reply()[0] == 250
    c.close()
