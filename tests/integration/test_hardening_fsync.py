"""The promise behind 250 and APPEND OK, checked with strace: the server
runs under `strace -f -y`, receives mail over SMTP (local delivery into
the Maildir), submission and the pickup socket of local users' sendmail
(into the queue) and IMAP APPEND, and for every
such reply the trace must show, before the reply is written, for each
file the command made visible (a link or rename from tmp/ or the spool
into a Maildir's new/ or cur/, or into the queue): an fsync or fdatasync of the file's data that
completed, then the rename/link, then an fsync of the directory that
holds the new name, completed after the rename/link. Causality makes the
order in the trace trustworthy: a helper thread stays stopped at the end
of its fsync until strace has printed it, and the reply depends on it."""
import base64
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import CORREU, DOMAIN, sanitizer_env

ALICE = "alice@" + DOMAIN

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")


def traced_env():
    """LeakSanitizer cannot run under ptrace; the rest of ASan can."""
    env = sanitizer_env()
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    return env

LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")


def parse(path):
    """Events in trace order: (index, kind, fields). Entries of writes,
    completions of everything else."""
    events = []
    pending = {}
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, rest = m.group(1), m.group(2)
            if rest.startswith("<... "):
                name = rest[5:].split(" ", 1)[0]
                start = pending.pop((pid, name), "")
                full = start + rest.split("resumed>", 1)[1]
                events.append((len(events), name, "done", full))
                continue
            c = CALL.match(rest)
            if not c:
                continue
            name, args = c.group(1), c.group(2)
            if name in ("write", "writev", "sendto", "sendmsg"):
                events.append((len(events), name, "enter", args))
            if rest.endswith("<unfinished ...>"):
                pending[(pid, name)] = args[: -len("<unfinished ...>")]
            else:
                events.append((len(events), name, "done", args))
    return events


def fd_path(args):
    m = re.match(r"\d+<([^>]*)>", args)
    return m.group(1).replace(" (deleted)", "") if m else None


def ok_result(args):
    return re.search(r"\)\s+= 0\s*$", args) is not None or re.search(r"= 0$", args) is not None


def quoted(args, n):
    vals = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
    return vals[n] if len(vals) > n else None


def check_trace(events, data_dir, reply_re):
    """Returns (replies checked, files checked, problems)."""
    problems = []
    replies = files = 0
    last_reply = {}
    for idx, name, phase, args in events:
        if phase != "enter":
            continue
        sock = fd_path(args)
        text = quoted(args, 0) or ""
        if sock is None or not sock.startswith(("socket:", "TCP", "UNIX")) or \
                not re.match(reply_re, text):
            continue
        replies += 1
        # The clients talk one at a time: what happened since the last
        # acknowledgement belongs to this one.
        window_start = last_reply.get("any", 0)
        last_reply["any"] = idx
        made = []
        for j, n2, ph2, a2 in events[window_start:idx]:
            if ph2 != "done" or n2 not in ("rename", "renameat", "renameat2", "link", "linkat"):
                continue
            if not ok_result(a2):
                continue
            src, dst = quoted(a2, 0), quoted(a2, 1)
            if dst is None or not dst.startswith(data_dir):
                continue
            rel = dst[len(data_dir):]
            if not (rel.startswith("/queue/") or "/new/" in rel or "/cur/" in rel) or \
                    "/tmp/" in rel:
                continue
            # Moves inside a Maildir (new/ to cur/, flag changes) show no
            # new content; what comes from tmp/ or the spool does.
            if src is None or "/new/" in src or "/cur/" in src:
                continue
            made.append((j, src, dst))
        if not made:
            problems.append(f"reply {text[:60]!r} at {idx}: no file made visible before it")
            continue
        for j, src, dst in made:
            files += 1
            data_synced = any(
                ph == "done" and n in ("fsync", "fdatasync") and ok_result(a) and
                fd_path(a) in (src, dst) and k < idx
                for k, n, ph, a in events[:idx])
            dir_synced = any(
                ph == "done" and n in ("fsync", "fdatasync") and ok_result(a) and
                fd_path(a) == os.path.dirname(dst) and j < k < idx
                for k, n, ph, a in events[j:idx])
            if not data_synced:
                problems.append(f"{text[:40]!r}: data of {dst} not synced before the reply")
            if not dir_synced:
                problems.append(f"{text[:40]!r}: directory of {dst} not synced between "
                                f"the rename/link and the reply")
    return replies, files, problems


def test_replies_only_after_fsync(make_server):
    srv = make_server(start=False, settings={"auth_allow_plaintext": "yes", "workers": "1"})
    trace = os.path.join(srv.dir, "strace.out")
    srv.log = open(srv.logpath, "a")
    srv.proc = subprocess.Popen(
        ["strace", "-D", "-f", "-qq", "-y", "-s", "200", "-o", trace,
         "-e", "trace=write,writev,sendto,sendmsg,rename,renameat,renameat2,link,linkat,"
               "fsync,fdatasync",
         CORREU, "-c", srv.conf, "serve"],
        stdout=srv.log, stderr=subprocess.STDOUT, env=traced_env())
    srv.wait_ready(timeout=60)
    # MX: local delivery straight into the Maildir.
    with srv.smtp(timeout=60) as s:
        for i in range(3):
            s.sendmail("a@remote.example", [ALICE], f"Subject: mx {i}\r\n\r\nbody\r\n".encode())
    # Submission: a remote recipient goes into the queue.
    with srv.smtp("submission", timeout=60) as s:
        s.login(ALICE, "alice-pw")
        for i in range(2):
            s.sendmail(ALICE, ["bob@remote.example"], f"From: <{ALICE}>\r\nSubject: q {i}\r\n\r\nq\r\n".encode())
    # IMAP APPEND (plain port; the configuration allows it for this test).
    import imaplib
    m = imaplib.IMAP4(srv.host, srv.ports["imap"], timeout=60)
    m.login(ALICE, "alice-pw")
    for i in range(2):
        typ, data = m.append("INBOX", None, None, f"Subject: append {i}\r\n\r\nx\r\n".encode())
        assert typ == "OK" and b"APPENDUID" in data[0]
    m.logout()
    # The pickup socket (local users' sendmail): "ok ID" only after the
    # same commit as submission.
    pickup = os.path.join(srv.dir, "data", "public", "pickup")
    for i in range(2):
        msg = f"Subject: pickup {i}\r\n\r\np\r\n".encode()
        # A remote recipient, as for submission: a local one would be
        # delivered by this same process meanwhile, and its Maildir link
        # would land in the next reply's window, not yet synced.
        rcpt = "bob@remote.example"
        req = (b"pickup 1\n1" + f"sender {len(ALICE)}\n{ALICE}rcpt {len(rcpt)}\n{rcpt}"
               f"message {len(msg)}\n".encode() + msg)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as p:
            p.settimeout(60)
            for _ in range(600):
                try:
                    p.connect(pickup)
                    break
                except OSError:
                    time.sleep(0.1)
            p.sendall(req)
            assert p.recv(200).startswith(b"ok ")
    srv.stop()
    time.sleep(0.5)  # strace writes its last lines as the tracees exit
    events = parse(trace)
    data_dir = os.path.realpath(os.path.join(srv.dir, "data"))
    n, files, problems = check_trace(
        events, data_dir, r"(250 2\.0\.0 Ok: queued as|[A-Za-z0-9.]+ OK \[APPENDUID|ok [A-Za-z0-9]+\\n)")
    print(f"fsync check: {n} replies (5 SMTP, 2 APPEND, 2 pickup), {files} files made visible")
    assert n == 9, n
    assert problems == [], problems
