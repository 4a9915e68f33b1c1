"""Regression tests for what the hardening work found by fuzzing and
probing, end to end against a running server."""
import imaplib

from conftest import DOMAIN

ALICE = "alice@" + DOMAIN


def test_encoded_nul_does_not_cut_mailbox_names(server):
    # Found by tests/fuzz/fuzz_mutf7.c: "&AAA-" (U+0000) decoded into the
    # name made "Foo&AAA-bar" act on "Foo".
    m = imaplib.IMAP4_SSL(server.host, server.ports["imaps"], ssl_context=server.ssl_context())
    m.login(ALICE, "alice-pw")
    assert m.create("NulVictim")[0] == "OK"
    for cmd in ("DELETE", "SELECT", "STATUS"):
        args = ('"NulVictim&AAA-evil"',) + (("(MESSAGES)",) if cmd == "STATUS" else ())
        typ, data = m._simple_command(cmd, *args)
        assert typ == "NO", (cmd, typ, data)
    # Other control characters are refused the same way.
    assert m._simple_command("CREATE", '"Bad&AA0-Name"')[0] == "NO"
    names = b" ".join(m.list()[1])
    assert b'"NulVictim"' in names and b"Bad" not in names
    m.logout()
