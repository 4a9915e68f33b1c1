"""Storage quota on delivery (docs/smtp.md, "Quota"): an account at or
over its quota, or one the announced SIZE= does not fit in, is refused at
RCPT with 452 4.2.2 (a message larger than the whole quota: 552 5.2.2)
while the other recipients of the transaction are accepted; mail that
reaches such an account another way (an alias to several accounts, the
end of data past the grace, local sendmail) waits in the queue with
4.2.2 and is delivered once the user has made room."""
import imaplib
import re
import time

from conftest import DOMAIN

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN


def message(size, subject="filler"):
    body = ("x" * 70 + "\r\n") * (size // 72 + 1)
    return f"From: {ALICE}\r\nSubject: {subject}\r\n\r\n{body}"


def deliver(srv, rcpts, msg, sender=ALICE):
    with srv.smtp() as s:
        return s.sendmail(sender, rcpts, msg)


def full_bob(make_server, quota="5k", **kw):
    """A server where bob has 2 messages of about 4 KiB and then a quota
    of 5 KiB: over it."""
    srv = make_server(users=(ALICE, BOB), **kw)
    for i in range(2):
        deliver(srv, [BOB], message(4000, f"old {i}"))
    assert len(srv.wait_messages(BOB, 2)) == 2
    srv.cli("user", "quota", BOB, quota)
    return srv


def transaction(srv, rcpts, size=None):
    """MAIL (with SIZE= when given) and one RCPT each; the RCPT replies."""
    c = srv.raw()
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    mail = f"MAIL FROM:<{ALICE}>" + (f" SIZE={size}" if size is not None else "")
    assert c.cmd(mail)[0] == 250
    return c, [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]


def send_data(c, msg):
    assert c.cmd("DATA")[0] == 354
    c.send(msg.replace("\r\n.", "\r\n..") + "\r\n.\r\n")
    return c.reply()


def queue_status(srv, rcpt):
    for line in srv.cli("queue", "list").stdout.splitlines():
        m = re.match(r"\s+<([^>]*)>\s*(?:\((.*)\))?$", line)
        if m and m.group(1) == rcpt:
            return m.group(2) or ""
    return None


def wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def make_room(srv, user):
    """Deletes every message of user over IMAP (EXPUNGE)."""
    m = imaplib.IMAP4_SSL(srv.host, srv.ports["imaps"], ssl_context=srv.ssl_context())
    m.login(user, user.split("@")[0] + "-pw")
    m.select("INBOX")
    m.store("1:*", "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.logout()


def test_full_account_refused_other_recipient_accepted(make_server):
    srv = full_bob(make_server)
    c, replies = transaction(srv, [BOB, ALICE])
    code, text = replies[0]
    assert code == 452 and "4.2.2" in text and "Mailbox full" in text, text
    assert replies[1][0] == 250
    assert send_data(c, message(500, "for both"))[0] == 250
    c.cmd("QUIT")
    assert any(b"for both" in m for m in srv.wait_messages(ALICE, 1))
    time.sleep(0.3)
    assert not any(b"for both" in m for m in srv.messages(BOB))
    assert "bob@example.test over quota" in srv.read_log()
    # Only bob: the whole transaction has no recipient.
    c, replies = transaction(srv, [BOB])
    assert replies[0][0] == 452
    assert c.cmd("DATA")[0] == 554
    c.close()


def test_pipelined_replies_keep_their_order(make_server):
    # The quota look-up makes RCPT wait for the thread pool; pipelined
    # commands behind it are answered after it, in order.
    srv = full_bob(make_server)
    c = srv.raw()
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    msg = message(300, "pipelined")
    c.send(f"MAIL FROM:<{ALICE}>\r\nRCPT TO:<{BOB}>\r\nRCPT TO:<{ALICE}>\r\n"
           f"RCPT TO:<{BOB}>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(5)] == [250, 452, 250, 452, 354]
    c.send(msg + "\r\n.\r\nNOOP\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    c.cmd("QUIT")
    assert any(b"pipelined" in m for m in srv.wait_messages(ALICE, 1))


def test_submission_to_full_local_user_refused_at_rcpt(make_server):
    srv = full_bob(make_server, settings={"auth_allow_plaintext": "yes"})
    with srv.smtp("submission") as s:
        s.login(ALICE, "alice-pw")
        s.mail(ALICE)
        code, text = s.rcpt(BOB)
        assert code == 452 and b"4.2.2" in text


def test_size_over_remaining_space(make_server):
    srv = make_server(users=(ALICE, BOB))
    deliver(srv, [BOB], message(4000))
    assert srv.wait_messages(BOB, 1)
    srv.cli("user", "quota", BOB, "10k")       # about 6 KiB left
    c, replies = transaction(srv, [BOB], size=8000)
    assert replies[0][0] == 452 and "4.2.2" in replies[0][1], replies
    c.close()
    c, replies = transaction(srv, [BOB], size=3000)
    assert replies[0][0] == 250
    assert send_data(c, message(2500, "fits"))[0] == 250
    c.close()
    assert any(b"fits" in m for m in srv.wait_messages(BOB, 2))
    # Larger than the whole quota: it would never fit, 5.2.2.
    c, replies = transaction(srv, [BOB, ALICE], size=20000)
    assert replies[0][0] == 552 and "5.2.2" in replies[0][1], replies
    assert replies[1][0] == 250
    c.close()


def test_delivery_works_again_after_expunge(make_server):
    srv = full_bob(make_server)
    c, replies = transaction(srv, [BOB])
    assert replies[0][0] == 452
    c.close()
    make_room(srv, BOB)
    c, replies = transaction(srv, [BOB])
    assert replies[0][0] == 250, replies
    assert send_data(c, message(1000, "after cleanup"))[0] == 250
    c.close()
    assert any(b"after cleanup" in m for m in srv.wait_messages(BOB, 1))


def test_usage_counts_mail_no_session_has_seen(make_server):
    # Deliveries and no login: the usage is found in new/ by the check
    # itself (taken into the index), not only what a session saw.
    srv = make_server(users=(ALICE, BOB))

    def send(i):
        c, replies = transaction(srv, [BOB])
        if replies[0][0] == 250:
            assert send_data(c, message(3000, f"m{i}"))[0] == 250
        c.close()
        return replies[0]
    assert send(0)[0] == 250
    size = len(srv.wait_messages(BOB, 1)[0])
    # Three fit (the third within the grace), the fourth finds it full.
    srv.cli("user", "quota", BOB, str(size * 28 // 10))
    assert [send(i)[0] for i in (1, 2)] == [250, 250]
    code, text = send(3)
    assert code == 452 and "4.2.2" in text, text
    assert len(srv.messages(BOB)) == 3
    assert "logged in" not in srv.read_log()
    stored = sum(len(m) for m in srv.messages(BOB))
    rows = [x.split("\t") for x in srv.cli("user", "list", "-l").stdout.splitlines()]
    bob = [r for r in rows if r[0] == BOB][0]
    assert bob[1:4] == [str(size * 28 // 10), "enabled", str(stored)], bob


def test_end_of_data_over_grace_goes_to_the_queue(make_server):
    # Under quota at RCPT, but the message (no SIZE=) takes bob past the
    # quota plus its 10 % grace: 250 for everyone, alice has it, bob's
    # copy waits in the queue with 4.2.2 until there is room.
    srv = make_server(users=(ALICE, BOB))
    deliver(srv, [BOB], message(4000, "old"))
    assert srv.wait_messages(BOB, 1)
    srv.cli("user", "quota", BOB, "10k")
    c, replies = transaction(srv, [BOB, ALICE])
    assert [r[0] for r in replies] == [250, 250]
    assert send_data(c, message(8000, "big one"))[0] == 250
    c.close()
    assert any(b"big one" in m for m in srv.wait_messages(ALICE, 1))
    status = wait_for(lambda: queue_status(srv, BOB))
    assert status and status.startswith("4.2.2"), srv.cli("queue", "list").stdout
    assert not any(b"big one" in m for m in srv.messages(BOB))
    make_room(srv, BOB)
    srv.cli("queue", "flush")
    assert wait_for(lambda: any(b"big one" in m for m in srv.messages(BOB)))
    assert wait_for(lambda: "the queue is empty" in srv.cli("queue", "list").stdout)


def test_small_overshoot_within_grace_delivered(make_server):
    srv = make_server(users=(ALICE, BOB))
    deliver(srv, [BOB], message(4000, "old"))
    assert srv.wait_messages(BOB, 1)
    srv.cli("user", "quota", BOB, "10k")
    c, replies = transaction(srv, [BOB])
    assert replies[0][0] == 250
    # About 10.5 KiB in all: over 10k, within the 1 KiB grace.
    assert send_data(c, message(6200, "overshoot"))[0] == 250
    c.close()
    assert any(b"overshoot" in m for m in srv.wait_messages(BOB, 2))
    c, replies = transaction(srv, [BOB])
    assert replies[0][0] == 452
    c.close()


def test_alias_to_full_and_free_accounts(make_server):
    srv = full_bob(make_server)
    srv.cli("alias", "add", "team@" + DOMAIN, ALICE, BOB)
    c, replies = transaction(srv, ["team@" + DOMAIN])
    assert replies[0][0] == 250
    assert send_data(c, message(500, "to the team"))[0] == 250
    c.close()
    assert any(b"to the team" in m for m in srv.wait_messages(ALICE, 1))
    status = wait_for(lambda: queue_status(srv, BOB))
    assert status and status.startswith("4.2.2"), srv.cli("queue", "list").stdout
    make_room(srv, BOB)
    srv.cli("queue", "flush")
    assert wait_for(lambda: any(b"to the team" in m for m in srv.messages(BOB)))
    # Delivered once to alice: the alias was not tried again.
    assert sum(b"to the team" in m for m in srv.messages(ALICE)) == 1


def test_queue_defers_until_room_then_flush_delivers(make_server):
    srv = full_bob(make_server)
    r = srv.cli("sendmail", "-f", ALICE, BOB, input="Subject: from cron\n\nhello\n")
    assert r.returncode == 0, r.stderr
    status = wait_for(lambda: queue_status(srv, BOB))
    assert status and status.startswith("4.2.2") and "mailbox full" in status, status
    show = srv.cli("queue", "show", srv.cli("queue", "list").stdout.split("\n")[1].split()[0])
    assert "4.2.2" in show.stdout
    assert not any(b"from cron" in m for m in srv.messages(BOB))
    make_room(srv, BOB)
    srv.cli("queue", "flush")
    assert wait_for(lambda: any(b"from cron" in m for m in srv.messages(BOB)))
    assert wait_for(lambda: "the queue is empty" in srv.cli("queue", "list").stdout)


def test_queue_message_larger_than_quota_bounces_5_2_2(make_server):
    srv = make_server(users=(ALICE, BOB))
    srv.cli("user", "quota", BOB, "4k")
    r = srv.cli("sendmail", "-f", ALICE, BOB, input="Subject: huge\n\n" + "y" * 9000 + "\n")
    assert r.returncode == 0, r.stderr

    def bounce():
        return [m for m in srv.messages(ALICE) if b"delivery-status" in m]
    got = wait_for(bounce)
    assert got, srv.cli("queue", "list").stdout
    text = got[0].decode()
    assert "Action: failed" in text and "Status: 5.2.2" in text, text
    assert not srv.messages(BOB)


def test_expired_over_quota_bounces_with_4_2_2(make_server):
    # The DSN of a full mailbox says what RFC 3463 calls a persistent
    # transient failure: Action delayed, then failed, both 4.2.2.
    srv = full_bob(make_server, settings={"queue_lifetime": "3s",
                                           "queue_delay_warning": "1s"})
    r = srv.cli("sendmail", "-f", ALICE, "-N", "failure,delay", BOB,
                input="Subject: waits too long\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: queue_status(srv, BOB))
    time.sleep(1.2)
    srv.cli("queue", "flush")

    def dsns():
        return [m.decode() for m in srv.messages(ALICE) if b"delivery-status" in m]
    got = wait_for(lambda: [m for m in dsns() if "Action: delayed" in m])
    assert got and "Status: 4.2.2" in got[0], dsns()
    time.sleep(2.5)
    srv.cli("queue", "flush")
    got = wait_for(lambda: [m for m in dsns() if "Action: failed" in m])
    assert got, srv.cli("queue", "list").stdout
    assert "Status: 4.2.2" in got[0] and "mailbox full" in got[0], got[0]
    assert not any(b"waits too long" in m for m in srv.messages(BOB))
