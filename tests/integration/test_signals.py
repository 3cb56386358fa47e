"""sealpostd's signal contract (DESIGN §3.2, sealpostd(8)) against the real daemon:
SIGHUP reloads all of a new configuration or none of it; SIGTERM lets a DATA
transaction finish, cuts deliveries stuck at the smarthost after
limits.shutdown_grace and exits 0 without losing accepted mail; sd_notify tells
systemd READY only once the listeners are bound, RELOADING/READY around a
reload and STOPPING on SIGTERM. Loopback only, free ports."""
import json
import os
import signal
import smtplib
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest

from recording_sink import Sink
from sealpost_harness import Relay, free_port, simple_message, submit

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"
NEW_USER, NEW_PASSWORD, NEW_ADDR = "bert", "staple battery horse", "bert@praxis.example"


def wait_until(predicate, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def wait_log(relay, text, timeout=15, after=0):
    assert wait_until(lambda: text in relay.log()[after:], timeout), \
        "%r not in log:\n%s" % (text, relay.log()[after:][-3000:])


def login_works(relay, user, password):
    ctx = ssl.create_default_context(cafile=str(relay.ca.cert))
    s = smtplib.SMTP("127.0.0.1", relay.port("submission"), timeout=15)
    try:
        s.starttls(context=ctx)
        s.login(user, password)
        return True
    except smtplib.SMTPAuthenticationError:
        return False
    finally:
        s.close()


def rcpt_codes(relay, rcpts):
    """RCPT reply codes on the filter listener for one transaction."""
    s = smtplib.SMTP("127.0.0.1", relay.port("filter"), timeout=15)
    try:
        s.ehlo("client.test")
        s.mail("lab@praxis.example")
        return [s.rcpt(r)[0] for r in rcpts]
    finally:
        s.close()


def queued_ids(relay):
    return [m["id"] for m in json.loads(relay.cli("queue", "list", "--json").stdout)["messages"]]


@pytest.fixture
def sink(tmp_path):
    with Sink(tmp_path / "sink") as s:
        yield s


# ---- SIGHUP: all or nothing ----------------------------------------------------------

def test_sighup_with_an_invalid_config_changes_nothing(tmp_path, sink):
    """A broken sealpost.yaml next to a new users file and a new policy: none of
    the three is taken over (not even the valid ones), the error names the file
    and line, and mail keeps flowing exactly as before."""
    relay = Relay(tmp_path, smarthost_port=sink.port)
    relay.add_user(USER, PASSWORD, [ADDR])
    with relay:
        relay.add_user(NEW_USER, NEW_PASSWORD, [NEW_ADDR])  # users.yaml rewritten
        relay.write_policy({"defaults": {"methods": ["reject"]}})  # would refuse everything
        good_config = relay.config_path.read_text()
        lines = good_config.splitlines()
        lines.insert(2, "no_such_key: 1")
        relay.config_path.write_text("\n".join(lines) + "\n")
        offset = len(relay.log())
        relay.signal(signal.SIGHUP)
        wait_log(relay, "reload.refused", after=offset)
        log = relay.log()[offset:]
        assert "sealpost.yaml:3" in log and "no_such_key" in log, log
        assert "reload.done" not in log

        assert not login_works(relay, NEW_USER, NEW_PASSWORD)  # users: still the old file
        assert login_works(relay, USER, PASSWORD)
        msg = simple_message(ADDR, ["still@sink.example"], "old policy")
        assert submit(relay.port("submission"), ADDR, ["still@sink.example"], msg,
                      auth=(USER, PASSWORD), cafile=relay.ca.cert)[0] == 250
        (meta, _), = sink.wait_for(1)  # policy: still the old one (plain to sink.example)
        assert meta["rcpt_tos"] == ["still@sink.example"]

        # The daemon keeps working and takes the next good config.
        relay.write_policy({"defaults": {"methods": ["pgp"]},
                            "rules": [{"name": "test-plain", "match": {"recipient_domain": "sink.example"},
                                       "methods": ["plain"]}]})
        relay.config_path.write_text(good_config)
        relay.signal(signal.SIGHUP)
        wait_log(relay, "reload.done", after=offset)
        assert login_works(relay, NEW_USER, NEW_PASSWORD)
    assert relay.proc is None


def test_sighup_with_a_broken_policy_takes_over_nothing_else(tmp_path, sink):
    """A valid sealpost.yaml and users file together with a broken policy: the
    config and users are not taken over either (before, they ran with the old policy)."""
    relay = Relay(tmp_path, smarthost_port=sink.port)
    relay.add_user(USER, PASSWORD, [ADDR])
    with relay:
        relay.add_user(NEW_USER, NEW_PASSWORD, [NEW_ADDR])
        relay.config["limits"] = {"max_recipients": 1}
        relay.write_config()
        relay.policy_path.write_text("rules:\n  - name: x\n    methods: [teleport]\n")
        offset = len(relay.log())
        relay.signal(signal.SIGHUP)
        wait_log(relay, "reload.policy_refused", after=offset)
        assert "policy.yaml:2" in relay.log()[offset:]
        assert rcpt_codes(relay, ["a@sink.example", "b@sink.example"]) == [250, 250]
        assert not login_works(relay, NEW_USER, NEW_PASSWORD)


def test_sighup_applies_a_valid_change(tmp_path, sink):
    """A new user and a lower recipient limit take effect for new sessions; a
    session opened before the reload keeps going."""
    relay = Relay(tmp_path, smarthost_port=sink.port)
    relay.add_user(USER, PASSWORD, [ADDR])
    with relay:
        assert rcpt_codes(relay, ["a@sink.example", "b@sink.example"]) == [250, 250]
        before = smtplib.SMTP("127.0.0.1", relay.port("filter"), timeout=15)
        before.ehlo("client.test")
        relay.add_user(NEW_USER, NEW_PASSWORD, [NEW_ADDR])
        relay.config["limits"] = {"max_recipients": 1}
        relay.write_config()
        offset = len(relay.log())
        relay.signal(signal.SIGHUP)
        wait_log(relay, "reload.done", after=offset)
        assert "reload.needs_restart" not in relay.log()[offset:]
        assert login_works(relay, NEW_USER, NEW_PASSWORD)
        assert rcpt_codes(relay, ["a@sink.example", "b@sink.example"]) == [250, 452]
        # The session from before the reload still works (and still has its limit).
        before.sendmail("lab@praxis.example", ["c@sink.example", "d@sink.example"],
                        simple_message("lab@praxis.example", ["c@sink.example"], "before"))
        before.quit()
        assert len(sink.wait_for(1)[0][0]["rcpt_tos"]) == 2


def test_sighup_refuses_a_changed_spool_key_and_names_restart_only_settings(tmp_path, sink):
    relay = Relay(tmp_path, smarthost_port=sink.port)
    with relay:
        key = tmp_path / "spool.key.new"
        key.write_text(os.urandom(32).hex() + "\n")
        key.chmod(0o600)
        relay.config["queue"]["spool_key"] = str(key)
        relay.config["limits"] = {"max_recipients": 1}  # must not sneak in with it
        relay.write_config()
        offset = len(relay.log())
        relay.signal(signal.SIGHUP)
        wait_log(relay, "reload.refused", after=offset)
        assert "queue.spool_key changed" in relay.log()[offset:]
        assert "only with a restart" in relay.log()[offset:]
        assert rcpt_codes(relay, ["a@sink.example", "b@sink.example"]) == [250, 250]

        # Restart-only settings: applied is the rest, they are named in the log.
        del relay.config["queue"]["spool_key"]
        relay.config["queue"]["workers"] = 5
        relay.write_config()
        offset = len(relay.log())
        relay.signal(signal.SIGHUP)
        wait_log(relay, "reload.done", after=offset)
        assert "reload.needs_restart key=queue.workers" in relay.log()[offset:]
        assert rcpt_codes(relay, ["a@sink.example", "b@sink.example"]) == [250, 452]


def test_sighup_with_a_broken_listener_certificate_changes_nothing(tmp_path, sink):
    relay = Relay(tmp_path, smarthost_port=sink.port)
    with relay:
        relay.config["listen"][0]["tls"] = {"cert": str(tmp_path / "missing.pem"),
                                            "key": relay.config["listen"][0]["tls"]["key"]}
        relay.config["limits"] = {"max_recipients": 1}
        relay.write_config()
        offset = len(relay.log())
        relay.signal(signal.SIGHUP)
        wait_log(relay, "reload.refused", after=offset)
        assert "missing.pem" in relay.log()[offset:]
        assert rcpt_codes(relay, ["a@sink.example", "b@sink.example"]) == [250, 250]


# ---- SIGTERM ---------------------------------------------------------------------------

def read_reply(s, timeout=10):
    s.settimeout(timeout)
    data = b""
    while not data.endswith(b"\r\n") or (len(data) >= 4 and data.splitlines()[-1][3:4] == b"-"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def open_data(port):
    s = socket.create_connection(("127.0.0.1", port), 10)
    assert read_reply(s).startswith(b"220")
    for line, code in ((b"EHLO client.test", b"250"), (b"MAIL FROM:<lab@praxis.example>", b"250"),
                       (b"RCPT TO:<late@sink.example>", b"250"), (b"DATA", b"354")):
        s.sendall(line + b"\r\n")
        assert read_reply(s).startswith(code)
    return s


def test_sigterm_during_data_lets_the_transaction_finish(tmp_path):
    port = free_port()
    relay = Relay(tmp_path, smarthost_port=port)  # smarthost down: the mail stays queued
    relay.start()
    s = open_data(relay.port("filter"))
    s.sendall(b"Subject: in flight\r\nFrom: lab@praxis.example\r\n\r\nfirst half\r\n")
    relay.signal(signal.SIGTERM)
    wait_log(relay, "daemon.stopping")
    time.sleep(0.5)
    s.sendall(b"second half\r\n.\r\n")
    answer = read_reply(s)
    assert answer.startswith(b"250 2.0.0") and b"queued as" in answer, answer
    rest = b""
    try:
        rest = read_reply(s, 5)
    except (socket.timeout, ConnectionResetError):
        pass
    assert rest == b"" or rest.startswith(b"421 4.3.2"), rest
    s.close()
    assert relay.proc.wait(timeout=30) == 0
    relay.proc = None
    relay.stderr_file.close()
    queued_id = answer.split(b"queued as ")[1].split()[0].decode()
    assert queued_id in queued_ids(relay)
    # Nothing accepted is lost: delivered after the restart.
    with Sink(tmp_path / "sink", port=port) as sink:
        with relay:
            (_, raw), = sink.wait_for(1, timeout=60)
            assert b"first half\r\nsecond half\r\n" in raw


def test_sigterm_cuts_an_unfinished_data_phase_after_the_grace_period(tmp_path, sink):
    relay = Relay(tmp_path, smarthost_port=sink.port,
                  config_overrides={"limits": {"shutdown_grace": "2s"}})
    relay.start()
    s = open_data(relay.port("filter"))
    s.sendall(b"Subject: never finished\r\n\r\nhalf\r\n")
    t0 = time.time()
    relay.signal(signal.SIGTERM)
    assert relay.proc.wait(timeout=20) == 0
    elapsed = time.time() - t0
    relay.proc = None
    relay.stderr_file.close()
    assert 1.5 <= elapsed <= 8, elapsed
    s.settimeout(5)
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        data = b""
    assert b"250" not in data, data
    s.close()
    assert queued_ids(relay) == [] and sink.messages() == []


class StuckSmarthost:
    """Answers until the end of DATA, then never again (a hung provider)."""

    def __init__(self):
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.got_data = threading.Event()
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def _session(self, c):
        try:
            f = c.makefile("rb")
            c.sendall(b"220 stuck.example ESMTP\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.strip().upper()
                if cmd.startswith(b"EHLO"):
                    c.sendall(b"250-stuck.example\r\n250 8BITMIME\r\n")
                elif cmd == b"DATA":
                    c.sendall(b"354 go ahead\r\n")
                    while f.readline() not in (b".\r\n", b""):
                        pass
                    self.got_data.set()
                    while f.read(1):  # hold the line open, answer nothing
                        pass
                    return
                else:
                    c.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() thread
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            c.close()


def test_sigterm_cuts_a_delivery_stuck_at_the_smarthost(tmp_path):
    """smarthost.command_timeout is 300 s: without the cut, sealpostd would
    outlive systemd's TimeoutStopSec and be SIGKILLed."""
    stuck = StuckSmarthost()
    relay = Relay(tmp_path, smarthost_port=stuck.port,
                  config_overrides={"limits": {"shutdown_grace": "2s"},
                                    "smarthost": {"command_timeout": "300s"}})
    try:
        relay.start()
        msg = simple_message("lab@praxis.example", ["stuck@sink.example"], "stuck delivery")
        code, text = submit(relay.port("filter"), "lab@praxis.example", ["stuck@sink.example"], msg,
                            starttls=False)
        assert code == 250
        assert stuck.got_data.wait(30)
        t0 = time.time()
        relay.signal(signal.SIGTERM)
        assert relay.proc.wait(timeout=30) == 0
        elapsed = time.time() - t0
        relay.proc = None
        relay.stderr_file.close()
        log = relay.log()
        assert elapsed < 2 + 10 + 3, elapsed
        assert "delivery.aborted" in log and "daemon.stopped" in log, log[-3000:]
        assert "result=deferred" in log and "result=delivered" not in log
        assert len(queued_ids(relay)) == 1  # at-least-once: still queued
    finally:
        stuck.close()
    # After the restart it is delivered (the retry is due after the schedule's 1 s).
    with Sink(tmp_path / "sink", port=stuck.port) as sink:
        with relay:
            relay.cli("queue", "flush")
            (meta, raw), = sink.wait_for(1, timeout=60)
            assert b"stuck delivery" in raw


# ---- sd_notify ---------------------------------------------------------------------------

class NotifySocket:
    """$NOTIFY_SOCKET as systemd provides it: an AF_UNIX datagram socket."""

    def __init__(self, directory):
        self.path = str(Path(directory) / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (time, {key: value}, ports reachable at that moment)
        self.on_message = None
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            fields = dict(l.split("=", 1) for l in data.decode().splitlines() if "=" in l)
            extra = self.on_message(fields) if self.on_message else None
            with self.lock:
                self.messages.append((time.time(), fields, extra))

    def keys(self):
        with self.lock:
            return [m[1] for m in self.messages]

    def wait_for(self, key, count=1, timeout=30):
        assert wait_until(lambda: sum(1 for m in self.keys() if key in m) >= count, timeout), \
            self.keys()

    def close(self):
        self.sock.close()


def reachable(ports):
    ok = []
    for p in ports:
        try:
            socket.create_connection(("127.0.0.1", p), 1).close()
            ok.append(True)
        except OSError:
            ok.append(False)
    return ok


def test_sd_notify_ready_reloading_stopping(tmp_path, sink):
    notify = NotifySocket(tmp_path)
    relay = Relay(tmp_path, smarthost_port=sink.port, env={"NOTIFY_SOCKET": notify.path})
    ports = list(relay.ports.values())
    # At the moment READY=1 arrives every listener must already accept.
    notify.on_message = lambda f: reachable(ports) if f.get("READY") == "1" else None
    try:
        relay.start()
        notify.wait_for("READY")
        first = [m for m in notify.messages if m[1].get("READY") == "1"][0]
        assert first[2] == [True] * len(ports), first

        relay.signal(signal.SIGHUP)
        notify.wait_for("READY", count=2)
        keys = notify.keys()
        reloading = next(i for i, k in enumerate(keys) if k.get("RELOADING") == "1")
        assert int(keys[reloading]["MONOTONIC_USEC"]) > 0
        assert any(k.get("READY") == "1" for k in keys[reloading + 1:])

        relay.signal(signal.SIGTERM)
        notify.wait_for("STOPPING")
        assert relay.proc.wait(timeout=30) == 0
        relay.proc = None
        relay.stderr_file.close()
    finally:
        if relay.proc:
            relay.stop()
        notify.close()


def test_sd_notify_no_ready_when_a_listener_cannot_bind(tmp_path, sink):
    notify = NotifySocket(tmp_path)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    relay = Relay(tmp_path, smarthost_port=sink.port, env={"NOTIFY_SOCKET": notify.path})
    relay.config["listen"][2]["address"] = "127.0.0.1:%d" % blocker.getsockname()[1]
    relay.write_config()
    try:
        relay.start(wait=False)
        assert relay.proc.wait(timeout=30) == 1
        relay.proc = None
        relay.stderr_file.close()
        time.sleep(0.3)
        assert "listen.failed" in relay.log()
        assert not any("READY" in k for k in notify.keys()), notify.keys()
    finally:
        blocker.close()
        notify.close()
