"""sealpostd started as root with --user runs as that user, with no capability
left once its listeners are bound, and still relays mail. Started the way the
systemd unit starts it (its own user, CAP_NET_BIND_SERVICE as an ambient
capability), it drops that capability too once bound."""
import os
import random
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from recording_sink import Sink
from sealpost_harness import SEALPOSTD, Relay, simple_message, submit

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")


def proc_status(pid):
    fields = {}
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


@pytest.fixture
def workdir():
    # pytest's tmp_path lives below a 0700 directory "nobody" cannot enter.
    d = Path(tempfile.mkdtemp(prefix="sealpost-priv-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def open_up(directory):
    """Test-only: let the unprivileged daemon read the config and TLS files."""
    for root, dirs, files in os.walk(directory):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)


def test_runs_as_the_given_user_without_capabilities(workdir):
    with Sink(workdir / "sink") as sink:
        # After setuid the process is not dumpable, so LeakSanitizer (ASan
        # builds) cannot attach to it at exit; everything else stays checked.
        asan = os.environ.get("ASAN_OPTIONS", "")
        relay = Relay(workdir, smarthost_port=sink.port,
                      env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "detect_leaks=0"})
        relay.add_user(USER, PASSWORD, [ADDR])
        open_up(workdir)
        relay.start(args=["--user", "nobody"])
        try:
            status = proc_status(relay.proc.pid)
            nobody = 65534
            assert [int(u) for u in status["Uid"]] == [nobody] * 4
            assert int(status["CapEff"][0], 16) == 0 and int(status["CapPrm"][0], 16) == 0
            msg = simple_message(ADDR, ["x@sink.example"], "as nobody")
            code, _ = submit(relay.port("submission"), ADDR, ["x@sink.example"], msg,
                             auth=(USER, PASSWORD), cafile=relay.ca.cert)
            assert code == 250
            sink.wait_for(1, timeout=30)
            # Everything it wrote belongs to it, nothing to root. (admin-audit/
            # is the trail of `sealpost user add`, run as root above while the
            # state dir was still root's: the CLI's, not the daemon's.)
            owners = {p.stat().st_uid for p in relay.state_dir.rglob("*")
                      if "admin-audit" not in p.parts}
            assert owners == {nobody}, owners
        finally:
            rc = relay.stop()
            assert rc == 0, relay.log()[-3000:]


def test_refuses_an_unknown_user(workdir):
    with Sink(workdir / "sink") as sink:
        relay = Relay(workdir, smarthost_port=sink.port)
        relay.start(wait=False, args=["--user", "no-such-user-here"])
        assert relay.proc.wait(timeout=20) == 1
        relay.proc = None
        relay.stderr_file.close()
        assert "no such user" in relay.log()


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
    nobody = 65534
    with Sink(workdir / "sink") as sink:
        relay = Relay(workdir, smarthost_port=sink.port)
        low = free_privileged_port()
        relay.config["listen"][0]["address"] = "127.0.0.1:%d" % low
        relay.ports["submission"] = low
        relay.write_config()
        relay.add_user(USER, PASSWORD, [ADDR])
        open_up(workdir)
        relay.state_dir.mkdir(exist_ok=True)
        subprocess.run(["chown", "-R", "%d:%d" % (nobody, nobody), str(relay.state_dir)], check=True)
        relay.stderr_file = open(relay.stderr_path, "ab")
        relay.proc = subprocess.Popen(
            ["setpriv", "--reuid=%d" % nobody, "--regid=%d" % nobody, "--clear-groups",
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
