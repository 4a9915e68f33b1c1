"""Outbound TLS policy per destination: 'verify' delivers when B's
certificate chains to the configured CA and names the MX host, and
defers (never falls back to plain text) when the name does not match;
'none' sends without STARTTLS."""
import pytest

from test_relay_support import Relay, queue_entry, queue_lines, sendmail, wait_for


@pytest.fixture(scope="module")
def relay():
    r = Relay([("amx.test", "A", "127.0.0.2"),
               ("plain.test", "MX", "10 mx.b.test.")])
    r.b.cli("domain", "add", "amx.test")
    r.b.cli("domain", "add", "plain.test")
    r.b.add_user("dave@amx.test", "dave-pw")
    r.b.add_user("pat@plain.test", "pat-pw")
    # B's self-signed certificate (for mx.b.test) is A's trust anchor.
    with open(r.a.conf, "a") as f:
        f.write(f"smtp_out_ca_file = {r.b.cert}\n"
                "smtp_out_tls_policy = b.test verify\n"
                # implicit MX: the host name is amx.test, not in B's certificate
                "smtp_out_tls_policy = amx.test verify\n"
                "smtp_out_tls_policy = plain.test none\n")
    r.start()
    yield r
    r.cleanup()


def received_by_b(relay, address, subject):
    for raw in relay.b.messages(address):
        if subject.encode() in raw:
            return raw
    return None


def test_verify_succeeds(relay):
    r = sendmail(relay.a, ["-f", "alice@a.test", "bob@b.test"], "Subject: verified\n\nx\n")
    assert r.returncode == 0
    raw = wait_for(lambda: received_by_b(relay, "bob@b.test", "verified"), 20)
    assert raw, relay.a.read_log()[-3000:]
    assert b"with ESMTPS" in raw


def test_verify_name_mismatch_defers(relay):
    r = sendmail(relay.a, ["-f", "alice@a.test", "dave@amx.test"], "Subject: wrong name\n\nx\n")
    assert r.returncode == 0
    err = wait_for(lambda: queue_entry(relay.a, "dave@amx.test"), 20)
    assert err and "TLS" in err, queue_lines(relay.a)
    assert received_by_b(relay, "dave@amx.test", "wrong name") is None


def test_policy_none_sends_plain(relay):
    r = sendmail(relay.a, ["-f", "alice@a.test", "pat@plain.test"], "Subject: in clear\n\nx\n")
    assert r.returncode == 0
    raw = wait_for(lambda: received_by_b(relay, "pat@plain.test", "in clear"), 20)
    assert raw, relay.a.read_log()[-3000:]
    # B's Received: line for the hop from A says ESMTP, not ESMTPS.
    first = raw.split(b"Received:")[1]
    assert b"with ESMTP " in first and b"ESMTPS" not in first
