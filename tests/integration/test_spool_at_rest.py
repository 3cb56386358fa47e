"""Spool at rest (issue 8): what sealpostd keeps in state_dir/spool while the
smarthost is down must hold no message content or address in clear, and key
rotation must keep queued mail deliverable."""
import os
import stat
import time

from recording_sink import Sink
from sealpost_harness import Relay, free_port, simple_message, submit

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"
RCPT = "patientin-4711@sink.example"
SUBJECT = "Befund Schilddruese 4711"
BODY = "TSH-Wert 9,87 mU/l - DIAGNOSE-HYPOTHYREOSE\r\n" * 3000  # several 64 KiB records


def spool_files(relay):
    root = relay.state_dir / "spool"
    return [p for p in root.rglob("*") if p.is_file()]


def write_key(path, raw):
    path.write_text(raw.hex() + "\n")
    path.chmod(0o600)


def queue_one(relay, subject=SUBJECT, body=BODY):
    msg = simple_message(ADDR, [RCPT], subject, body)
    code, _ = submit(relay.port("submission"), ADDR, [RCPT], msg, auth=(USER, PASSWORD),
                     cafile=relay.ca.cert)
    assert code == 250
    return msg


def wait_queued(relay, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if RCPT in relay.cli("queue", "list").stdout:
            return
        time.sleep(0.2)
    raise AssertionError("message not in queue: " + relay.log()[-2000:])


def delivered_body(raw):
    """The delivered message minus the Received line the relay puts on top."""
    assert raw.startswith(b"Received: ")
    head, _, rest = raw.partition(b"\r\n")
    while rest.startswith((b" ", b"\t")):
        _, _, rest = rest.partition(b"\r\n")
    return rest


def test_queued_mail_is_not_in_clear_then_delivered(tmp_path):
    port = free_port()  # smarthost down: nothing listens yet
    r = Relay(tmp_path, smarthost_port=port)
    r.add_user(USER, PASSWORD, [ADDR])
    with r:
        msg = queue_one(r)
        wait_queued(r)
        time.sleep(1.5)  # let a failed attempt rewrite the envelope too
        files = spool_files(r)
        assert any(p.suffix == ".msg" for p in files) and any(p.suffix == ".env" for p in files)
        for p in files:
            data = p.read_bytes()
            for secret in (b"DIAGNOSE-HYPOTHYREOSE", SUBJECT.encode(), RCPT.encode(), b"patientin",
                           ADDR.encode()):
                assert secret not in data, (p, secret)
        # No key configured and no credential: sealpostd made one in state_dir,
        # private to it, and says at start why that is not where it belongs.
        key = r.state_dir / "spool.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.stat().st_size == 32
        warning = next(l for l in r.log().splitlines() if "spool.key_in_state_dir" in l)
        assert " warn " in warning and str(key) in warning and "backup" in warning
        with Sink(tmp_path / "sink", port=port) as sink:
            r.cli("queue", "flush")
            (meta, raw), = sink.wait_for(1, timeout=30)
    assert meta["rcpt_tos"] == [RCPT]
    assert delivered_body(raw) == msg


def test_systemd_credential_keeps_the_key_out_of_state_dir(tmp_path):
    # What the packaged unit does: LoadCredential=spool-key:/etc/sealpost/spool.key
    # makes systemd put a copy in $CREDENTIALS_DIRECTORY.
    creds = tmp_path / "credentials"
    creds.mkdir(mode=0o700)
    raw = os.urandom(32)
    write_key(creds / "spool-key", raw)
    port = free_port()
    r = Relay(tmp_path, smarthost_port=port, env={"CREDENTIALS_DIRECTORY": str(creds)})
    r.add_user(USER, PASSWORD, [ADDR])
    with r:
        msg = queue_one(r)
        wait_queued(r)  # the CLI finds the same credential
        for p in spool_files(r):
            data = p.read_bytes()
            assert b"DIAGNOSE-HYPOTHYREOSE" not in data and RCPT.encode() not in data, p
    assert not (r.state_dir / "spool.key").exists()
    assert "spool.key_in_state_dir" not in r.log()
    assert "source=%s" % (creds / "spool-key") in r.log()
    # Sealed with that key: a restart without it cannot read the queue (the
    # fallback key it then makes is a different one), with it again it can.
    r.env.pop("CREDENTIALS_DIRECTORY")
    with r:
        time.sleep(1)
        assert RCPT not in r.cli("queue", "list").stdout
    assert "spool.key_in_state_dir" in r.log()
    (r.state_dir / "spool.key").unlink()
    r.env["CREDENTIALS_DIRECTORY"] = str(creds)
    with r:
        with Sink(tmp_path / "sink", port=port) as sink:
            r.cli("queue", "flush")
            (meta, raw_msg), = sink.wait_for(1, timeout=30)
    assert meta["rcpt_tos"] == [RCPT]
    assert delivered_body(raw_msg) == msg


def test_key_rotation_end_to_end(tmp_path):
    key1, key2 = tmp_path / "key1", tmp_path / "key2"
    write_key(key1, os.urandom(32))
    write_key(key2, os.urandom(32))
    port = free_port()
    r = Relay(tmp_path, smarthost_port=port, config_overrides={"queue": {"spool_key": str(key1)}})
    r.add_user(USER, PASSWORD, [ADDR])
    with r:
        msg = queue_one(r)
        wait_queued(r)
    assert not (r.state_dir / "spool.key").exists()  # the configured key is used

    # Rotated without the old key: the message waits untouched, it is not lost.
    r.config["queue"]["spool_key"] = str(key2)
    r.write_config()
    with r:
        time.sleep(1)
        assert RCPT not in r.cli("queue", "list").stdout
    assert "spool.unknown_key" in r.log()
    assert list((r.state_dir / "spool" / "corrupt").iterdir()) == []

    # Proper rotation: new key current, old key kept for reading.
    r.config["queue"]["spool_old_keys"] = [str(key1)]
    r.write_config()
    with r:
        assert RCPT in r.cli("queue", "list").stdout
        with Sink(tmp_path / "sink", port=port) as sink:
            r.cli("queue", "flush")
            (meta, raw), = sink.wait_for(1, timeout=30)
        assert meta["rcpt_tos"] == [RCPT]
        assert delivered_body(raw) == msg
        # New mail is sealed with key2 only: readable with key1 gone.
        queue_one(r, subject="nach der Rotation")
        time.sleep(0.5)
    del r.config["queue"]["spool_old_keys"]
    r.write_config()
    with r:
        with Sink(tmp_path / "sink2", port=port) as sink:
            r.cli("queue", "flush")
            (meta, _), = sink.wait_for(1, timeout=30)
            assert meta["rcpt_tos"] == [RCPT]


def test_unsafe_key_file_is_a_config_error(tmp_path):
    key = tmp_path / "spool.key"
    write_key(key, os.urandom(32))
    key.chmod(0o644)
    r = Relay(tmp_path, smarthost_port=free_port(),
              config_overrides={"queue": {"spool_key": str(key)}})
    res = r.cli("check-config", check=False)
    assert res.returncode == 1
    assert "sealpost.yaml:" in res.stderr and "spool_key" in res.stderr and "chmod 600" in res.stderr
    key.chmod(0o600)
    key.write_text("too short\n")
    res = r.cli("check-config", check=False)
    assert res.returncode == 1 and "not a spool key" in res.stderr
