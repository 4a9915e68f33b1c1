"""Durability under kill -9: concurrent SMTP (MX and submission) senders
and IMAP APPEND/STORE clients run against instance A of a two-instance
relay while every correu process of A is SIGKILLed at random moments
(or, every other round, one random child), A is restarted, and it goes
on. CRASH_ROUNDS rounds (default 20; more by hand:
`CRASH_ROUNDS=200 pytest -s tests/integration/test_crash_durability.py`).

Then, with A left running:
- every message that got 250 is in each recipient's Maildir at least
  once (duplicates are counted and reported: a kill between commit and
  the end of a delivery attempt may deliver twice), including the remote
  copies the queue delivers to instance B after the restarts;
- every APPEND that got OK is there under the UID its APPENDUID named;
  every STORE that got OK left its flag and a MODSEQ at least as high;
- no half-written message is visible in any Maildir of A or B;
- UIDVALIDITY never changes; UIDNEXT and HIGHESTMODSEQ never go back;
- the queue ends empty.
The figures go to stdout and, with CRASH_REPORT=FILE, to FILE.
Also: a delivery cut short by the queue process stopping is repeated as
soon as the next one starts, not after queue_retry_min (found by these
rounds)."""
import imaplib
import os
import random
import re
import signal
import smtplib
import ssl
import threading
import time

import pytest

from test_relay_support import (FakeSMTP, Relay, queue_lines, queue_process_pid, sendmail,
                                wait_for)

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "20"))
TRAILER = b"END-OF-CRASH-TEST-MESSAGE\r\n"
ALICE = "alice@a.test"
BOB = "bob@b.test"
MAILBOX = "Crash"


def message(msgid, size):
    body = b"".join(b"line %06d of %s\r\n" % (i, msgid.encode()) for i in range(size))
    return (b"From: <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: crash " + msgid.encode() +
            b"\r\nMessage-ID: <" + msgid.encode() + b">\r\n\r\n" + body + TRAILER)


class Ledger:
    """What the server acknowledged, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.smtp = {}        # msgid -> list of recipients
        self.appended = {}    # msgid -> (uidvalidity, uid)
        self.stored = {}      # uid -> modseq acknowledged with \Flagged
        self.errors = []
        self.counter = 0

    def next_id(self, kind):
        with self.lock:
            self.counter += 1
            return f"{kind}-{self.counter}@crash.test"


def tls_ctx(srv):
    ctx = ssl.create_default_context(cafile=srv.cert)
    ctx.check_hostname = False
    return ctx


def mx_sender(srv, ledger, stop):
    while not stop.is_set():
        try:
            with smtplib.SMTP(srv.host, srv.ports["smtp"], timeout=10,
                              local_hostname="client.test") as s:
                while not stop.is_set():
                    mid = ledger.next_id("mx")
                    s.sendmail("sender@remote.test", [ALICE], message(mid, random.randint(1, 300)))
                    with ledger.lock:
                        ledger.smtp[mid] = [ALICE]
        except (OSError, smtplib.SMTPException):
            time.sleep(0.05)


def submission_sender(srv, ledger, stop):
    while not stop.is_set():
        try:
            with smtplib.SMTP_SSL(srv.host, srv.ports["submissions"], timeout=10,
                                  context=tls_ctx(srv), local_hostname="client.test") as s:
                s.login(ALICE, "alice-pw")
                while not stop.is_set():
                    mid = ledger.next_id("sub")
                    rcpts = [BOB] if random.random() < 0.5 else [BOB, ALICE]
                    s.sendmail(ALICE, rcpts, message(mid, random.randint(1, 300)))
                    with ledger.lock:
                        ledger.smtp[mid] = rcpts
        except (OSError, smtplib.SMTPException):
            time.sleep(0.05)


def imap_client(srv, ledger, stop):
    while not stop.is_set():
        try:
            m = imaplib.IMAP4_SSL(srv.host, srv.ports["imaps"], ssl_context=tls_ctx(srv))
            m.sock.settimeout(10)
            m.login(ALICE, "alice-pw")
            m._simple_command("ENABLE", "CONDSTORE")
            typ, _ = m.select(MAILBOX)
            if typ != "OK":
                m.create(MAILBOX)
                m.select(MAILBOX)
            while not stop.is_set():
                mid = ledger.next_id("append")
                typ, data = m.append(MAILBOX, None, None, message(mid, random.randint(1, 200)))
                if typ != "OK":
                    continue
                got = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
                if got is None:
                    ledger.errors.append(f"APPEND OK without APPENDUID: {data!r}")
                    continue
                with ledger.lock:
                    ledger.appended[mid] = (int(got.group(1)), int(got.group(2)))
                    uids = [u for _, u in ledger.appended.values()]
                uid = random.choice(uids)
                typ, data = m.uid("STORE", str(uid), "+FLAGS", r"(\Flagged)")
                if typ != "OK":
                    continue
                for item in data:
                    line = item if isinstance(item, bytes) else b""
                    mm = re.search(rb"UID (\d+).*MODSEQ \((\d+)\)", line)
                    if mm is None:
                        mm2 = re.search(rb"MODSEQ \((\d+)\).*UID (\d+)", line)
                        if mm2:
                            mm = (mm2.group(2), mm2.group(1))
                        else:
                            continue
                    else:
                        mm = (mm.group(1), mm.group(2))
                    if int(mm[0]) == uid:
                        with ledger.lock:
                            ledger.stored[uid] = max(ledger.stored.get(uid, 0), int(mm[1]))
        except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort, EOFError):
            time.sleep(0.05)


def mailbox_state(srv):
    """(uidvalidity, uidnext, highestmodseq) of MAILBOX, or None before it
    exists."""
    m = imaplib.IMAP4_SSL(srv.host, srv.ports["imaps"], ssl_context=tls_ctx(srv))
    try:
        m.login(ALICE, "alice-pw")
        typ, _ = m.select(MAILBOX, readonly=True)
        if typ != "OK":
            return None
        m._simple_command("NOOP")
        uv = int(m.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
        un = int(m.untagged_responses.get("UIDNEXT", [b"0"])[-1])
        hm = int(m.untagged_responses.get("HIGHESTMODSEQ", [b"0"])[-1])
        return uv, un, hm
    finally:
        try:
            m.logout()
        except Exception:
            pass


def state_or_missing(srv):
    """mailbox_state(), "missing" before the mailbox exists, None while
    the server is not answering yet."""
    try:
        return mailbox_state(srv) or "missing"
    except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort, EOFError):
        return None


def queue_empty(srv):
    out = queue_lines(srv).strip()
    return out == "" or "queue is empty" in out


def maildir_files(root):
    out = []
    for dirpath, dirnames, files in os.walk(root):
        if os.path.basename(dirpath) in ("new", "cur"):
            out += [os.path.join(dirpath, f) for f in files]
    return out


def message_ids(root):
    """msgid -> copies in a Maildir tree; raises on a half-written file."""
    ids = {}
    for p in maildir_files(root):
        with open(p, "rb") as f:
            data = f.read()
        if TRAILER not in data:
            continue  # not a crash-test message (e.g. a bounce)
        assert data.endswith(TRAILER), f"half-written or damaged message {p}"
        mid = re.search(rb"Message-ID: <([^>]+)>", data)
        assert mid, p
        key = mid.group(1).decode()
        ids[key] = ids.get(key, 0) + 1
    return ids


def children(srv):
    return [p for p in srv.pids()[1:]]


@pytest.fixture
def relay():
    r = Relay(a_settings={"submission_max_messages_per_hour": "0", "workers": "2",
                          "log_level": "info"})
    r.start()
    yield r
    r.cleanup()


def test_kill9_rounds(relay):
    a = relay.a
    ledger = Ledger()
    history = []           # (uidvalidity, uidnext, highestmodseq) after each restart
    kills = {"all": 0, "child": 0}
    rng = random.Random(os.environ.get("CRASH_SEED"))
    for rnd in range(ROUNDS):
        stop = threading.Event()
        threads = [threading.Thread(target=f, args=(a, ledger, stop), daemon=True)
                   for f in (mx_sender, mx_sender, submission_sender, submission_sender,
                             imap_client, imap_client)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.5))
        if rnd % 2 == 0:
            a.kill9_all()
            kills["all"] += 1
        else:
            victims = children(a)
            if victims:
                os.kill(rng.choice(victims), signal.SIGKILL)
                kills["child"] += 1
            time.sleep(rng.uniform(0.1, 0.5))
        stop.set()
        for t in threads:
            t.join(30)
        if a.proc is None:
            a.start()
        st = wait_for(lambda: state_or_missing(a), 20)
        if isinstance(st, tuple):
            history.append(st)
    # Quiet now: the queue must deliver everything to B.
    assert not ledger.errors, ledger.errors[:5]
    assert wait_for(lambda: queue_empty(a), 120), queue_lines(a)
    want_bob = {m for m, r in ledger.smtp.items() if BOB in r}
    want_alice = {m for m, r in ledger.smtp.items() if ALICE in r}

    def delivered():
        got = message_ids(relay.b.maildir(BOB))
        return want_bob <= set(got)
    wait_for(delivered, 60)

    bob_ids = message_ids(relay.b.maildir(BOB))
    alice_ids = message_ids(a.maildir(ALICE))
    lost_bob = sorted(want_bob - set(bob_ids))
    lost_alice = sorted(want_alice - set(alice_ids))
    lost_append = sorted(set(ledger.appended) - set(alice_ids))
    dup_smtp = sum(n - 1 for m, n in bob_ids.items() if m in want_bob) + \
        sum(n - 1 for m, n in alice_ids.items() if m in want_alice)
    dup_append = sum(n - 1 for m, n in alice_ids.items() if m in ledger.appended)

    # UIDVALIDITY constant; UIDNEXT and HIGHESTMODSEQ never go back.
    uidvalidities = {uv for uv, _, _ in history}
    final = mailbox_state(a)
    uid_msgid = {}
    flags_modseq = {}
    m = imaplib.IMAP4_SSL(a.host, a.ports["imaps"], ssl_context=tls_ctx(a))
    m.login(ALICE, "alice-pw")
    m._simple_command("ENABLE", "CONDSTORE")
    m.select(MAILBOX, readonly=True)
    typ, data = m.uid("FETCH", "1:*", "(FLAGS MODSEQ BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert typ == "OK"
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        uid = int(re.search(rb"UID (\d+)", head).group(1))
        mid = re.search(rb"<([^>]+)>", body)
        uid_msgid[uid] = mid.group(1).decode() if mid else None
        flags_modseq[uid] = (b"\\Flagged" in head, int(re.search(rb"MODSEQ \((\d+)\)", head).group(1)))
    m.logout()
    moved_uid = [mid for mid, (uv, uid) in ledger.appended.items()
                 if uid_msgid.get(uid) != mid or uv != final[0]]
    lost_store = [uid for uid, ms in ledger.stored.items()
                  if uid not in flags_modseq or not flags_modseq[uid][0] or flags_modseq[uid][1] < ms]
    report = (f"crash rounds={ROUNDS} (kill -9 of all: {kills['all']}, of one child: "
              f"{kills['child']}); acknowledged: smtp={len(ledger.smtp)} "
              f"append={len(ledger.appended)} store={len(ledger.stored)}; "
              f"lost: smtp={len(lost_bob) + len(lost_alice)} append={len(lost_append)} "
              f"store={len(lost_store)}; duplicates: smtp={dup_smtp} append={dup_append}; "
              f"uidvalidity values={len(uidvalidities | {final[0]})}")
    print(report)
    if os.environ.get("CRASH_REPORT"):
        with open(os.environ["CRASH_REPORT"], "a") as f:
            f.write(report + "\n")
    assert len(ledger.smtp) > ROUNDS and len(ledger.appended) > ROUNDS, report
    assert lost_bob == [] and lost_alice == [], (report, lost_bob[:5], lost_alice[:5])
    assert lost_append == [] and moved_uid == [], (report, lost_append[:5], moved_uid[:5])
    assert lost_store == [], (report, lost_store[:5])
    assert len(uidvalidities | {final[0]}) == 1, history
    for (uv0, un0, hm0), (uv1, un1, hm1) in zip(history, history[1:] + [final]):
        assert un1 >= un0 and hm1 >= hm0, history
    assert max((uid for _, uid in ledger.appended.values()), default=0) < final[1]
    assert max(ledger.stored.values(), default=0) <= final[2]
    # No message in any Maildir of B or A is half-written: message_ids()
    # checked each file; a Maildir's tmp/ is never shown to clients.
    assert "killed by signal" not in a.read_log().replace("killed by signal 9", "")


def test_interrupted_delivery_repeated_at_restart():
    slow_ip = "127.0.0.17"
    r = Relay([("slow.test", "MX", "10 mx.slow.test."), ("mx.slow.test", "A", slow_ip)],
              extra_hosts=(slow_ip,))
    fake = FakeSMTP(slow_ip, r.port, "slowdot", slow=8.0)
    try:
        r.start()
        a = r.a
        res = sendmail(a, ["-f", ALICE, "victim@slow.test"], "Subject: interrupted\n\nx\n")
        assert res.returncode == 0, res.stderr
        # The first attempt waits for the final reply: stop the queue
        # process then; the master starts a new one.
        assert wait_for(lambda: fake.dots >= 1, 30)
        pid = queue_process_pid(a)
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: queue_process_pid(a) not in (None, pid), 20)
        # Repeated at once (the fake answers the second one quickly),
        # not after queue_retry_min (5 minutes).
        assert wait_for(lambda: queue_empty(a), 30), queue_lines(a)
        assert fake.dots >= 2
    finally:
        fake.stop()
        r.cleanup()
