"""Shared harness for integration tests: real processes on loopback, free ports.

    from sealpost_harness import Relay, TestCA, free_port, submit
    ca = TestCA(tmp_path / "ca")
    with Sink(tmp_path / "sink") as sink, Relay(tmp_path, smarthost_port=sink.port) as relay:
        relay.add_user("anna", "secret", ["anna@praxis.example"])
        submit(relay.port("submission"), "anna@praxis.example", ["x@sink.example"], msg,
               auth=("anna", "secret"), cafile=relay.ca.cert)
        sink.wait_for(1)

Everything started here is stopped by the context managers (or stop()); every port is
picked fresh by binding port 0.
"""
import copy
import os
import random
import signal
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path

import yaml

BUILD_DIR = Path(os.environ.get("SEALPOST_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))
SOURCE_DIR = Path(os.environ.get("SEALPOST_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SEALPOSTD = BUILD_DIR / "relay" / "sealpostd"
SEALPOST = BUILD_DIR / "cli" / "sealpost"


def _ephemeral_range():
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A loopback port nothing listens on, picked below the kernel's ephemeral
    range: a port from bind(0) comes from that range, so between this probe and
    the daemon's own bind any outgoing connection of a parallel test could be
    given it as its source port (seen in CI as "Address already in use")."""
    low, _ = _ephemeral_range()
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(10000, max(10001, low - 1))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on 127.0.0.1:%d" % port)


def run(cmd, **kw):
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    return subprocess.run([str(c) for c in cmd], **kw)


def gpgsm_import_key(gpgsm, cert, key, p12):
    """Import `cert` and `key` into the gpgsm home that the command list `gpgsm` names.

    gpgsm 2.2 cannot read OpenSSL 3's default PBES2 PKCS#12, so this exports a
    3DES one. Even that, gpgsm 2.2.40 misreads for a few salts in a hundred
    (the same file fails every time; OpenSSL reads it): a failed import is
    retried with a fresh export, whose salt is new.
    """
    for _ in range(8):
        run(["openssl", "pkcs12", "-export", "-in", cert, "-inkey", key, "-passout", "pass:",
             "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1",
             "-out", p12])
        r = run(gpgsm + ["--import", p12], check=False)
        if r.returncode == 0:
            return r
        if b"error parsing or decrypting the PKCS#12 file" not in r.stderr:
            break
    raise subprocess.CalledProcessError(r.returncode, r.args, r.stdout, r.stderr)


def fake_sms_gateway(directory):
    """A portal.sms_command stand-in: writes each code (read from stdin) to
    <directory>/sms/<number>.txt. Returns (script path, that folder)."""
    directory = Path(directory)
    sms_dir = directory / "sms"
    sms_dir.mkdir(parents=True, exist_ok=True)
    script = directory / "send-sms"
    script.write_text("#!/bin/sh\ncat > \"%s/$1.txt\"\n" % sms_dir)
    script.chmod(0o755)
    return script, sms_dir


class TestCA:
    """A throw-away CA (openssl CLI) issuing TLS server and S/MIME certificates."""

    __test__ = False  # not a pytest class

    def __init__(self, directory, name="Sealpost Test CA"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert = self.dir / "ca.pem"
        self.key = self.dir / "ca.key"
        if not self.cert.exists():
            run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                 "-subj", "/CN=" + name, "-keyout", self.key, "-out", self.cert,
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"])

    def _issue(self, stem, subj, extensions, days=30, key_type="rsa:2048", start=None):
        key, csr, crt, ext = (self.dir / (stem + s) for s in (".key", ".csr", ".pem", ".ext"))
        newkey = ["-newkey", key_type] if not key_type.startswith("ec") else \
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        run(["openssl", "req", "-new", *newkey, "-nodes", "-subj", subj, "-keyout", key, "-out", csr])
        ext.write_text("\n".join(extensions) + "\n")
        cmd = ["openssl", "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
               "-CAcreateserial", "-days", str(days), "-extfile", ext, "-out", crt]
        run(cmd)
        return crt, key

    def server_cert(self, hostname="localhost", stem=None):
        """TLS server certificate for `hostname` (and 127.0.0.1)."""
        return self._issue(stem or ("server-" + hostname), "/CN=" + hostname, [
            "subjectAltName=DNS:%s,IP:127.0.0.1" % hostname,
            "extendedKeyUsage=serverAuth",
            "keyUsage=critical,digitalSignature,keyEncipherment"])

    def smime_cert(self, address, stem=None, days=30, key_usage="digitalSignature,keyEncipherment",
                   eku="emailProtection", key_type="rsa:2048"):
        """S/MIME certificate (PEM) + key for `address`; returns (cert, key, p12)."""
        stem = stem or ("smime-" + address.replace("@", "_at_"))
        exts = ["subjectAltName=email:" + address, "keyUsage=critical," + key_usage]
        if eku:
            exts.append("extendedKeyUsage=" + eku)
        crt, key = self._issue(stem, "/CN=" + address, exts, days=days, key_type=key_type)
        p12 = self.dir / (stem + ".p12")
        run(["openssl", "pkcs12", "-export", "-in", crt, "-inkey", key, "-certfile", self.cert,
             "-passout", "pass:", "-out", p12])
        return crt, key, p12


class GpgHome:
    """A separate GNUPGHOME (never the user's) with helpers to make keys and decrypt."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        (self.dir / "gpg.conf").write_text("no-random-seed-file\n")

    def gpg(self, *args, input=None, check=True):
        return run(["gpg", "--homedir", self.dir, "--batch", "--yes", "--pinentry-mode", "loopback",
                    "--passphrase", "", *args], input=input, check=check)

    def gen_key(self, address, name="Test", expire="never", extra=()):
        self.gpg(*extra, "--quick-gen-key", "%s <%s>" % (name, address), "default", "default", expire)
        out = self.gpg("--with-colons", "--list-keys", address).stdout.decode()
        return [l.split(":")[9] for l in out.splitlines() if l.startswith("fpr:")][0]

    def export(self, address, path):
        Path(path).write_bytes(self.gpg("--armor", "--export", address).stdout)
        return path

    def export_secret(self, fpr, path):
        Path(path).write_bytes(self.gpg("--export-secret-keys", fpr).stdout)
        return path


def submit(port, mail_from, rcpts, message, auth=None, starttls=True, implicit=False,
           cafile=None, timeout=30):
    """Submit one message; returns the final reply (code, text). Raises on refusal."""
    ctx = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    if implicit:
        s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=timeout)
    else:
        s = smtplib.SMTP("127.0.0.1", port, timeout=timeout)
    try:
        s.ehlo("client.test")
        if starttls and not implicit:
            s.starttls(context=ctx)
            s.ehlo("client.test")
        if auth:
            s.login(*auth)
        if isinstance(message, str):
            message = message.encode()
        s.mail(mail_from)
        for r in rcpts:
            code, text = s.rcpt(r)
            if code >= 400:
                raise smtplib.SMTPRecipientsRefused({r: (code, text)})
        code, text = s.data(message)
        if code >= 400:
            raise smtplib.SMTPDataError(code, text)
        return code, text.decode(errors="replace")
    finally:
        try:
            s.quit()
        except Exception:
            pass


def simple_message(frm, to, subject="Test", body="Hello\r\n", extra_headers=()):
    hdrs = ["From: " + frm, "To: " + ", ".join(to if isinstance(to, (list, tuple)) else [to]),
            "Subject: " + subject, "Date: Sat, 28 Nov 2026 10:00:00 +0100",
            # An opaque token on the sender's domain, which the scrub keeps (a dotted
            # left part or a host name would be rewritten; test_scrub.py covers that).
            "Message-ID: <%dx%d@%s>" % (os.getpid(), time.monotonic_ns(), frm.rsplit("@", 1)[-1]),
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit", *extra_headers]
    return ("\r\n".join(hdrs) + "\r\n\r\n" + body).encode()


DEFAULT_POLICY = {
    "defaults": {"methods": ["pgp", "smime", "pickup"], "sign": False},
    "rules": [
        {"name": "test-plain", "match": {"recipient_domain": "sink.example"}, "methods": ["plain"]},
        {"name": "internal", "match": {"recipient_domain": "praxis.example"}, "methods": ["plain"]},
    ],
}


class Relay:
    """sealpostd on a temp state dir with a submission (STARTTLS), an implicit-TLS
    and a filter listener on free loopback ports; the smarthost is `smarthost_port`."""

    def __init__(self, workdir, smarthost_port, smarthost_tls="none", smarthost_ca=None,
                 policy=None, config_overrides=None, ca=None, env=None):
        self.dir = Path(workdir) / "relay"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = ca or TestCA(Path(workdir) / "relay-ca")
        cert, key = self.ca.server_cert("localhost", stem="relay-localhost")
        self.ports = {"submission": free_port(), "smtps": free_port(), "filter": free_port()}
        self.state_dir = self.dir / "state"
        self.config_path = self.dir / "sealpost.yaml"
        self.users_path = self.dir / "users.yaml"
        self.policy_path = self.dir / "policy.yaml"
        if not self.users_path.exists():
            self.users_path.write_text("users: []\n")
            self.users_path.chmod(0o640)  # password hashes: check-config refuses o+r
        self.write_policy(policy or DEFAULT_POLICY)
        tls = {"cert": str(cert), "key": str(key)}
        self.config = {
            "state_dir": str(self.state_dir),
            "hostname": "relay.praxis.example",
            "listen": [
                {"address": "127.0.0.1:%d" % self.ports["submission"], "mode": "submission", "tls": tls},
                {"address": "127.0.0.1:%d" % self.ports["smtps"], "mode": "submission",
                 "implicit_tls": True, "tls": tls},
                {"address": "127.0.0.1:%d" % self.ports["filter"], "mode": "filter",
                 "trusted_networks": ["127.0.0.0/8", "::1/128"]},
            ],
            "users": str(self.users_path),
            "smarthost": {"host": "127.0.0.1" if smarthost_tls == "none" else "localhost",
                          "port": smarthost_port, "tls": smarthost_tls},
            "policy": str(self.policy_path),
            "queue": {"retry_schedule": ["1s", "2s"], "max_age": "5d", "workers": 2},
        }
        if smarthost_tls == "none":
            self.config["smarthost"]["insecure"] = True
        if smarthost_ca:
            self.config["smarthost"]["ca_file"] = str(smarthost_ca)
        if config_overrides:
            _deep_update(self.config, config_overrides)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.stderr_path = self.dir / "sealpostd.log"
        self.write_config()

    def write_config(self):
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))

    def write_policy(self, policy):
        self.policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))

    def port(self, name):
        return self.ports[name]

    def cli(self, *args, input=None, check=True):
        """Runs `sealpost -c CONFIG args...`; returns CompletedProcess (text)."""
        return subprocess.run([str(SEALPOST), "-c", str(self.config_path), *map(str, args)],
                              input=input, capture_output=True, text=True, check=check, env=self.env)

    def add_user(self, name, password, addresses):
        args = ["user", "add", name]
        for a in addresses:
            args += ["--address", a]
        self.cli(*args, input=password + "\n")

    def start(self, wait=True, args=()):
        for attempt in range(3):
            log_offset = self.stderr_path.stat().st_size if self.stderr_path.exists() else 0
            self.stderr_file = open(self.stderr_path, "ab")
            self.proc = subprocess.Popen([str(SEALPOSTD), "-c", str(self.config_path), *args],
                                         stdout=self.stderr_file, stderr=self.stderr_file, env=self.env)
            if not wait:
                return self
            try:
                # The kernel accepts connections as soon as a socket listens, which is
                # before sealpostd has dropped privileges, started its workers and said
                # "daemon.ready": wait for that line, the daemon's own readiness.
                self.wait_ready(log_offset)
            except RuntimeError:
                # Another test may still have taken one of our probed ports between
                # the probe and this bind; pick new SMTP ports and start again. Any
                # other early exit is the test's business.
                if attempt == 2 or not self._lost_port_race(log_offset):
                    raise
                self.stderr_file.close()
                self._repick_listener_ports()
                continue
            for p in self.ports.values():
                wait_port(p, proc=self.proc)
            return self
        return self

    def _lost_port_race(self, log_offset):
        with open(self.stderr_path, "rb") as f:
            f.seek(log_offset)
            text = f.read()
        mine = [("127.0.0.1:%d" % p).encode() for p in self.ports.values()]
        return b"Address already in use" in text and any(m in text for m in mine)

    def _repick_listener_ports(self):
        for name, old in list(self.ports.items()):
            self.ports[name] = free_port()
            for entry in self.config["listen"]:
                if entry["address"] == "127.0.0.1:%d" % old:
                    entry["address"] = "127.0.0.1:%d" % self.ports[name]
        self.write_config()

    def wait_ready(self, log_offset, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.stderr_path, "rb") as f:
                f.seek(log_offset)
                if b"daemon.ready" in f.read():
                    return
            if self.proc.poll() is not None:
                raise RuntimeError("sealpostd exited with %s before it was ready:\n%s"
                                   % (self.proc.returncode, self.log()[-3000:]))
            time.sleep(0.05)
        raise TimeoutError("sealpostd did not log daemon.ready within %ss" % timeout)

    def log(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.stderr_file.close()
        # In the ASan+UBSan build a report goes to the daemon's stderr; make it
        # fail the test that caused it instead of hiding in a log file.
        log = self.log()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in log, log[log.index(marker) - 200:][:4000]
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.stderr_file.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _deep_update(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_update(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
