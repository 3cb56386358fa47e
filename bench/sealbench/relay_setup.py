"""A sealpostd for one benchmark method: temp state dir, filter listener, test keys.

Each method gets a fresh relay so that its spool, keyring and pickup store start
empty and its memory figures are its own. Recipient keys are made here with the
real tools (gpg, openssl) and imported with `sealpost keys import`, the same path
an admin takes.
"""
import json
import os
import subprocess
from pathlib import Path

from . import procs

SENDER_DOMAIN = "praxis.example"
RCPT_DOMAINS = {"plain": "sink.example", "pgp": "pgp.example", "smime": "smime.example",
                "pickup": "pickup.example"}
KEYED = ("pgp", "smime")
MAX_RCPTS = 5


def keyed_recipients(method, count=MAX_RCPTS):
    return ["r%d@%s" % (i + 1, RCPT_DOMAINS[method]) for i in range(count)]


def _run(args, **kw):
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    return subprocess.run([str(a) for a in args], **kw)


# Recipient key types: gpg 2.2's `default` (Debian 12's gpg: RSA-3072, the key most
# patients who made theirs with it have) and `future-default` (ed25519/cv25519, the
# default of gpg 2.3+ and Sequoia). librnp encrypts to either in process.
PGP_KEY_TYPES = {"rsa3072": "default", "cv25519": "future-default"}


def make_pgp_keys(directory, addresses, key_type="rsa3072"):
    """One key of `key_type` (PGP_KEY_TYPES) per address in a throw-away GNUPGHOME;
    returns the armored public key files."""
    home = Path(directory) / "gnupg"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(home, 0o700)
    (home / "gpg.conf").write_text("no-random-seed-file\n")
    gpg = ["gpg", "--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback",
           "--passphrase", ""]
    files = []
    for address in addresses:
        algo = PGP_KEY_TYPES[key_type]
        _run(gpg + ["--quick-gen-key", "Bench <%s>" % address, algo, "default", "never"])
        path = Path(directory) / (address + ".asc")
        path.write_bytes(_run(gpg + ["--armor", "--export", address]).stdout)
        files.append(path)
    # The agent started for key generation is not needed any more.
    _run(["gpgconf", "--homedir", home, "--kill", "all"], check=False)
    return files


def make_smime_certs(directory, addresses):
    """A throw-away CA and one RSA-2048 S/MIME certificate per address; returns
    (ca.pem, [cert files])."""
    d = Path(directory) / "smime-ca"
    d.mkdir(parents=True, exist_ok=True)
    ca, ca_key = d / "ca.pem", d / "ca.key"
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
          "-subj", "/CN=Sealpost Bench CA", "-keyout", ca_key, "-out", ca,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    certs = []
    for address in addresses:
        stem = d / address.replace("@", "_at_")
        key, csr, crt, ext = (Path(str(stem) + s) for s in (".key", ".csr", ".pem", ".ext"))
        _run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj",
              "/CN=" + address, "-keyout", key, "-out", csr])
        ext.write_text("subjectAltName=email:%s\nkeyUsage=critical,digitalSignature,"
                       "keyEncipherment\nextendedKeyUsage=emailProtection\n" % address)
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
              "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", crt])
        certs.append(crt)
    return ca, certs


def policy_for_benchmark():
    """One rule per method, each on its own recipient domain (plain needs a
    concrete domain: a wildcard plain rule is refused by the policy loader)."""
    rule = lambda method, extra=None: dict(
        {"name": "bench-" + method, "match": {"recipient_domain": RCPT_DOMAINS[method]},
         "methods": [method]}, **(extra or {}))
    return {
        "defaults": {"methods": ["pgp", "smime", "pickup"], "sign": False},
        "rules": [rule("plain"), rule("pgp"), rule("smime"),
                  rule("pickup", {"pickup": {"auth": "code-to-sender", "expires": "30d"}})],
    }


def _dump(data):
    try:
        import yaml  # Debian python3-yaml: friendlier files for a human reading the run
        return yaml.safe_dump(data, sort_keys=False)
    except ImportError:
        return json.dumps(data, indent=2) + "\n"  # JSON is YAML too


class BenchRelay:
    """Config, keys and process of one sealpostd under `workdir`."""

    def __init__(self, build_dir, workdir, smarthost_port, workers, trust_anchor=None,
                 max_message_size="200MiB"):
        self.build_dir = Path(build_dir)
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = procs.free_port()
        self.state_dir = self.dir / "state"
        self.config_path = self.dir / "sealpost.yaml"
        (self.dir / "users.yaml").write_text("users: []\n")
        (self.dir / "policy.yaml").write_text(_dump(policy_for_benchmark()))
        portal_port = procs.free_port()  # the portal process itself is not started
        config = {
            "state_dir": str(self.state_dir),
            "hostname": "relay.praxis.example",
            "listen": [{"address": "127.0.0.1:%d" % self.port, "mode": "filter",
                        "trusted_networks": ["127.0.0.0/8"]}],
            "users": str(self.dir / "users.yaml"),
            "smarthost": {"host": "127.0.0.1", "port": smarthost_port, "tls": "none",
                          "insecure": True},
            "policy": str(self.dir / "policy.yaml"),
            "portal": {"public_url": "http://127.0.0.1:%d" % portal_port,
                       "listen": "127.0.0.1:%d" % portal_port},
            "queue": {"workers": workers, "retry_schedule": ["1s", "2s", "5s"]},
            "limits": {"max_message_size": max_message_size, "max_recipients": 100,
                       "max_connections": 500, "max_connections_per_client": 500},
        }
        if trust_anchor:
            config["keystore"] = {"trust_anchors": [str(trust_anchor)]}
        self.config_path.write_text(_dump(config))
        self.daemon = None

    def cli(self, *args):
        done = _run([self.build_dir / "cli" / "sealpost", "-c", self.config_path, *args],
                    check=False)
        if done.returncode != 0:
            raise RuntimeError("sealpost %s failed (%d): %s" % (
                " ".join(map(str, args)), done.returncode, done.stderr.decode()[-400:]))
        return done.stdout.decode()

    def import_keys(self, files):
        if files:
            self.cli("keys", "import", *files)

    def start(self, wrapper=(), start_timeout=20.0):
        """`wrapper` prefixes the command (e.g. valgrind for bench/profile)."""
        self.daemon = procs.Managed([*wrapper, self.build_dir / "relay" / "sealpostd", "-c",
                                     self.config_path], log_path=self.dir / "sealpostd.log",
                                    grace=120.0)
        self.daemon.start()
        procs.wait_port(self.port, self.daemon.proc, timeout=start_timeout)
        return self

    @property
    def pid(self):
        return self.daemon.pid

    def stop(self):
        return self.daemon.stop() if self.daemon else None


def prepare_keys(workdir, methods, count=MAX_RCPTS, pgp_key="rsa3072"):
    """Makes `count` recipients' keys once per run: {method: (trust_anchor, files)}."""
    out = {}
    if "pgp" in methods:
        out["pgp"] = (None, make_pgp_keys(Path(workdir) / "pgp", keyed_recipients("pgp", count),
                                          pgp_key))
    if "smime" in methods:
        ca, certs = make_smime_certs(Path(workdir) / "smime", keyed_recipients("smime", count))
        out["smime"] = (ca, certs)
    return out
