"""Shared helpers for the side-by-side benchmarks in bench/: start a
correu instance and reference servers (Postfix, Dovecot) from Debian's
packages with temporary configurations on loopback high ports, measure
CPU time of a whole process tree with a cpuacct cgroup, and print
ratios. Nothing is delivered off the machine. Run as root."""
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORREU = os.environ.get("CORREU_BIN", os.path.join(ROOT, "build", "correu"))


def free_port_base():
    for _ in range(200):
        base = random.randrange(11000, 31000, 1000)
        ok = True
        for off in (25, 80, 110, 143, 443, 465, 587, 993, 995):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + off))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


def wait_port(port, host="127.0.0.1", timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} not listening")


class CpuGroup:
    """CPU time of every process started inside it (cgroup v1 cpuacct),
    including short-lived children such as Postfix's smtpd/cleanup."""

    def __init__(self, name):
        self.path = f"/sys/fs/cgroup/cpuacct/correu-bench-{name}-{os.getpid()}"
        os.makedirs(self.path, exist_ok=True)

    def preexec(self):
        path = self.path

        def join():
            with open(os.path.join(path, "tasks"), "w") as f:
                f.write(str(os.getpid()))
        return join

    def usage_ms(self):
        with open(os.path.join(self.path, "cpuacct.usage")) as f:
            return int(f.read()) / 1e6

    def close(self):
        try:
            with open(os.path.join(self.path, "tasks")) as f:
                for pid in f.read().split():
                    try:
                        os.kill(int(pid), 9)
                    except ProcessLookupError:
                        pass
            time.sleep(0.2)
            os.rmdir(self.path)
        except OSError:
            pass


def count_files(*dirs):
    n = 0
    for d in dirs:
        try:
            n += len(os.listdir(d))
        except FileNotFoundError:
            pass
    return n


class Correu:
    def __init__(self, users=("bench@example.test",), password="bench-pw", settings=None):
        self.dir = tempfile.mkdtemp(prefix="correu-bench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
        os.chmod(self.dir, 0o755)
        self.base = free_port_base()
        self.conf = os.path.join(self.dir, "correu.conf")
        args = [CORREU, "init", self.dir, "--domain", "example.test", "--hostname",
                "mail.example.test", "--port-base", str(self.base), "--listen", "127.0.0.1",
                "--set", "dns_resolver=127.0.0.1@9"]  # never the machine's resolver
        for k, v in (settings or {}).items():
            args += ["--set", f"{k}={v}"]
        subprocess.run(args, check=True, capture_output=True)
        for u in users:
            subprocess.run([CORREU, "-c", self.conf, "user", "add", u, "--password-stdin"],
                           input=password + "\n", text=True, check=True, capture_output=True)
        self.cpu = CpuGroup("correu")
        self.proc = None

    def port(self, off):
        return self.base + off

    def start(self):
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen([CORREU, "-c", self.conf, "serve"], stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=self.cpu.preexec())
        wait_port(self.port(25))
        return self

    def maildir_count(self, user):
        local, domain = user.split("@")
        root = os.path.join(self.dir, "data", "mail", domain, local)
        return count_files(os.path.join(root, "new"), os.path.join(root, "cur"))

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(30)
            self.log.close()
        self.cpu.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Postfix:
    """A private Postfix with virtual Maildir delivery for example.test."""

    def __init__(self, users=("bench@example.test",), port=None, extra_main=""):
        self.dir = tempfile.mkdtemp(prefix="postfix-bench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
        os.chmod(self.dir, 0o755)
        self.port = port or free_port_base() + 25
        self.conf_dir = os.path.join(self.dir, "etc")
        os.makedirs(self.conf_dir)
        self.mail = os.path.join(self.dir, "mail")
        os.makedirs(self.mail)
        pf = pwd.getpwnam("postfix")
        os.chown(self.mail, pf.pw_uid, pf.pw_gid)
        with open(os.path.join(self.conf_dir, "vmailbox"), "w") as f:
            for u in users:
                local, domain = u.split("@")
                f.write(f"{u} {domain}/{local}/\n")
        main = f"""
compatibility_level = 3.6
queue_directory = {self.dir}/queue
data_directory = {self.dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.example.test
mydomain = example.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = example.test
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.conf_dir}/vmailbox
virtual_uid_maps = static:{pf.pw_uid}
virtual_gid_maps = static:{pf.pw_gid}
maillog_file = {self.dir}/maillog
maillog_file_prefixes = {os.path.dirname(self.dir)}
smtputf8_enable = yes
biff = no
alias_maps =
alias_database =
{extra_main}
"""
        with open(os.path.join(self.conf_dir, "main.cf"), "w") as f:
            f.write(main)
        with open("/etc/postfix/master.cf") as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            fields = line.split()
            if line.startswith("smtp ") and "inet" in fields[:2]:
                line = f"127.0.0.1:{self.port} inet n - n - - smtpd"
            elif fields and not line.startswith((" ", "\t", "#")) and len(fields) >= 8:
                fields[4] = "n"  # no chroot: the temporary tree has no copy of /etc
                line = " ".join(fields)
            out.append(line)
        out.append("postlog unix-dgram n - n - 1 postlogd")
        with open(os.path.join(self.conf_dir, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        self.cpu = CpuGroup("postfix")

    def postfix(self, *args):
        return subprocess.run(["postfix", "-c", self.conf_dir, *args], capture_output=True,
                              text=True, preexec_fn=self.cpu.preexec())

    def start(self):
        for d in ("queue", "data"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.dir, "data"), pf.pw_uid, pf.pw_gid)
        self.postfix("check")
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError(r.stderr + r.stdout)
        wait_port(self.port)
        return self

    def maildir_count(self, user):
        local, domain = user.split("@")
        root = os.path.join(self.mail, domain, local)
        return count_files(os.path.join(root, "new"), os.path.join(root, "cur"))

    def stop(self):
        self.postfix("stop")
        time.sleep(0.5)
        self.cpu.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def ratio(a, b):
    return a / b if b else float("inf")
