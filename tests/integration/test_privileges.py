"""Privileges (issue 8), with files laid out the way the package and the admin
guide lay them out -- nothing opened up for the test:

- sealpostd started as root with --user runs as that user, with no capability
  left once its listeners are bound, and still relays mail;
- `sealpost` run as root keeps users.yaml readable for the daemon and leaves
  every file it makes in the state dir to the daemon's user, which then uses
  them (signs with the imported key, honours the recorded consent);
- the portal's user, in the package's user and directory layout, can reach the
  pickup store and nothing else of the relay's;
- started the way the systemd unit starts it (its own user, CAP_NET_BIND_SERVICE
  as an ambient capability), sealpostd drops that capability too once bound.
"""
import email
import email.policy
import grp
import os
import pwd
import random
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from recording_sink import Sink
from sealpost_harness import (SEALPOST, SEALPOSTD, SOURCE_DIR, GpgHome, Relay, TestCA, free_port,
                              run, simple_message, submit, wait_port)

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")

NOBODY = pwd.getpwnam("nobody")


def proc_status(pid):
    fields = {}
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def no_leak_check_env():
    # A process that changed its uid is not dumpable, so LeakSanitizer (ASan
    # builds) cannot attach to it at exit; everything else stays checked.
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (asan + ":" if asan else "") + "detect_leaks=0"}


@pytest.fixture
def workdir():
    # pytest's tmp_path lives below a 0700 directory "nobody" cannot enter.
    d = Path(tempfile.mkdtemp(prefix="sealpost-priv-"))
    yield d
    for home in d.rglob("gnupg"):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


def admin_layout(workdir, relay, daemon_user=NOBODY):
    """What the admin guide prescribes, with `daemon_user`'s group in the role
    of group "sealpost": the config directory and the TLS key 0750/0640
    root:GROUP, the state dir owned by the daemon's user (tmpfiles.d does
    that), users.yaml left for `sealpost user add` to create."""
    gid = daemon_user.pw_gid
    os.chmod(workdir, 0o711)  # like / and /etc: others may pass through
    for d in (relay.dir, relay.ca.dir):
        os.chown(d, 0, gid)
        os.chmod(d, 0o750)
    key = relay.ca.dir / "relay-localhost.key"
    os.chown(key, 0, gid)
    os.chmod(key, 0o640)
    relay.users_path.unlink()
    relay.state_dir.mkdir(mode=0o750)
    os.chown(relay.state_dir, daemon_user.pw_uid, gid)


def owner_mode(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_runs_as_the_given_user_without_capabilities(workdir):
    with Sink(workdir / "sink") as sink:
        relay = Relay(workdir, smarthost_port=sink.port, env=no_leak_check_env())
        admin_layout(workdir, relay)
        # users.yaml made by root: 0640 with the directory's group, so the
        # daemon's user can read it; later changes keep that.
        relay.add_user(USER, "first password", [ADDR])
        assert owner_mode(relay.users_path) == (0, NOBODY.pw_gid, 0o640)
        relay.add_user("bob", "bobs password", ["bob@praxis.example"])
        relay.cli("user", "passwd", USER, input=PASSWORD + "\n")
        assert owner_mode(relay.users_path) == (0, NOBODY.pw_gid, 0o640)
        # check-config, run as root, checks what the daemon's user can read.
        assert relay.cli("check-config").stdout == "config OK\n"
        key = relay.ca.dir / "relay-localhost.key"
        os.chmod(key, 0o600)
        bad = relay.cli("check-config", check=False)
        assert bad.returncode == 1
        assert "sealpostd runs as nobody" in bad.stderr and str(key) in bad.stderr, bad.stderr
        os.chmod(key, 0o640)
        relay.start(args=["--user", "nobody"])
        try:
            status = proc_status(relay.proc.pid)
            assert [int(u) for u in status["Uid"]] == [NOBODY.pw_uid] * 4
            assert int(status["CapEff"][0], 16) == 0 and int(status["CapPrm"][0], 16) == 0
            msg = simple_message(ADDR, ["x@sink.example"], "as nobody")
            code, _ = submit(relay.port("submission"), ADDR, ["x@sink.example"], msg,
                             auth=(USER, PASSWORD), cafile=relay.ca.cert)
            assert code == 250
            sink.wait_for(1, timeout=30)
            # Everything in the state dir belongs to the daemon's user, also the
            # admin trail written by the root-run `sealpost user add|passwd`.
            owners = {p.stat().st_uid for p in relay.state_dir.rglob("*")}
            assert owners == {NOBODY.pw_uid}, owners
        finally:
            rc = relay.stop()
            assert rc == 0, relay.log()[-3000:]
    trail = relay.cli("--json", "audit", "report").stdout
    assert relay.cli("audit", "verify").returncode == 0
    assert '"events":' in trail


def test_root_cli_leaves_state_to_the_daemon_user_which_uses_it(workdir):
    patient = GpgHome(workdir / "patient")
    patient.gen_key("pat@example.org", "Paula Patient")
    ca = TestCA(workdir / "smime-ca", "Test SMIME CA")
    lab_cert, lab_key, _ = ca.smime_cert("labor@lab.example")
    _, _, signer_p12 = ca.smime_cert("praxis@praxis.example", stem="signer")
    policy = {
        "defaults": {"methods": ["smime"], "sign": True},
        "rules": [
            {"name": "patients", "match": {"recipient_domain": "example.org"},
             "methods": ["pgp"], "sign": False},
            {"name": "labs", "match": {"recipient_domain": "lab.example"},
             "require_consent": True, "methods": ["smime"]},
        ],
    }
    with Sink(workdir / "sink") as sink:
        relay = Relay(workdir, smarthost_port=sink.port, policy=policy, env=no_leak_check_env(),
                      config_overrides={"keystore": {"trust_anchors": [str(ca.cert)],
                                                     # the practice identity signs for staff
                                                     "domain_signers": ["praxis@praxis.example"]}})
        admin_layout(workdir, relay)
        os.chmod(ca.dir, 0o755)
        relay.add_user(USER, PASSWORD, [ADDR])
        # What the admin imports: public material world-readable, the practice's
        # signing identity readable by the daemon's user only.
        imports = workdir / "import"
        imports.mkdir(mode=0o755)
        pat_asc = patient.export("pat@example.org", imports / "pat.asc")
        shutil.copy(lab_cert, imports / "lab.pem")
        p12 = imports / "signer.p12"
        shutil.copy(signer_p12, p12)
        os.chmod(pat_asc, 0o644)
        os.chmod(imports / "lab.pem", 0o644)

        # A file only root can read gets a clear refusal, not a root-owned keystore.
        os.chmod(p12, 0o600)
        refused = relay.cli("keys", "import", p12, check=False)
        assert refused.returncode == 1
        assert "not readable by nobody" in refused.stderr, refused.stderr
        os.chown(p12, NOBODY.pw_uid, NOBODY.pw_gid)

        out = relay.cli("--json", "keys", "import", pat_asc, imports / "lab.pem", p12).stdout
        assert '"smime-signer"' in out and '"pgp"' in out
        relay.cli("consent", "add", "labor@lab.example", "--date", "2026-01-05")
        for name in ("gnupg", "private", "keystore.db", "sealpost.db", "admin-audit"):
            assert (relay.state_dir / name).exists(), name
        wrong = [(str(p), p.stat().st_uid) for p in relay.state_dir.rglob("*")
                 if p.stat().st_uid != NOBODY.pw_uid]
        assert not wrong, wrong
        # Private material stays private to that user.
        signer = relay.state_dir / "private"
        assert stat.S_IMODE(signer.stat().st_mode) & 0o077 == 0
        for db in ("keystore.db", "sealpost.db"):
            assert stat.S_IMODE((relay.state_dir / db).stat().st_mode) & 0o077 == 0, db

        relay.start(args=["--user", "nobody"])
        try:
            rcpts = ["pat@example.org", "labor@lab.example"]
            msg = simple_message(ADDR, rcpts, "Befund", "Werte unauffaellig\r\n")
            code, _ = submit(relay.port("submission"), ADDR, rcpts, msg, auth=(USER, PASSWORD),
                             cafile=relay.ca.cert)
            assert code == 250
            by_rcpt = {tuple(m["rcpt_tos"]): raw for m, raw in sink.wait_for(2, timeout=30)}
        finally:
            rc = relay.stop()
            assert rc == 0, relay.log()[-3000:]
    # The PGP copy opens with the patient's key (the daemon read gnupg/).
    pgp = email.message_from_bytes(by_rcpt[("pat@example.org",)], policy=email.policy.default)
    armored = pgp.get_payload()[1].get_payload(decode=True)
    assert b"Werte unauffaellig" in patient.gpg("--decrypt", input=armored).stdout
    # The S/MIME copy went out because the consent was readable, and it is
    # signed with the imported identity (the daemon read private/).
    (workdir / "lab.eml").write_bytes(by_rcpt[("labor@lab.example",)])
    inner = run(["openssl", "cms", "-decrypt", "-in", workdir / "lab.eml", "-recip", lab_cert,
                 "-inkey", lab_key]).stdout
    (workdir / "signed.eml").write_bytes(inner)
    verified = run(["openssl", "cms", "-verify", "-CAfile", ca.cert, "-in", workdir / "signed.eml",
                    "-inform", "SMIME", "-signer", workdir / "used-signer.pem"])
    assert b"Verification successful" in verified.stderr
    assert b"Werte unauffaellig" in verified.stdout
    subject = run(["openssl", "x509", "-noout", "-subject", "-in", workdir / "used-signer.pem"])
    assert b"praxis@praxis.example" in subject.stdout


def test_refuses_an_unknown_user(workdir):
    with Sink(workdir / "sink") as sink:
        relay = Relay(workdir, smarthost_port=sink.port)
        relay.start(wait=False, args=["--user", "no-such-user-here"])
        assert relay.proc.wait(timeout=20) == 1
        relay.proc = None
        relay.stderr_file.close()
        assert "no such user" in relay.log()


# --- the portal's user in the package's layout ----------------------------------

def read_ids(root, name):
    """uid, primary gid and supplementary gids of `name` in root/etc/{passwd,group}."""
    uid = gid = None
    for line in (root / "etc/passwd").read_text().splitlines():
        f = line.split(":")
        if f[0] == name:
            uid, gid = int(f[2]), int(f[3])
    groups = [int(f[2]) for f in (l.split(":") for l in (root / "etc/group").read_text().splitlines())
              if name in f[3].split(",")]
    return uid, gid, groups


def as_user(ids, umask=None):
    uid, gid, groups = ids

    def become():
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
        if umask is not None:
            os.umask(umask)
    return become


PROBE = r"""
import os, sys
opened = []
for p in sys.argv[1:]:
    try:
        if os.path.isdir(p):
            os.listdir(p)
        else:
            open(p, "rb").close()
        opened.append(p)
    except OSError:
        pass
print("\n".join(opened))
"""


def probe(ids, paths):
    r = subprocess.run(["/usr/bin/python3", "-c", PROBE, *map(str, paths)], capture_output=True,
                       text=True, preexec_fn=as_user(ids), check=True)
    return set(r.stdout.split())


@pytest.fixture
def package_root(workdir):
    """A throw-away root with the package's users (sysusers.d) and directories
    (tmpfiles.d), and /etc/sealpost filled in as the admin guide says."""
    if not shutil.which("systemd-sysusers") or not shutil.which("systemd-tmpfiles"):
        pytest.skip("systemd-sysusers / systemd-tmpfiles are not installed")
    root = workdir / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    run(["systemd-sysusers", "--root", root, SOURCE_DIR / "systemd/sysusers.d/sealpost.conf"])
    run(["systemd-tmpfiles", "--root", root, "--create",
         SOURCE_DIR / "systemd/tmpfiles.d/sealpost.conf"])
    os.chmod(workdir, 0o711)
    return root


def test_portal_user_reaches_the_pickup_store_and_nothing_else(workdir, package_root):
    root = package_root
    relay_ids = read_ids(root, "sealpost")
    portal_ids = read_ids(root, "sealpost-portal")
    pickup_gid = next(int(l.split(":")[2]) for l in (root / "etc/group").read_text().splitlines()
                      if l.startswith("sealpost-pickup:"))
    relay_gid = relay_ids[1]
    assert pickup_gid in relay_ids[2] and pickup_gid in portal_ids[2]
    assert relay_gid not in portal_ids[2] and portal_ids[1] != relay_gid
    etc, state = root / "etc/sealpost", root / "var/lib/sealpost"

    # /etc/sealpost as the admin guide fills it.
    ca = TestCA(workdir / "ca")
    cert, key = ca.server_cert("localhost")
    tls = etc / "tls"
    tls.mkdir(mode=0o750)
    os.chown(tls, 0, relay_gid)
    for src, name in ((cert, "fullchain.pem"), (key, "key.pem")):
        shutil.copy(src, tls / name)
        os.chown(tls / name, 0, relay_gid)
        os.chmod(tls / name, 0o640)
    (etc / "smarthost.pass").write_text("provider password\n")
    os.chown(etc / "smarthost.pass", 0, relay_gid)
    os.chmod(etc / "smarthost.pass", 0o640)
    (etc / "spool.key").write_text(os.urandom(32).hex() + "\n")
    os.chmod(etc / "spool.key", 0o600)
    # What systemd's LoadCredential= hands the daemon: a copy only it can read.
    creds = root / "run/credentials/sealpostd.service"
    creds.mkdir(parents=True)
    shutil.copy(etc / "spool.key", creds / "spool-key")
    os.chown(creds / "spool-key", relay_ids[0], relay_gid)
    os.chmod(creds / "spool-key", 0o400)
    (etc / "policy.yaml").write_text(yaml.safe_dump({
        "defaults": {"methods": ["pgp", "smime", "pickup"], "sign": True,
                     "pickup": {"auth": "code-to-sender", "expires": "7d"}},
        "rules": [{"name": "internal", "match": {"recipient_domain": "praxis.example"},
                   "methods": ["plain"]}]}))
    os.chmod(etc / "policy.yaml", 0o644)
    submission, filter_port, portal_port = free_port(), free_port(), free_port()
    config = {
        "state_dir": str(state),
        "hostname": "relay.praxis.example",
        "listen": [
            {"address": "127.0.0.1:%d" % submission, "mode": "submission",
             "tls": {"cert": str(tls / "fullchain.pem"), "key": str(tls / "key.pem")}},
            {"address": "127.0.0.1:%d" % filter_port, "mode": "filter",
             "trusted_networks": ["127.0.0.0/8"]},
        ],
        "users": str(etc / "users.yaml"),
        "smarthost": {"host": "127.0.0.1", "port": free_port(), "tls": "none", "insecure": True},
        "policy": str(etc / "policy.yaml"),
        "portal": {"public_url": "http://127.0.0.1:%d" % portal_port},
        "queue": {"retry_schedule": ["1h"]},
    }
    cfg = etc / "sealpost.yaml"
    cfg.write_text(yaml.safe_dump(config))
    os.chmod(cfg, 0o644)
    sealpost_env = dict(os.environ, **no_leak_check_env())

    def cli(*args, **kw):
        return run([SEALPOST, "-c", cfg, *args], env=sealpost_env, **kw)

    cli("user", "add", USER, "--address", ADDR, input=PASSWORD.encode() + b"\n")
    assert owner_mode(etc / "users.yaml") == (0, relay_gid, 0o640)
    # Keys as root: gnupg/ with a secret key, private/ with the signer.
    practice = GpgHome(workdir / "practice")
    fpr = practice.gen_key("praxis@praxis.example")
    secret = workdir / "import" / "practice-secret.pgp"
    secret.parent.mkdir(mode=0o755)
    practice.export_secret(fpr, secret)
    os.chown(secret, relay_ids[0], relay_gid)
    _, _, p12 = ca.smime_cert("praxis@praxis.example", stem="signer")
    shutil.copy(p12, secret.parent / "signer.p12")
    os.chown(secret.parent / "signer.p12", relay_ids[0], relay_gid)
    cli("keys", "import", secret, secret.parent / "signer.p12")
    cli("consent", "add", "p@patient.example", "--sms", "+4915112345678", "--date", "2026-01-05")

    # sealpostd as the unit starts it: user sealpost, its groups, UMask=0077.
    log = workdir / "sealpostd.log"
    env = dict(os.environ, CREDENTIALS_DIRECTORY=str(creds))
    with open(log, "wb") as logf:
        proc = subprocess.Popen([str(SEALPOSTD), "-c", str(cfg)], stdout=logf, stderr=logf, env=env,
                                preexec_fn=as_user(relay_ids, umask=0o077))
    try:
        deadline = time.time() + 30
        while b"daemon.ready" not in log.read_bytes():
            assert proc.poll() is None and time.time() < deadline, log.read_text()
            time.sleep(0.05)
        wait_port(filter_port, proc=proc)
        # Queued (the smarthost is down) and a pickup deposited for a keyless patient.
        rcpts = ["kollege@praxis.example", "p@patient.example"]
        code, _ = submit(filter_port, ADDR, rcpts, simple_message(ADDR, rcpts, "Befund"),
                         starttls=False)
        assert code == 250
        deadline = time.time() + 20
        while not list((state / "pickup").rglob("*.sealed")):
            assert time.time() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        subprocess.run(["gpgconf", "--homedir", str(state / "gnupg"), "--kill", "all"],
                       capture_output=True)
    assert "spool.key_in_state_dir" not in log.read_text()  # the credential was used

    relay_only = [p for p in state.rglob("*")
                  if not {"pickup", "portal-audit"} & set(p.relative_to(state).parts)]
    names = {p.relative_to(state).parts[0] for p in relay_only}
    for expected in ("spool", "gnupg", "private", "keystore.db", "sealpost.db", "audit",
                     "admin-audit"):
        assert expected in names, (expected, names)
    assert list((state / "gnupg").rglob("*.key")), "no secret key in gnupg/"
    assert list((state / "spool").rglob("*.msg")), "nothing queued"
    secrets = [tls, tls / "key.pem", etc / "smarthost.pass", etc / "spool.key", etc / "users.yaml",
               creds / "spool-key"]
    opened = probe(portal_ids, relay_only + secrets)
    assert not opened, "the portal's user can read: " + ", ".join(sorted(opened))

    # It does reach what it needs (so the probe above can tell the difference).
    shared = [state / "pickup", state / "pickup" / "index.db", cfg, etc / "policy.yaml",
              *(state / "pickup").rglob("*.sealed")]
    assert probe(portal_ids, shared) == {str(p) for p in shared}
    # And the relay's user reads its own secrets.
    assert probe(relay_ids, [tls / "key.pem", etc / "smarthost.pass", etc / "users.yaml"]) == {
        str(tls / "key.pem"), str(etc / "smarthost.pass"), str(etc / "users.yaml")}


def free_privileged_port():
    """A loopback port below 1024 that nothing listens on."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(600, 1024)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port below 1024")


def test_unit_style_start_drops_net_bind_service_once_bound(workdir):
    """Like sealpostd.service: started as an unprivileged user whose only
    capability is an ambient CAP_NET_BIND_SERVICE (no --user). The capability
    is needed for a listener below 1024 and must be gone once it is bound."""
    if Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text().strip() != "1024":
        pytest.skip("ports below 1024 need no capability on this host")
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) missing")
    nobody = NOBODY.pw_uid
    with Sink(workdir / "sink") as sink:
        relay = Relay(workdir, smarthost_port=sink.port, env=no_leak_check_env())
        low = free_privileged_port()
        relay.config["listen"][0]["address"] = "127.0.0.1:%d" % low
        relay.ports["submission"] = low
        relay.write_config()
        admin_layout(workdir, relay)
        relay.add_user(USER, PASSWORD, [ADDR])
        relay.stderr_file = open(relay.stderr_path, "ab")
        relay.proc = subprocess.Popen(
            ["setpriv", "--reuid=%d" % nobody, "--regid=%d" % NOBODY.pw_gid, "--clear-groups",
             "--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service",
             str(SEALPOSTD), "-c", str(relay.config_path)],
            stdout=relay.stderr_file, stderr=relay.stderr_file, env=relay.env)
        try:
            relay.wait_ready(0)
            status = proc_status(relay.proc.pid)
            assert [int(u) for u in status["Uid"]] == [nobody] * 4
            for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
                assert int(status[cap][0], 16) == 0, (cap, status[cap])
            assert "daemon.root" not in relay.log()
            msg = simple_message(ADDR, ["low@sink.example"], "via a low port")
            code, _ = submit(low, ADDR, ["low@sink.example"], msg, auth=(USER, PASSWORD),
                             cafile=relay.ca.cert)
            assert code == 250
            sink.wait_for(1, timeout=30)
        finally:
            rc = relay.stop()
            assert rc == 0, relay.log()[-3000:]
