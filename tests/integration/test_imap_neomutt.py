"""neomutt against correu, scripted: its full-screen index runs on a
pseudo-terminal and executes pushed commands (flag, delete, save to
another folder, expunge, quit) over IMAPS; batch mode (no terminal, the
message on stdin) sends through submission (neomutt refuses an IMAP Fcc
in batch mode), and a second scripted run reads that message by piping
it to a file. The results are checked with imaplib."""
import os
import pty
import select
import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("neomutt") is None, reason="needs neomutt")

USER, PW = "ida@example.test", "ida-pw"


def login(server):
    return server.imaps(USER, PW)


def muttrc(server, home):
    user = USER.replace("@", "%40")
    path = os.path.join(home, "muttrc")
    with open(path, "w") as f:
        f.write(f"""
set folder="imaps://{user}@{server.host}:{server.ports['imaps']}/"
set spoolfile="+INBOX"
set imap_pass="{PW}"
set smtp_url="smtp://{user}@{server.host}:{server.ports['submission']}/"
set smtp_pass="{PW}"
set ssl_starttls=yes
set certificate_file="{server.cert}"
set ssl_verify_host=no
set from="{USER}"
set sort=mailbox-order
set resolve=no
set quit=yes
set delete=yes
set move=no
set confirmappend=no
set confirmcreate=no
set mark_old=no
set copy=no
set wait_key=no
set header_cache=""
set message_cachedir=""
set timeout=1
""")
    return path


def run_tty(args, home, timeout=60):
    """Runs neomutt on a pseudo-terminal until it exits."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"TERM": "xterm", "HOME": home})
        os.execvp(args[0], args)
    out = b""
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            out += data
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail(f"neomutt did not finish: {out[-2000:]!r}")
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def subjects(m, mailbox):
    typ, data = m.select(mailbox)
    if data[0] == b"0":
        return []
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = []
    for item in data:
        if isinstance(item, tuple):
            subj = item[1].decode().strip().split(": ", 1)[1]
            out.append((subj, b"\\Flagged" in item[0]))
    return out


def test_neomutt(make_server, tmp_path):
    srv = make_server(users=(USER,))
    home = str(tmp_path)
    rc = muttrc(srv, home)
    m = login(srv)
    for subj in ("first", "second", "move me", "fourth"):
        m.append("INBOX", None, None, f"From: x@remote.test\r\nTo: {USER}\r\nSubject: {subj}\r\n"
                 f"\r\nbody of {subj}\r\n".encode())
    # Flag the first, delete the second, save "move me" to Archive (a
    # move: the original is deleted), expunge, quit.
    code, out = run_tty(["neomutt", "-n", "-F", rc, "-e",
                         'push "<flag-message><next-entry><delete-message>'
                         '<limit>~s move<enter><save-message>=Archive<enter>'
                         '<limit>all<enter><sync-mailbox><quit>"'], home)
    assert code == 0, out[-2000:]
    assert subjects(m, "INBOX") == [("first", True), ("fourth", False)]
    assert subjects(m, "Archive") == [("move me", False)]
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
    assert data[0][1] == b"body of move me\r\n"
    # Batch mode: no terminal, the message on stdin, sent through
    # submission; then read back through IMAP by a second scripted run.
    r = subprocess.run(["neomutt", "-n", "-F", rc, "-s", "from neomutt", USER],
                       input=b"sent in batch mode\n", capture_output=True, timeout=60,
                       env=dict(os.environ, HOME=home, TERM="dumb"))
    assert r.returncode == 0, r.stderr
    srv.wait_messages(USER, 3)
    piped = os.path.join(home, "piped.txt")
    code, out = run_tty(["neomutt", "-n", "-F", rc, "-e",
                         f'push "<limit>~s neomutt<enter><pipe-message>cat > {piped}<enter><quit>"'],
                        home)
    assert code == 0, out[-2000:]
    with open(piped, "rb") as f:
        text = f.read()
    assert b"Subject: from neomutt" in text and b"sent in batch mode" in text
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", '"from neomutt"')
    assert data[0].split() == [b"3"]
    m.logout()
