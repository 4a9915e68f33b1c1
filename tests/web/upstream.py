#!/usr/bin/python3
"""tests/web/upstream.py — the mail servers the webmail's browser tests and
benchmark run against, on loopback high ports in a temporary directory:
either a private Dovecot (IMAPS, passwd-file, Maildir, LMTP) + Postfix
(submission over implicit TLS with SASL through Dovecot, delivery by LMTP
into Dovecot), or correu itself (`correu init` + `correu serve`, which
also runs its built-in webmail). Needs root (Postfix's master, Dovecot's
privilege separation, correu's privilege drop).

    upstream.py start DIR           Dovecot + Postfix; write DIR/upstream.json,
                                    wait for SIGTERM
    upstream.py start-correu DIR    the same with `correu serve` ($CORREU_BIN);
                                    upstream.json also names the built-in
                                    webmail's https/http ports
    upstream.py seed DIR    put the test mails (and the XSS corpus) in INBOX
    upstream.py bulk DIR FOLDER N  fill FOLDER with N small messages (bench)
    upstream.py kick DIR    drop the user's IMAP connections
"""
import email.policy
import email.utils
import imaplib
import json
import os
import pwd
import random
import grp
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from email.message import EmailMessage

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "alice@example.test"
PASSWORD = "wonderland-Secret-1"
USER2 = "bob@example.test"
PASSWORD2 = "builder-Secret-2"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "30", "-subj", "/CN=localhost", "-keyout", key, "-out", cert,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def start(d):
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    cert, key = make_cert(d)
    ports = {"imaps": free_port(), "submissions": free_port()}
    nobody = pwd.getpwnam("nobody")
    mail = os.path.join(d, "mail")
    os.makedirs(mail, exist_ok=True)
    os.chown(mail, nobody.pw_uid, nobody.pw_gid)
    dv = os.path.join(d, "dovecot")
    run = os.path.join(dv, "run")
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(dv, "passwd"), "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n{USER2}:{{PLAIN}}{PASSWORD2}::::::\n")
    conf = f"""
base_dir = {run}
state_dir = {dv}/state
log_path = {dv}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
default_internal_user = dovecot
default_login_user = dovenull
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{mail}/%d/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dv}/passwd
}}
userdb {{
  driver = static
  args = uid={nobody.pw_uid} gid={nobody.pw_gid} home={mail}/%d/%n
}}
namespace inbox {{
  inbox = yes
  mailbox Drafts {{
    special_use = \\Drafts
    auto = create
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {ports["imaps"]}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 500
}}
protocol lmtp {{
  postmaster_address = postmaster@example.test
}}
"""
    with open(os.path.join(dv, "dovecot.conf"), "w") as f:
        f.write(conf)
    subprocess.run(["dovecot", "-c", os.path.join(dv, "dovecot.conf")], check=True)

    pfdir = os.path.join(d, "postfix")
    etc = os.path.join(pfdir, "etc")
    os.makedirs(etc, exist_ok=True)
    main = f"""
compatibility_level = 3.6
queue_directory = {pfdir}/queue
data_directory = {pfdir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.example.test
mydomain = example.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.test
virtual_transport = lmtp:unix:{run}/lmtp
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_sasl_type = dovecot
smtpd_sasl_path = {run}/auth-postfix
maillog_file = {pfdir}/maillog
maillog_file_prefixes = /tmp
smtputf8_enable = yes
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
alias_maps =
alias_database =
"""
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(main)
    out = []
    with open("/etc/postfix/master.cf") as f:
        for line in f.read().splitlines():
            fields = line.split()
            if line.startswith("smtp ") and "inet" in fields[:2]:
                line = (f"127.0.0.1:{ports['submissions']} inet n - n - - smtpd"
                        " -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt"
                        " -o smtpd_sasl_auth_enable=yes"
                        " -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
                        " -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject")
            elif fields and not line.startswith((" ", "\t", "#")) and len(fields) >= 8:
                fields[4] = "n"
                line = " ".join(fields)
            out.append(line)
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.write("\n".join(out) + "\n")
    pf = pwd.getpwnam("postfix")
    for sub in ("queue", "data"):
        os.makedirs(os.path.join(pfdir, sub), exist_ok=True)
    os.chown(os.path.join(pfdir, "data"), pf.pw_uid, pf.pw_gid)
    subprocess.run(["postfix", "-c", etc, "check"], capture_output=True)
    r = subprocess.run(["postfix", "-c", etc, "start"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("postfix: " + r.stderr + r.stdout)
    wait_port(ports["imaps"])
    wait_port(ports["submissions"])
    info = {"kind": "dovecot", "dir": d, "cert": cert, "key": key, "imaps": ports["imaps"],
            "submissions": ports["submissions"], "user": USER, "password": PASSWORD,
            "user2": USER2, "password2": PASSWORD2, "postfix_etc": etc,
            "dovecot_conf": os.path.join(dv, "dovecot.conf"), "mail": mail,
            "mail_owner": "nobody"}
    with open(os.path.join(d, "upstream.json"), "w") as f:
        json.dump(info, f)
    return info


def correu_bin():
    b = os.environ.get("CORREU_BIN") or os.environ.get("CORREU")
    if not b:
        raise RuntimeError("CORREU_BIN is not set")
    return b


def correu_cli(info, *args, input=None):
    r = subprocess.run([info["correu"], "-c", info["conf"], *args], input=input,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"correu {' '.join(args)}: {r.stderr}{r.stdout}")
    return r.stdout


def free_port_base():
    """A base for correu init --port-base whose standard offsets are free."""
    offsets = (25, 587, 465, 143, 993, 110, 995, 443, 80)
    for _ in range(200):
        base = random.randrange(11000, 31000, 1000) + random.randrange(0, 8)
        ok = True
        for off in offsets:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", base + off))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


def start_correu(d, settings=None):
    """correu init + user add + correu serve (with its built-in webmail,
    unless settings say web_enabled = no); returns (info, serve process)."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    correu = correu_bin()
    base = free_port_base()
    sets = {"workers": "1", "log_level": os.environ.get("WEB_LOG_LEVEL", "info"),
            "web_static_dir": os.path.join(os.path.dirname(os.path.dirname(HERE)), "web"),
            "max_connections": "2000",
            "dns_resolver": "127.0.0.1@9"}  # never the machine's resolver
    sets.update(settings or {})
    args = [correu, "init", d, "--domain", "example.test", "--hostname", "mail.example.test",
            "--port-base", str(base), "--listen", "127.0.0.1", "--force"]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("correu init: " + r.stderr + r.stdout)
    conf = os.path.join(d, "correu.conf")
    info = {"kind": "correu", "dir": d, "correu": correu, "conf": conf,
            "cert": os.path.join(d, "tls", "cert.pem"), "key": os.path.join(d, "tls", "key.pem"),
            "imaps": base + 993, "submissions": base + 465, "smtp": base + 25,
            "https": base + 443, "http": base + 80, "user": USER, "password": PASSWORD,
            "user2": USER2, "password2": PASSWORD2, "mail": os.path.join(d, "data", "mail"),
            "mail_owner": "correu", "log": os.path.join(d, "serve.log"),
            "web": sets.get("web_enabled", "yes") == "yes"}
    for u, pw in ((USER, PASSWORD), (USER2, PASSWORD2)):
        correu_cli(info, "user", "add", u, "--password-stdin", input=pw + "\n")
    log = open(info["log"], "a")
    proc = subprocess.Popen([correu, "-c", conf, "serve"], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    SERVING["proc"] = proc
    for p in ("smtp", "imaps", "submissions") + (("https",) if info["web"] else ()):
        wait_port(info[p], 60)
    with open(os.path.join(d, "upstream.json"), "w") as f:
        json.dump(info, f)
    return info, proc


def stop(d):
    with open(os.path.join(d, "upstream.json")) as f:
        info = json.load(f)
    if info.get("kind") == "correu":
        return
    subprocess.run(["postfix", "-c", info["postfix_etc"], "stop"], capture_output=True)
    subprocess.run(["doveadm", "-c", info["dovecot_conf"], "stop"], capture_output=True)


def kick(d):
    """Drops the user's IMAP connections: doveadm kick, or for correu a
    reindex (sessions with a mailbox selected get BYE and reconnect)."""
    with open(os.path.join(d, "upstream.json")) as f:
        info = json.load(f)
    if info.get("kind") == "correu":
        correu_cli(info, "reindex", info["user"])
    else:
        subprocess.run(["doveadm", "-c", info["dovecot_conf"], "kick", info["user"]], check=True,
                       capture_output=True)


def imap(info, user=USER, password=PASSWORD):
    ctx = ssl.create_default_context(cafile=info["cert"])
    c = imaplib.IMAP4_SSL("localhost", info["imaps"], ssl_context=ctx)
    c.login(user, password)
    return c


def test_messages():
    """The mails the browser test reads: multipart with an attachment,
    charsets and encoded words, and a thread."""
    out = []
    m = EmailMessage()
    m["From"] = "Carol Example <carol@example.test>"
    m["To"] = USER
    m["Subject"] = "Quarterly report with attachment"
    m["Date"] = email.utils.formatdate(time.time() - 7200)
    m["Message-ID"] = "<report-1@example.test>"
    m.set_content("Hello Alice,\n\nplease find the report attached.\n\nCarol\n")
    m.add_alternative("<p>Hello Alice,</p><p>please find the <b>report</b> attached.</p>", subtype="html")
    m.add_attachment(b"col1,col2\n1,2\n3,4\n", maintype="text", subtype="csv", filename="report-q3.csv")
    out.append(m.as_bytes(policy=email.policy.SMTP))

    raw = ("From: =?ISO-8859-1?Q?Jos=E9_Garc=EDa?= <jose@example.test>\r\n"
           f"To: {USER}\r\n"
           "Subject: =?UTF-8?B?w5xiZXJwcsO8ZnVuZyBkZXIgUmVjaG51bmc=?=\r\n"
           "Date: " + email.utils.formatdate(time.time() - 3600) + "\r\n"
           "Message-ID: <latin1@example.test>\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=ISO-8859-1\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           "Se=F1or, la factura est=E1 lista. Gr=FC=DFe.\r\n").encode()
    out.append(raw)

    raw = ("From: Dmitri <dmitri@example.test>\r\n"
           f"To: {USER}\r\n"
           "Subject: =?windows-1251?B?z/Do4uXy?=\r\n"
           "Date: " + email.utils.formatdate(time.time() - 3000) + "\r\n"
           "Message-ID: <cp1251@example.test>\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
           "--b1\r\nContent-Type: text/plain; charset=windows-1251\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           "z/Do4uXyLCDs6PAh\r\n"
           "--b1\r\nContent-Type: application/octet-stream\r\n"
           "Content-Disposition: attachment; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           "cmVwb3J0\r\n--b1--\r\n").encode()
    out.append(raw)

    for i, subj in enumerate(["Lunch on Friday?", "Re: Lunch on Friday?"]):
        t = EmailMessage()
        t["From"] = "Dave <dave@example.test>" if i == 0 else f"Alice <{USER}>"
        t["To"] = USER if i == 0 else "dave@example.test"
        t["Subject"] = subj
        t["Date"] = email.utils.formatdate(time.time() - 1800 + i * 60)
        t["Message-ID"] = f"<lunch-{i}@example.test>"
        if i:
            t["In-Reply-To"] = "<lunch-0@example.test>"
            t["References"] = "<lunch-0@example.test>"
        t.set_content("Shall we meet at noon?\n" if i == 0 else "Yes, noon works.\n")
        out.append(t.as_bytes(policy=email.policy.SMTP))

    # An inline (cid:) image in a related part: a 1x1 PNG.
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201"
                        "5b0d3a730000000049454e44ae426082")
    r = EmailMessage()
    r["From"] = "Erin <erin@example.test>"
    r["To"] = USER
    r["Subject"] = "Picture inline"
    r["Date"] = email.utils.formatdate(time.time() - 600)
    r.set_content("see the picture")
    r.add_alternative('<p>Logo: <img id="logo" src="cid:logo@example.test" alt="logo"></p>', subtype="html")
    r.get_payload()[1].add_related(png, maintype="image", subtype="png", cid="<logo@example.test>")
    out.append(r.as_bytes(policy=email.policy.SMTP))
    return out


def xss_messages():
    """The hostile corpus: each file in tests/web/xss/ becomes one HTML mail."""
    out = []
    d = os.path.join(HERE, "xss")
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), encoding="utf-8") as f:
            html = f.read()
        m = EmailMessage()
        m["From"] = "Mallory <mallory@example.test>"
        m["To"] = USER
        m["Subject"] = f"XSS {name}"
        m["Date"] = email.utils.formatdate(time.time() - 86400 * 3)
        m.set_content("hostile mail", subtype="plain")
        m.add_alternative(html, subtype="html")
        out.append(m.as_bytes(policy=email.policy.SMTP))
    return out


def seed(d):
    with open(os.path.join(d, "upstream.json")) as f:
        info = json.load(f)
    c = imap(info)
    for msg in xss_messages():
        c.append("INBOX", "", None, msg)
    for msg in test_messages():
        c.append("INBOX", "", None, msg)
    c.logout()


def bulk(d, folder, n):
    with open(os.path.join(d, "upstream.json")) as f:
        info = json.load(f)
    c = imap(info)
    c.create(folder)
    # Write the Maildir directly: APPEND of 100,000 messages takes long.
    c.select(folder)
    c.logout()
    local, domain = info["user"].split("@")
    base = os.path.join(info["mail"], domain, local, "." + folder, "cur")
    os.makedirs(base, exist_ok=True)
    owner = pwd.getpwnam(info["mail_owner"])
    now = int(time.time())
    for i in range(n):
        body = (f"From: Sender {i % 97} <s{i % 97}@example.test>\r\nTo: {info['user']}\r\n"
                f"Subject: Bulk message {i}\r\nDate: {email.utils.formatdate(now - n + i)}\r\n"
                f"Message-ID: <bulk-{i}@example.test>\r\n\r\nBody of message {i}.\r\n")
        p = os.path.join(base, f"{now - n + i}.M{i}P1.bench:2,S")
        with open(p, "w") as f:
            f.write(body)
        os.utime(p, (now - n + i, now - n + i))
    for root, dirs, files in os.walk(os.path.join(info["mail"], domain, local)):
        os.chown(root, owner.pw_uid, owner.pw_gid)
        for x in files:
            os.chown(os.path.join(root, x), owner.pw_uid, owner.pw_gid)
    if info.get("kind") == "correu":
        # correu's index learns of files put into cur/ by a rebuild (as
        # after importing a Maildir); Dovecot indexes at the first SELECT.
        correu_cli(info, "reindex", info["user"])
        # A session opening the folder starts the store's background fill
        # of the header cache (delivery and APPEND make it as they go).
        c = imap(info)
        c.select(folder)
        wait_header_cache(os.path.join(info["mail"], domain, local, "correu-index.sqlite"))
        c.logout()


def wait_header_cache(index, timeout=300):
    """Waits until the store's background fill has cached the headers of
    every message (as delivery and APPEND leave them), so that what the
    benchmark measures is the steady state, not the fill."""
    import sqlite3
    end = time.time() + timeout
    while time.time() < end:
        try:
            db = sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=10)
            try:
                missing = db.execute("SELECT count(*) FROM message m LEFT JOIN message_cache c"
                                     " ON c.id = m.id WHERE c.headers IS NULL").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:
            return  # another index layout: nothing to wait for
        if missing == 0:
            return
        time.sleep(0.5)


SERVING = {}


def on_stop_signal(*a):
    """SIGTERM/SIGINT: stops the servers; for correu the exit status of
    `correu serve` goes to DIR/serve.status."""
    d, proc = SERVING.get("dir"), SERVING.get("proc")
    if proc is not None:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "timeout"
        with open(os.path.join(d, "serve.status"), "w") as f:
            f.write(f"{rc}\n")
    elif d is not None and os.path.exists(os.path.join(d, "upstream.json")):
        stop(d)
    sys.exit(0)


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd in ("start", "start-correu"):
        SERVING["dir"] = d
        signal.signal(signal.SIGTERM, on_stop_signal)
        signal.signal(signal.SIGINT, on_stop_signal)
        try:
            if cmd == "start":
                start(d)
            else:
                start_correu(d, dict(a.split("=", 1) for a in sys.argv[3:]))
        except Exception:
            if SERVING.get("proc") is not None:
                SERVING["proc"].kill()
                SERVING["proc"].wait()
            raise
        print("ready", flush=True)
        while True:
            signal.pause()
    elif cmd == "kick":
        kick(d)
    elif cmd == "stop":
        stop(d)
    elif cmd == "seed":
        seed(d)
    elif cmd == "bulk":
        bulk(d, sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
