"""Hostile or broken receiving servers: endless continuation lines, an
over-long reply line, a malformed reply code, a greeting dripped one
byte at a time. Each must end in a clean temporary failure (the message
stays queued with a reason) within the configured timeout, and the queue
process must keep delivering other mail. Also: TLS policy 'encrypt'
towards a server without STARTTLS, and queue hold/release/delete."""
import pytest

from test_relay_support import (FakeSMTP, Relay, queue_entry, queue_lines, queue_process_pid,
                                sendmail, wait_for)

HOSTS = {
    "endless": "127.0.0.11",
    "longline": "127.0.0.12",
    "badcode": "127.0.0.13",
    "drip": "127.0.0.14",
    "plain": "127.0.0.15",
    "oneshot": "127.0.0.16",
}


@pytest.fixture(scope="module")
def relay():
    records = []
    for name, ip in HOSTS.items():
        records += [(f"{name}.test", "MX", f"10 mx.{name}.test."), (f"mx.{name}.test", "A", ip)]
    r = Relay(records, a_settings={"smtp_out_timeout": "3s", "smtp_out_connect_timeout": "3s",
                                   "smtp_out_tls_policy": "plain.test encrypt"},
              extra_hosts=tuple(HOSTS.values()))
    r.fakes = {name: FakeSMTP(ip, r.port, name if name != "plain" else "normal")
               for name, ip in HOSTS.items()}
    r.fakes["oneshot"].caps = ["PIPELINING"]
    r.start()
    yield r
    for f in r.fakes.values():
        f.stop()
    r.cleanup()


def send(relay, rcpt, subject):
    r = sendmail(relay.a, ["-f", "alice@a.test", rcpt], f"Subject: {subject}\n\nx\n")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name,reason", [
    ("endless", "too many reply lines"),
    ("longline", "reply line too long"),
    ("badcode", "malformed reply code"),
    ("drip", "did not answer in time"),
])
def test_hostile_server_fails_cleanly(relay, name, reason):
    pid = queue_process_pid(relay.a)
    send(relay, f"victim@{name}.test", f"to {name}")
    err = wait_for(lambda: queue_entry(relay.a, f"victim@{name}.test"), 30)
    assert err and reason in err, queue_lines(relay.a) + relay.a.read_log()[-2000:]
    # Deferred, not bounced: nothing went back to alice for it.
    assert not any(f"victim@{name}.test".encode() in m for m in relay.a.messages("alice@a.test"))
    # The queue process survived and still delivers.
    assert queue_process_pid(relay.a) == pid
    send(relay, "bob@b.test", f"after {name}")
    assert wait_for(lambda: any(f"after {name}".encode() in m
                                for m in relay.b.messages("bob@b.test")), 20)


def test_cached_connection_closed_by_server_is_replaced(relay):
    fake = relay.fakes["oneshot"]
    send(relay, "one@oneshot.test", "oneshot 1")
    assert wait_for(lambda: len(fake.messages) >= 1, 20)
    # Within the idle time the connection is reused; the server hangs up
    # at MAIL: the message goes out on a new connection, not deferred.
    send(relay, "two@oneshot.test", "oneshot 2")
    assert wait_for(lambda: len(fake.messages) >= 2, 20), queue_lines(relay.a)
    assert fake.connections >= 2
    assert queue_entry(relay.a, "two@oneshot.test") is None
    assert "closed a reused connection" in relay.a.read_log()


def test_tls_required_but_not_offered(relay):
    send(relay, "x@plain.test", "must be encrypted")
    err = wait_for(lambda: queue_entry(relay.a, "x@plain.test"), 20)
    assert err and "TLS is required" in err, queue_lines(relay.a)
    assert relay.fakes["plain"].messages == []


def test_queue_hold_release_delete(relay):
    relay.b.stop()
    try:
        send(relay, "bob@b.test", "held message")
        assert wait_for(lambda: queue_entry(relay.a, "bob@b.test") not in (None, ""), 20)
        ids = [l.split()[0] for l in queue_lines(relay.a).splitlines()
               if l and not l.startswith((" ", "ID")) and "message" not in l]
        # Find the id of the message to bob.
        target = None
        for qid in ids:
            if "bob@b.test" in relay.a.cli("queue", "show", qid, check=False).stdout:
                target = qid
        assert target
        shown = relay.a.cli("queue", "show", target).stdout
        assert "sender: <alice@a.test>" in shown and "Subject: held message" in shown
        relay.a.cli("queue", "hold", target)
        assert "on hold" in queue_lines(relay.a)
    finally:
        relay.b.start()
    relay.a.cli("queue", "flush")
    # Held: not delivered even when flushed.
    assert not wait_for(lambda: any(b"held message" in m for m in relay.b.messages("bob@b.test")),
                        3)
    relay.a.cli("queue", "release", target)
    relay.a.cli("queue", "flush")
    assert wait_for(lambda: any(b"held message" in m for m in relay.b.messages("bob@b.test")), 20)

    # Delete: the message is gone and never delivered.
    send(relay, "victim@endless.test", "to be deleted")
    assert wait_for(lambda: "to be deleted" in relay.a.cli("queue", "list").stdout or
                    queue_entry(relay.a, "victim@endless.test"), 20)
    for line in queue_lines(relay.a).splitlines():
        if line and not line.startswith((" ", "ID")) and "message" not in line:
            relay.a.cli("queue", "delete", line.split()[0])
    assert wait_for(lambda: "the queue is empty" in queue_lines(relay.a), 10), queue_lines(relay.a)
    r = relay.a.cli("queue", "show", "NOSUCHID1", check=False)
    assert r.returncode != 0
    r = relay.a.cli("queue", "hold", "../etc", check=False)
    assert r.returncode != 0
