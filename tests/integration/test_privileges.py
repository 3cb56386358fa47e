"""sealpostd started as root with --user runs as that user, with no capability
left once its listeners are bound, and still relays mail."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from recording_sink import Sink
from sealpost_harness import Relay, simple_message, submit

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
