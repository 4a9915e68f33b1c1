"""Real IMAP clients against correu: mbsync (isync) two-way sync of
several folders, and curl imap:// (STARTTLS) and imaps:// URLs."""
import os
import shutil
import subprocess

import pytest

USER, PW = "gus@example.test", "gus-pw"


def login(server):
    return server.imaps(USER, PW)


@pytest.fixture
def srv(make_server):
    return make_server(users=(USER,))


def local_files(root, folder):
    out = []
    for sub in ("cur", "new"):
        d = os.path.join(root, folder, sub)
        if os.path.isdir(d):
            out += [os.path.join(d, n) for n in os.listdir(d)]
    return out


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync not installed")
def test_mbsync_two_way(srv, tmp_path):
    m = login(srv)
    m.create("Lists.Go")
    for i in range(3):
        m.append("INBOX", None, None, f"Subject: in{i}\r\nMessage-ID: <in{i}@x>\r\n\r\nbody {i}\r\n".encode())
    m.append("Sent", "(\\Seen)", None, b"Subject: sent0\r\nMessage-ID: <s0@x>\r\n\r\nsent\r\n")
    m.append("Lists.Go", None, None, b"Subject: go\r\nMessage-ID: <go@x>\r\n\r\ngo\r\n")
    m.logout()
    local = tmp_path / "mail"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    # The test certificate names mail.example.test, not 127.0.0.1: let
    # openssl verify it by name and hand mbsync the decrypted stream.
    tunnel = (f"openssl s_client -quiet -verify_return_error -CAfile {srv.cert} "
              f"-verify_hostname {srv.hostname} -connect {srv.host}:{srv.ports['imaps']}")
    rc.write_text(f"""IMAPAccount acc
Tunnel "{tunnel} 2>/dev/null"
User {USER}
Pass {PW}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account acc

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel ch
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def sync():
        r = subprocess.run(["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr

    sync()
    assert len(local_files(local, "INBOX")) == 3
    assert len(local_files(local, "Sent")) == 1
    assert len(local_files(local, "Lists/Go")) == 1 or len(local_files(local, "Lists.Go")) == 1
    # Local changes: flag one, delete one, add one in Drafts.
    inbox = sorted(local_files(local, "INBOX"))
    flagged = inbox[0]
    base, _, flags = flagged.rpartition(":2,")
    os.rename(flagged, base + ":2," + "".join(sorted(flags + "F")))
    os.rename(inbox[1], inbox[1].rpartition(":2,")[0] + ":2,ST")
    drafts_new = local / "Drafts" / "new"
    drafts_new.mkdir(parents=True, exist_ok=True)
    (drafts_new / "1700000000.local.host").write_bytes(b"Subject: draft\r\nMessage-ID: <d@x>\r\n\r\nwip\r\n")
    sync()
    m = login(srv)
    m.select("INBOX")
    typ, data = m.search(None, "ALL")
    assert len(data[0].split()) == 2
    typ, data = m.search(None, "FLAGGED")
    assert len(data[0].split()) == 1
    typ, data = m.status("Drafts", "(MESSAGES)")
    assert data[0] == b'"Drafts" (MESSAGES 1)'
    # Server-side changes come back.
    m.store("1:*", "+FLAGS", "\\Seen")
    m.append("INBOX", None, None, b"Subject: late\r\nMessage-ID: <late@x>\r\n\r\nlate\r\n")
    m.logout()
    sync()
    inbox = local_files(local, "INBOX")
    assert len(inbox) == 3
    assert sum(1 for f in inbox if "S" in f.rpartition(":2,")[2]) == 2
    # A second sync with nothing new changes nothing.
    sync()
    assert len(local_files(local, "INBOX")) == 3


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl(srv, tmp_path):
    m = login(srv)
    m.append("INBOX", None, None, b"Subject: curl me\r\n\r\nfetched by curl\r\n")
    m.logout()
    host = srv.hostname
    base = ["curl", "-sS", "--cacert", srv.cert, "-u", f"{USER}:{PW}"]
    imaps = f"{host}:{srv.ports['imaps']}:{srv.host}"
    imap = f"{host}:{srv.ports['imap']}:{srv.host}"
    r = subprocess.run(base + ["--resolve", imaps, f"imaps://{host}:{srv.ports['imaps']}/INBOX;UID=1"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Subject: curl me\r\n\r\nfetched by curl\r\n"
    # STARTTLS on the plain port.
    r = subprocess.run(base + ["--ssl-reqd", "--resolve", imap,
                               f"imap://{host}:{srv.ports['imap']}/INBOX;UID=1;SECTION=TEXT"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"fetched by curl\r\n"
    # Listing and searching.
    r = subprocess.run(base + ["--resolve", imaps, f"imaps://{host}:{srv.ports['imaps']}/"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and '"Sent"' in r.stdout and "\\Sent" in r.stdout
    r = subprocess.run(base + ["--resolve", imaps, f"imaps://{host}:{srv.ports['imaps']}/INBOX?SUBJECT%20curl"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "* SEARCH 1"
    # Without TLS curl must not be able to log in.
    r = subprocess.run(base + ["--resolve", imap, f"imap://{host}:{srv.ports['imap']}/INBOX;UID=1"],
                       capture_output=True, timeout=30)
    assert r.returncode != 0
