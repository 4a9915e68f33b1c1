"""Queue lifetime: a message that cannot be delivered before
queue_lifetime is returned to its sender with an RFC 3464 DSN that says
why (the last temporary error), and a DSN itself is never bounced."""
from test_relay_support import Relay, queue_entry, queue_lines, sendmail, wait_for
import time

import pytest


@pytest.fixture(scope="module")
def relay():
    r = Relay([("dead.test", "MX", "10 mx.dead.test."), ("mx.dead.test", "A", "127.0.0.9")],
              a_settings={"queue_lifetime": "3s"}, extra_hosts=("127.0.0.9",))
    r.start()
    yield r
    r.cleanup()


def test_expired_message_bounces(relay):
    r = sendmail(relay.a, ["-f", "alice@a.test", "-N", "failure", "-V", "env-77",
                           "someone@dead.test"], "Subject: never arrives\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: queue_entry(relay.a, "someone@dead.test"), 20)
    time.sleep(3.5)
    relay.a.cli("queue", "flush")
    def bounce():
        return [m for m in relay.a.messages("alice@a.test") if b"someone@dead.test" in m]
    got = wait_for(bounce, 20)
    assert got, queue_lines(relay.a) + relay.a.read_log()[-3000:]
    text = got[0].decode()
    assert "Action: failed" in text
    assert "Original-Envelope-Id: env-77" in text
    assert "gave up" in text
    assert "Subject: never arrives" in text
    assert wait_for(lambda: "the queue is empty" in queue_lines(relay.a), 20)


def test_bounce_of_bounce_never_happens(relay):
    # A message from the null sender to a dead domain expires silently.
    r = sendmail(relay.a, ["-f", "<>", "other@dead.test"], "Subject: null sender\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: queue_entry(relay.a, "other@dead.test"), 20)
    before = len(relay.a.messages("alice@a.test"))
    time.sleep(3.5)
    relay.a.cli("queue", "flush")
    assert wait_for(lambda: "the queue is empty" in queue_lines(relay.a), 20), queue_lines(relay.a)
    assert len(relay.a.messages("alice@a.test")) == before
    assert "MAILER-DAEMON" not in queue_lines(relay.a)
