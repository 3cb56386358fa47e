"""Operations: the audit CLI against a log written from its documented format
(docs/audit.md), and the Debian package built from this tree."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

BUILD_DIR = Path(os.environ.get("SEALPOST_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))
SOURCE_DIR = Path(os.environ.get("SEALPOST_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SEALPOST = BUILD_DIR / "cli" / "sealpost"
GENESIS = "0" * 64


def json_str(s):
    return json.dumps(s, ensure_ascii=False)


def audit_line(seq, time_, type_, fields, prev):
    """A record exactly as docs/audit.md describes it (written independently of
    the C++ writer, so the documentation is what is tested)."""
    body = ('{"seq":%d,"time":%s,"type":%s,"fields":{%s},"prev":%s'
            % (seq, json_str(time_), json_str(type_),
               ",".join("%s:%s" % (json_str(k), json_str(v)) for k, v in fields), json_str(prev)))
    digest = hashlib.sha256(body.encode()).hexdigest()
    return body + ',"hash":"%s"}' % digest, digest


class Chain:
    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.seq = 0
        self.prev = GENESIS

    def add(self, day, type_, **fields):
        self.seq += 1
        line, self.prev = audit_line(self.seq, day + "T10:00:%02d.000Z" % (self.seq % 60), type_,
                                     list(fields.items()), self.prev)
        with open(self.dir / ("audit-%s.jsonl" % day), "a") as f:
            f.write(line + "\n")


@pytest.fixture
def relay_config(tmp_path):
    state = tmp_path / "state"
    (state / "audit").mkdir(parents=True)
    policy = tmp_path / "policy.yaml"
    shutil.copy(SOURCE_DIR / "conf" / "policy.yaml", policy)
    cfg = {
        "state_dir": str(state),
        "hostname": "relay.praxis.example",
        "listen": [{"address": "127.0.0.1:10025", "mode": "filter", "trusted_networks": ["127.0.0.0/8"]}],
        "smarthost": {"host": "127.0.0.1", "port": 2525, "tls": "none", "insecure": True},
        "policy": str(policy),
    }
    path = tmp_path / "sealpost.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, state


def cli(config, *args):
    return subprocess.run([str(SEALPOST), "-c", str(config), *args], capture_output=True, text=True)


def write_sample(state):
    c = Chain(state / "audit")
    c.add("2026-01-05", "decision", queue_id="q1", recipient="dr@praxis.example", method="plain", rule="internal")
    c.add("2026-01-05", "decision", queue_id="q1", recipient="p@patient.example", method="pgp", rule="patients")
    c.add("2026-01-05", "delivery", queue_id="q1", recipient="dr@praxis.example", method="plain",
          result="delivered", reply="250 2.0.0 ok")
    c.add("2026-01-05", "delivery", queue_id="q1", recipient="p@patient.example", method="pgp",
          result="failed", reply="550 5.1.1 no such user")
    c.add("2026-01-06", "decision", queue_id="q2", recipient="x@patient.example", method="pickup", rule="patients")
    c.add("2026-01-06", "pickup.opened", pickup_id="k1", recipient="x@patient.example")
    c.add("2026-01-07", "pickup.expired", pickup_id="k1", recipient="x@patient.example")
    return c


def test_verify_accepts_a_log_written_from_the_documentation(relay_config):
    config, state = relay_config
    write_sample(state)
    r = cli(config, "audit", "verify")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "audit log intact (7 events)\n"
    j = json.loads(cli(config, "--json", "audit", "verify").stdout)
    assert j["intact"] is True and j["chains"][0]["head_seq"] == 7


def test_verify_names_the_first_tampered_line(relay_config):
    config, state = relay_config
    write_sample(state)
    f = state / "audit" / "audit-2026-01-05.jsonl"
    lines = f.read_text().splitlines()
    lines[1] = lines[1].replace('"pgp"', '"plain"')
    f.write_text("\n".join(lines) + "\n")
    r = cli(config, "audit", "verify")
    assert r.returncode == 1
    assert r.stderr.startswith("chain broken at event 2 (%s:2): hash does not match" % f)


def test_verify_names_a_removed_line(relay_config):
    config, state = relay_config
    write_sample(state)
    f = state / "audit" / "audit-2026-01-06.jsonl"
    lines = f.read_text().splitlines()
    f.write_text(lines[1] + "\n")  # event 5 removed
    r = cli(config, "audit", "verify")
    assert r.returncode == 1
    assert "chain broken at event 5 (%s:1): expected event 5, found 6" % f in r.stderr


def test_verify_refuses_a_missing_log(relay_config):
    config, state = relay_config
    shutil.rmtree(state / "audit")
    r = cli(config, "audit", "verify")
    assert r.returncode == 1 and "no audit log" in r.stderr


def test_report_counts_match_the_events(relay_config):
    config, state = relay_config
    c = write_sample(state)
    # A second visit of pickup k1 and a first of k2; two plain sends that did
    # not go out (one held for the admin, one still deferred).
    c.add("2026-01-07", "pickup.opened", pickup_id="k1", recipient="x@patient.example")
    c.add("2026-01-07", "pickup.opened", pickup_id="k2", recipient="y@patient.example")
    c.add("2026-01-07", "decision", queue_id="q3", recipient="kollege@praxis.example", method="plain",
          rule="internal")
    c.add("2026-01-07", "delivery", queue_id="q3", recipient="kollege@praxis.example", method="plain",
          result="held", reply="local 5.6.0 too many MIME parts")
    c.add("2026-01-07", "decision", queue_id="q4", recipient="team@praxis.example", method="plain",
          rule="internal")
    c.add("2026-01-07", "delivery", queue_id="q4", recipient="team@praxis.example", method="plain",
          result="deferred", reply="451 4.4.1 try later")
    r = cli(config, "audit", "report", "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["events"] == 13
    assert rep["decisions_by_method"] == {"pgp": 1, "pickup": 1, "plain": 3}
    assert rep["decisions_by_domain"] == {"patient.example": 2, "praxis.example": 3}
    assert rep["deliveries"] == {"pgp": {"failed": 1},
                                 "plain": {"deferred": 1, "delivered": 1, "held": 1}}
    # Plaintext that left, apart from plaintext that was decided but did not.
    assert [(p["recipient"], p["rule"]) for p in rep["plaintext"]] == [("dr@praxis.example", "internal")]
    assert [(p["recipient"], p["result"]) for p in rep["plaintext_not_delivered"]] == [
        ("kollege@praxis.example", "held"), ("team@praxis.example", "deferred")]
    assert [f["reply"] for f in rep["failures"]] == ["550 5.1.1 no such user"]
    assert [(h["recipient"], h["reply"]) for h in rep["held"]] == [
        ("kollege@praxis.example", "local 5.6.0 too many MIME parts")]
    # k1 opened twice is one pickup opened.
    assert rep["pickups"] == {"expired": 1, "opened": 2}
    assert rep["pickup_events"] == {"expired": 1, "opened": 3}

    window = json.loads(cli(config, "audit", "report", "--from", "2026-01-06", "--to", "2026-01-06",
                            "--format", "json").stdout)
    assert window["events"] == 2 and window["pickups"] == {"opened": 1}

    md = cli(config, "audit", "report").stdout
    assert "| dr@praxis.example | internal |" in md
    assert "| kollege@praxis.example | internal | held |" in md
    assert "## Held deliveries" in md and "| opened | 2 | 3 |" in md
    csv = cli(config, "audit", "report", "--format", "csv").stdout
    assert "decision_method,plain,,3\n" in csv
    assert "plaintext_not_delivered,team@praxis.example,internal: deferred,1\n" in csv
    assert "held,kollege@praxis.example,local 5.6.0 too many MIME parts,1\n" in csv
    assert "pickup,opened,,2\n" in csv and "pickup_events,opened,,3\n" in csv


def test_admin_changes_are_recorded_in_their_own_chain(relay_config):
    config, state = relay_config
    r = subprocess.run([str(SEALPOST), "-c", str(config), "consent", "add", "p@patient.example",
                        "--date", "2026-01-05"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert cli(config, "consent", "revoke", "p@patient.example", "--date", "2026-01-06").returncode == 0
    assert cli(config, "pickup", "purge").returncode == 0  # nothing expired: nothing to record
    assert cli(config, "queue", "delete", "0123456789abcdef0123").returncode == 1  # failed: no record

    lines = [json.loads(l) for f in sorted((state / "admin-audit").glob("audit-*.jsonl"))
             for l in f.read_text().splitlines()]
    assert [l["type"] for l in lines] == ["consent.granted", "consent.revoked"]
    granted = lines[0]["fields"]
    assert granted["recipient"] == "p@patient.example" and granted["date"] == "2026-01-05"
    assert granted["sms_number_set"] == "no" and granted["pickup_phrase_set"] == "no"
    assert "dropped" not in granted  # no field name the audit writer refuses
    assert granted["uid"] == str(os.getuid()) and granted["actor"]

    r = cli(config, "--json", "audit", "verify")
    assert r.returncode == 0, r.stderr
    chains = json.loads(r.stdout)["chains"]
    assert any(c["head_seq"] == 2 for c in chains)

    # Editing the admin trail is detected like any other chain.
    f = next((state / "admin-audit").glob("audit-*.jsonl"))
    f.write_text(f.read_text().replace("2026-01-06", "2026-01-07"))
    r = cli(config, "audit", "verify")
    assert r.returncode == 1 and "admin-audit" in r.stderr


def test_report_adds_the_count_of_a_purge(relay_config):
    config, state = relay_config
    c = Chain(state / "admin-audit")
    c.add("2026-01-05", "pickup.purged", count="3", actor="root", uid="0")
    c.add("2026-01-05", "pickup.revoked", pickup_id="k9", actor="root", uid="0")
    rep = json.loads(cli(config, "audit", "report", "--format", "json").stdout)
    assert rep["pickups"] == {"purged": 3, "revoked": 1}


def test_report_usage_errors_exit_2(relay_config):
    config, _ = relay_config
    assert cli(config, "audit", "report", "--from", "2026-02-30").returncode == 2
    assert cli(config, "audit", "report", "--format", "xml").returncode == 2
    assert cli(config, "audit", "bogus").returncode == 2


# --- logging --------------------------------------------------------------------

def test_daemon_logs_json_lines_at_the_level_asked(tmp_path):
    from recording_sink import Sink
    from sealpost_harness import Relay, simple_message, submit
    with Sink(tmp_path / "sink") as sink:
        relay = Relay(tmp_path, smarthost_port=sink.port)
        relay.add_user("anna", "pw for anna", ["anna@praxis.example"])
        relay.start(args=["--log-format", "json", "--log-level", "debug"])
        try:
            # A HELO name and a subject a log must neither break on nor show.
            msg = simple_message("anna@praxis.example", ["x@sink.example"], "Befund Geheim-4711")
            submit(relay.port("submission"), "anna@praxis.example", ["x@sink.example"], msg,
                   auth=("anna", "pw for anna"), cafile=relay.ca.cert)
            sink.wait_for(1)
        finally:
            assert relay.stop() == 0
    lines = relay.log().splitlines()
    events = [json.loads(l) for l in lines]  # every line is one JSON object
    for e in events:
        assert list(e)[:3] == ["ts", "level", "event"], e
        assert all(isinstance(v, str) for v in e.values()), e
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["ts"])
    names = {e["event"] for e in events}
    assert {"daemon.ready", "delivery.attempt", "daemon.stopped"} <= names, names
    assert {e["level"] for e in events} <= {"debug", "info", "warn", "error"}
    assert "Geheim-4711" not in relay.log()

    # --log-level warn: nothing below it.
    relay.stderr_path.unlink()
    with Sink(tmp_path / "sink2") as sink:
        relay.config["smarthost"]["port"] = sink.port
        relay.write_config()
        relay.start(wait=False, args=["--log-format", "json", "--log-level", "warn"])
        try:
            wait_handles_sigterm(relay.proc)  # "daemon.ready" is an info line: not logged now
        finally:
            assert relay.stop() == 0
    levels = {json.loads(l)["level"] for l in relay.log().splitlines()}
    assert levels and levels <= {"warn", "error"}, levels  # smarthost.insecure is a warning


def wait_handles_sigterm(proc, timeout=30):
    """Until the daemon catches SIGTERM (its last step before it is ready)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "sealpostd exited"
        status = Path("/proc/%d/status" % proc.pid).read_text()
        caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.M).group(1), 16)
        if caught & (1 << (15 - 1)):
            return
        time.sleep(0.05)
    raise TimeoutError("sealpostd does not handle SIGTERM yet")


@pytest.mark.parametrize("args,why", [
    (["--log-level", "verbose"], "--log-level: 'verbose' is not debug, info, warn or error"),
    (["--log-level", "WARN"], "--log-level: 'WARN' is not"),
    (["--log-format", "xml"], "--log-format: 'xml' is not text or json"),
    (["--log-level"], "--log-level needs a value"),
])
def test_daemon_refuses_a_bad_log_option(args, why):
    r = subprocess.run([str(BUILD_DIR / "relay" / "sealpostd"), "-c", "/nonexistent.yaml", *args],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and why in r.stderr, r.stderr


# --- packaging ----------------------------------------------------------------

def _installed_targets_built():
    return all((BUILD_DIR / p).exists() for p in ["cli/sealpost", "relay/sealpostd", "portal/sealpost-portal"])


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    if not shutil.which("cpack") or not shutil.which("dpkg-deb"):
        pytest.skip("cpack or dpkg-deb is not installed")
    if not _installed_targets_built():
        pytest.skip("sealpost, sealpostd and sealpost-portal must be built first")
    out = tmp_path_factory.mktemp("deb")
    start = time.monotonic()
    r = subprocess.run(["cpack", "-G", "DEB", "--config", str(BUILD_DIR / "CPackConfig.cmake"), "-B", str(out)],
                       capture_output=True, text=True, timeout=900)
    print("cpack took %.1f s" % (time.monotonic() - start))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    debs = list(out.glob("sealpost_*.deb"))
    assert len(debs) == 1, r.stdout
    return debs[0]


def test_package_contents(deb, tmp_path):
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    for path in ["usr/bin/sealpost", "usr/sbin/sealpostd", "usr/sbin/sealpost-portal",
                 "usr/lib/systemd/system/sealpostd.service", "usr/lib/systemd/system/sealpost-portal.service",
                 "usr/lib/sysusers.d/sealpost.conf", "usr/lib/tmpfiles.d/sealpost.conf",
                 "usr/share/man/man1/sealpost.1", "usr/share/man/man5/sealpost.yaml.5",
                 "usr/share/man/man8/sealpostd.8", "usr/share/man/man8/sealpost-portal.8",
                 "etc/sealpost/sealpost.yaml", "etc/sealpost/policy.yaml"]:
        assert (tmp_path / path).exists(), path
    # No test or fuzz programs in the package.
    names = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert not any(n.endswith("_tests") or n.endswith("_fuzz") for n in names)

    info = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: sealpost" in info
    assert "libgmime" in info and "libgpgme" in info  # shlibdeps found the libraries
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
    assert (control / "conffiles").read_text().split() == [
        "/etc/sealpost/sealpost.yaml", "/etc/sealpost/policy.yaml",
        "/etc/sealpost/templates/notice.de.txt", "/etc/sealpost/templates/notice.en.txt"]
    postinst = (control / "postinst").read_text()
    assert "systemd-sysusers" in postinst and "spool.key" in postinst


def install_into(deb, root):
    """dpkg -i into a throw-away root; returns dpkg's result (postinst output in stdout)."""
    (root / "var/lib/dpkg/updates").mkdir(parents=True)
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("")
    (root / "etc").mkdir()
    # Users the postinst creates land in this root's passwd/group, not the host's.
    for f in ["passwd", "group"]:
        (root / "etc" / f).write_text("root:x:0:0:root:/root:/bin/sh\n" if f == "passwd" else "root:x:0:\n")
    r = subprocess.run(["dpkg", "--root", str(root), "--force-not-root", "--force-depends",
                        "--force-script-chrootless", "--log=/dev/null", "-i", str(deb)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_package_installs_into_a_throwaway_root(deb, tmp_path):
    root = tmp_path / "root"
    r = install_into(deb, root)
    assert (root / "usr/sbin/sealpostd").exists()
    status = (root / "var/lib/dpkg/status").read_text()
    assert "Package: sealpost\n" in status and "Status: install ok installed" in status
    if shutil.which("systemd-sysusers"):
        assert "sealpost:" in (root / "etc/passwd").read_text()
        assert "sealpost-portal:" in (root / "etc/passwd").read_text()
    if shutil.which("systemd-tmpfiles"):
        audit = root / "var/lib/sealpost/audit"
        assert audit.is_dir() and (audit.stat().st_mode & 0o777) == 0o700
    # The spool key outside the state directory (LoadCredential= in the unit),
    # made without openssl; an empty staff list; and what is still missing.
    key = root / "etc/sealpost/spool.key"
    assert re.fullmatch(r"[0-9a-f]{64}\n", key.read_text())
    assert (key.stat().st_mode & 0o777) == 0o600
    assert "LoadCredential=spool-key:/etc/sealpost/spool.key" in \
        (root / "usr/lib/systemd/system/sealpostd.service").read_text()
    users = root / "etc/sealpost/users.yaml"
    assert yaml.safe_load(users.read_text()) == {"users": []}
    assert (users.stat().st_mode & 0o777) == 0o640
    assert "not yet configured" in r.stdout and "/etc/sealpost/tls/fullchain.pem" in r.stdout
    # A second configure (an upgrade) keeps the key.
    before = key.read_text()
    install_again = subprocess.run(["dpkg", "--root", str(root), "--force-not-root", "--force-depends",
                                    "--force-script-chrootless", "--log=/dev/null", "-i", str(deb)],
                                   capture_output=True, text=True)
    assert install_again.returncode == 0, install_again.stderr
    assert key.read_text() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand files to another group")
def test_upgrade_moves_the_key_durably_and_hands_portal_files_to_their_group(deb, tmp_path):
    """An earlier install left the spool key in the state dir and pickup/ and
    portal-audit/ files of another group: the postinst copies the key to
    /etc/sealpost via a flushed temp file (no temp left, the old one gone
    only after the rename) and gives the portal's files group sealpost-pickup."""
    root = tmp_path / "root"
    state = root / "var/lib/sealpost"
    (state / "pickup/blobs").mkdir(parents=True)
    (state / "portal-audit").mkdir(parents=True)
    old_key = "ab" * 32 + "\n"
    (state / "spool.key").write_text(old_key)
    leftovers = [state / "pickup/index.db", state / "pickup/blobs/x.sealed",
                 state / "portal-audit/audit-2026-01-01.jsonl"]
    for f in leftovers:
        f.write_text("x")
        os.chown(f, 0, 0)
    outside = tmp_path / "outside"
    outside.write_text("x")
    os.symlink(outside, state / "pickup/link")
    r = install_into(deb, root)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(tmp_path / "ctl")], check=True)
    script = (tmp_path / "ctl/postinst").read_text()
    # The order a crash must not break: the key's bytes on disk before its name.
    assert script.index('sync "$tmp"') < script.index('mv "$tmp" "$etc/spool.key"')
    assert (root / "etc/sealpost/spool.key").read_text() == old_key, r.stdout
    assert not (state / "spool.key").exists()
    assert [p.name for p in (root / "etc/sealpost").iterdir() if ".tmp." in p.name] == []
    if not shutil.which("systemd-sysusers"):
        pytest.skip("systemd-sysusers is not installed")
    pickup_gid = next(int(l.split(":")[2]) for l in (root / "etc/group").read_text().splitlines()
                      if l.startswith("sealpost-pickup:"))
    for f in leftovers:
        assert f.stat().st_gid == pickup_gid, f
    assert outside.stat().st_gid == 0  # not through the symlink


def root_ids(root, name):
    """uid, gid and supplementary gids of `name` in the throw-away root's passwd/group."""
    uid, gid = next((int(f[2]), int(f[3])) for f in
                    (l.split(":") for l in (root / "etc/passwd").read_text().splitlines()) if f[0] == name)
    groups = [int(f[2]) for f in (l.split(":") for l in (root / "etc/group").read_text().splitlines())
              if name in f[3].split(",")]
    return uid, gid, groups


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the owners the admin guide asks for")
def test_packaged_example_config_passes_check_config_after_the_first_start_steps(deb):
    if not shutil.which("systemd-sysusers") or not shutil.which("systemd-tmpfiles"):
        pytest.skip("systemd-sysusers / systemd-tmpfiles are not installed")
    # Not below pytest's 0700 tmp_path: the daemon's user must reach the files.
    top = Path(tempfile.mkdtemp(prefix="sealpost-pkg-"))
    os.chmod(top, 0o711)
    try:
        root = top / "root"
        install_into(deb, root)
        sealpost = root / "usr/bin/sealpost"
        etc = root / "etc/sealpost"
        # The packaged example, unchanged but for the root it lives in.
        config = top / "sealpost.yaml"
        config.write_text((etc / "sealpost.yaml").read_text()
                          .replace("/etc/sealpost", str(etc))
                          .replace("/var/lib/sealpost", str(root / "var/lib/sealpost")))
        config.chmod(0o644)
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = dict(os.environ, ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")

        def check_config(**kw):
            return subprocess.run([str(sealpost), "-c", str(config), "check-config"], env=env,
                                  capture_output=True, text=True, **kw)

        # Right after dpkg -i: a clear error naming what is missing.
        before = check_config()
        assert before.returncode == 1
        assert str(etc / "tls/fullchain.pem") in before.stderr, before.stderr

        # docs/admin-guide.md "First start", as an admin does it.
        relay_uid, relay_gid, relay_groups = root_ids(root, "sealpost")
        cert_dir = top / "cert"
        cert_dir.mkdir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                        "-subj", "/CN=relay.praxis.example", "-keyout", str(cert_dir / "key.pem"),
                        "-out", str(cert_dir / "fullchain.pem")], check=True, capture_output=True)
        subprocess.run(["install", "-d", "-m", "0750", "-o", "root", "-g", str(relay_gid),
                        str(etc / "tls")], check=True)
        for name in ("fullchain.pem", "key.pem"):
            subprocess.run(["install", "-m", "0640", "-g", str(relay_gid), str(cert_dir / name),
                            str(etc / "tls" / name)], check=True)
        pw = top / "pass"
        pw.write_text("provider secret\n")
        subprocess.run(["install", "-m", "0640", "-g", str(relay_gid), str(pw),
                        str(etc / "smarthost.pass")], check=True)
        added = subprocess.run([str(sealpost), "-c", str(config), "user", "add", "anna", "--address",
                                "anna@praxis.example"], input="a long staff password\n", env=env,
                               capture_output=True, text=True)
        assert added.returncode == 0, added.stderr
        assert (etc / "users.yaml").stat().st_gid == relay_gid

        # Checked as the daemon's own user, with the ids of this root's passwd:
        # run as root, check-config would take them from the host's user
        # database, which does not know this root's "sealpost".
        def as_daemon():
            os.setgroups(relay_groups)
            os.setgid(relay_gid)
            os.setuid(relay_uid)
        as_relay = check_config(preexec_fn=as_daemon)
        assert as_relay.stdout == "config OK\n", as_relay.stderr
    finally:
        subprocess.run(["rm", "-rf", str(top)])


def test_check_config_refuses_secrets_readable_by_every_user(tmp_path):
    """/etc/sealpost is 0755, so a secret's own mode is what guards it: a
    TLS key, password file, users file or spool key readable (or writable) by
    others is an error; group-readable (root:sealpost 0640) is fine."""
    from sealpost_harness import Relay
    r = Relay(tmp_path, smarthost_port=9, smarthost_tls="implicit")
    password = tmp_path / "smarthost.pass"
    password.write_text("provider secret\n")
    password.chmod(0o640)
    r.config["smarthost"]["password_file"] = str(password)
    r.config["smarthost"]["username"] = "praxis@provider.example"
    spool_key = tmp_path / "spool.key"
    spool_key.write_text("ab" * 32 + "\n")
    spool_key.chmod(0o600)
    r.config.setdefault("queue", {})["spool_key"] = str(spool_key)
    r.write_config()
    ok = r.cli("check-config", check=False)
    assert ok.returncode == 0 and ok.stdout == "config OK\n", ok.stderr
    tls_key = Path(r.config["listen"][0]["tls"]["key"])
    legacy_key = r.state_dir / "spool.key"
    legacy_key.parent.mkdir(parents=True, exist_ok=True)
    legacy_key.write_text("cd" * 32 + "\n")
    legacy_key.chmod(0o600)
    for path, what in ((r.users_path, "users"), (password, "smarthost.password_file"),
                       (tls_key, "tls.key"), (legacy_key, "spool key")):
        before = path.stat().st_mode & 0o777
        for mode, word in ((0o644, "readable"), (0o642, "writable")):
            path.chmod(mode)
            bad = r.cli("check-config", check=False)
            assert bad.returncode == 1, (what, bad.stdout)
            assert what in bad.stderr and str(path) in bad.stderr and word in bad.stderr, bad.stderr
            assert "%04o" % mode in bad.stderr, bad.stderr
        path.chmod(0o640)
        assert r.cli("check-config").stdout == "config OK\n", what
        path.chmod(before)
