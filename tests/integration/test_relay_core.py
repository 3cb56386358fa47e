"""Relay core end to end: real sealpostd, real SMTP peers, loopback only."""
import concurrent.futures
import email
import email.policy
import json
import os
import signal
import smtplib
import socket
import ssl
import time
from pathlib import Path

import pytest

from recording_sink import Sink
from sealpost_harness import Relay, TestCA, free_port, simple_message, submit

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"


def wait_until(predicate, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def strip_our_received(raw):
    """The relay's only change to a plain message is its own Received line on top."""
    assert raw.startswith(b"Received: from "), raw[:200]
    head, _, rest = raw.partition(b"\r\n")
    while rest.startswith((b" ", b"\t")):  # folded continuation lines
        _, _, rest = rest.partition(b"\r\n")
    return head, rest


@pytest.fixture
def sink(tmp_path):
    with Sink(tmp_path / "sink") as s:
        yield s


@pytest.fixture
def relay(tmp_path, sink):
    r = Relay(tmp_path, smarthost_port=sink.port)
    r.add_user(USER, PASSWORD, [ADDR])
    r.start()
    yield r
    r.stop()


def test_starttls_submission_delivered_byte_for_byte(relay, sink):
    msg = simple_message(ADDR, ["x@sink.example"], "Laborwerte", "Grüße\r\n.leading dot\r\n")
    code, text = submit(relay.port("submission"), ADDR, ["x@sink.example"], msg,
                        auth=(USER, PASSWORD), cafile=relay.ca.cert)
    assert code == 250 and "queued as" in text
    (meta, raw), = sink.wait_for(1)
    received, rest = strip_our_received(raw)
    assert rest == msg
    assert b"127.0.0.1" not in received and b"client.test" not in received
    assert meta["rcpt_tos"] == ["x@sink.example"] and meta["mail_from"] == ADDR


def test_implicit_tls_submission(relay, sink):
    msg = simple_message(ADDR, ["y@sink.example"])
    submit(relay.port("smtps"), ADDR, ["y@sink.example"], msg, auth=(USER, PASSWORD),
           implicit=True, cafile=relay.ca.cert)
    (_, raw), = sink.wait_for(1)
    assert strip_our_received(raw)[1] == msg


def test_hundred_messages_over_ten_connections(relay, sink):
    def worker(i):
        ctx = ssl.create_default_context(cafile=str(relay.ca.cert))
        s = smtplib.SMTP("127.0.0.1", relay.port("submission"), timeout=30)
        s.starttls(context=ctx)
        s.login(USER, PASSWORD)
        for j in range(10):
            s.sendmail(ADDR, ["p%d-%d@sink.example" % (i, j)],
                       simple_message(ADDR, ["p@sink.example"], "n%d-%d" % (i, j)))
        s.quit()

    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        list(ex.map(worker, range(10)))
    msgs = sink.wait_for(100, timeout=60)
    subjects = {email.message_from_bytes(raw)["Subject"] for _, raw in msgs}
    assert len(subjects) == 100


def test_open_relay_attempts_refused(relay, sink):
    port = relay.port("submission")
    ctx = ssl.create_default_context(cafile=str(relay.ca.cert))
    # 1. no AUTH at all
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    s.starttls(context=ctx)
    code, text = s.mail(ADDR)
    assert code == 530 and text.startswith(b"5.7.0")
    s.close()
    # 2. AUTH before TLS is not offered / refused
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    s.ehlo()
    assert "auth" not in s.esmtp_features
    code, text = s.docmd("AUTH", "PLAIN AGFubmEAY29ycmVjdCBob3JzZSBiYXR0ZXJ5")
    assert code == 538 or code == 503 or code == 530
    s.close()
    # 3. wrong password
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    s.starttls(context=ctx)
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        s.login(USER, "wrong")
    assert e.value.smtp_code == 535
    s.close()
    # 4. authenticated, but a sender the user does not own
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    s.starttls(context=ctx)
    s.login(USER, PASSWORD)
    code, text = s.mail("chef@praxis.example")
    assert code == 550 and text.startswith(b"5.7.1")
    s.close()
    time.sleep(0.5)
    assert sink.messages() == []


def test_filter_port_refuses_untrusted_networks(tmp_path, sink):
    r = Relay(tmp_path, smarthost_port=sink.port)
    # Only 10.0.0.0/8 may use the filter port: loopback is now "outside".
    r.config["listen"][2]["trusted_networks"] = ["10.0.0.0/8"]
    r.write_config()
    with r:
        s = socket.create_connection(("127.0.0.1", r.port("filter")), 5)
        banner = s.recv(512)
        assert banner.startswith(b"554 5.7.1") or banner.startswith(b"421")
        s.close()
    assert sink.messages() == []


def _raw_session(port, lines, read_timeout=3.0):
    """Sends raw bytes on the filter port and returns everything the server said."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(read_timeout)
    out = s.recv(512)
    s.sendall(lines)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    s.close()
    return out


def test_smuggling_bare_lf_dot_creates_no_second_message(relay, sink):
    smuggled = (b"EHLO attacker\r\nMAIL FROM:<a@sink.example>\r\nRCPT TO:<v@sink.example>\r\nDATA\r\n"
                b"Subject: first\r\n\r\nbody\n.\nMAIL FROM:<evil@sink.example>\r\n"
                b"RCPT TO:<victim@sink.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\nQUIT\r\n")
    out = _raw_session(relay.port("filter"), smuggled)
    assert b"550 5.6" in out or b"500 5.5" in out, out
    time.sleep(1.0)
    for _, raw in sink.messages():
        assert b"smuggled" not in raw
    assert len(sink.messages()) == 0


def _read_until_closed(s):
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def test_starttls_with_pipelined_bytes_drops_connection(relay):
    """CVE-2011-0411 style injection: a command sent in the same packet as
    STARTTLS must never run, neither before nor after the TLS handshake. The
    relay refuses the STARTTLS itself with 421 and closes."""
    s = socket.create_connection(("127.0.0.1", relay.port("submission")), 5)
    s.settimeout(5)
    assert s.recv(512).startswith(b"220 ")
    s.sendall(b"EHLO x\r\n")
    time.sleep(0.3)
    assert b"STARTTLS" in s.recv(4096)
    s.sendall(b"STARTTLS\r\nMAIL FROM:<anna@praxis.example>\r\n")
    data = _read_until_closed(s)
    s.close()
    assert data.startswith(b"421 4.7.0"), data
    assert b"220 2.0.0" not in data and b"250" not in data, data
    assert "starttls_pipelining" in relay.log()

    # Control: the same bytes without the injected command get a TLS session.
    s = socket.create_connection(("127.0.0.1", relay.port("submission")), 5)
    s.settimeout(5)
    s.recv(512)
    s.sendall(b"EHLO x\r\n")
    time.sleep(0.3)
    s.recv(4096)
    s.sendall(b"STARTTLS\r\n")
    assert s.recv(512).startswith(b"220 2.0.0")
    s.close()


def test_smarthost_down_then_up(tmp_path):
    port = free_port()
    r = Relay(tmp_path, smarthost_port=port)
    r.add_user(USER, PASSWORD, [ADDR])
    with r:
        submit(r.port("submission"), ADDR, ["late@sink.example"], simple_message(ADDR, ["late@sink.example"]),
               auth=(USER, PASSWORD), cafile=r.ca.cert)
        time.sleep(1.5)  # first attempt fails: nobody listens
        listing = r.cli("queue", "list", "--json").stdout
        assert "late@sink.example" in listing
        with Sink(tmp_path / "sink", port=port) as sink:
            (meta, _), = sink.wait_for(1, timeout=30)
            assert meta["rcpt_tos"] == ["late@sink.example"]
    assert "delivery" in r.log()


def test_smarthost_5xx_returns_dsn_to_sender(tmp_path):
    with Sink(tmp_path / "sink", reject={"gone@sink.example": "550 5.1.1 No such user"}) as sink:
        r = Relay(tmp_path, smarthost_port=sink.port)
        r.add_user(USER, PASSWORD, [ADDR])
        with r:
            msg = simple_message(ADDR, ["gone@sink.example"], "Geheimer Befund", "SECRET-BODY\r\n")
            submit(r.port("submission"), ADDR, ["gone@sink.example"], msg, auth=(USER, PASSWORD),
                   cafile=r.ca.cert)
            (meta, raw), = sink.wait_for(1, timeout=30)
    assert meta["mail_from"] in ("", "<>") and meta["rcpt_tos"] == [ADDR]
    dsn = email.message_from_bytes(raw, policy=email.policy.default)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert b"SECRET-BODY" not in raw
    assert b"gone@sink.example" in raw and b"5.1.1" in raw


def test_wrong_smarthost_certificate_defers(tmp_path):
    good_ca = TestCA(tmp_path / "good-ca", "Good CA")
    rogue_ca = TestCA(tmp_path / "rogue-ca", "Rogue CA")
    cert, key = rogue_ca.server_cert("localhost")
    with Sink(tmp_path / "sink", tls_cert=cert, tls_key=key, implicit_tls=True) as sink:
        r = Relay(tmp_path, smarthost_port=sink.port, smarthost_tls="implicit",
                  smarthost_ca=good_ca.cert)
        r.add_user(USER, PASSWORD, [ADDR])
        with r:
            submit(r.port("submission"), ADDR, ["v@sink.example"], simple_message(ADDR, ["v@sink.example"]),
                   auth=(USER, PASSWORD), cafile=r.ca.cert)
            time.sleep(3)
            assert sink.messages() == []
            assert "v@sink.example" in r.cli("queue", "list").stdout
        assert "verif" in r.log().lower()


def test_smarthost_offering_only_tls11_defers(tmp_path):
    """A smarthost stuck at TLS 1.0/1.1 gets no mail: deferred, never bounced.
    STARTTLS here (aiosmtpd's start-up probe cannot speak TLS 1.1 for an implicit-TLS
    sink); implicit TLS is covered by delivery_tests against smtp_peer.py --tls11."""
    ca = TestCA(tmp_path / "sh-ca", "Smarthost CA")
    cert, key = ca.server_cert("localhost")
    with Sink(tmp_path / "sink", tls_cert=cert, tls_key=key,
              tls_max_version=ssl.TLSVersion.TLSv1_1) as sink:
        r = Relay(tmp_path, smarthost_port=sink.port, smarthost_tls="starttls", smarthost_ca=ca.cert)
        r.add_user(USER, PASSWORD, [ADDR])
        with r:
            submit(r.port("submission"), ADDR, ["old@sink.example"],
                   simple_message(ADDR, ["old@sink.example"]), auth=(USER, PASSWORD),
                   cafile=r.ca.cert)
            deadline = time.time() + 30
            while "delivery.smarthost_failed" not in r.log() and time.time() < deadline:
                time.sleep(0.2)
            queued = json.loads(r.cli("queue", "list", "--json").stdout)
            assert sink.messages() == []  # neither the message nor a bounce
        log = r.log()
    assert "old@sink.example" in json.dumps(queued)
    assert "result=deferred" in log and "result=failed" not in log
    assert "server negotiated TLS1.1" in log and "TLS 1.2 or newer is required" in log


def test_verified_tls_smarthost_delivers(tmp_path):
    ca = TestCA(tmp_path / "sh-ca", "Smarthost CA")
    cert, key = ca.server_cert("localhost")
    with Sink(tmp_path / "sink", tls_cert=cert, tls_key=key, implicit_tls=True) as sink:
        r = Relay(tmp_path, smarthost_port=sink.port, smarthost_tls="implicit", smarthost_ca=ca.cert)
        r.add_user(USER, PASSWORD, [ADDR])
        with r:
            submit(r.port("submission"), ADDR, ["v@sink.example"], simple_message(ADDR, ["v@sink.example"]),
                   auth=(USER, PASSWORD), cafile=r.ca.cert)
            (meta, _), = sink.wait_for(1, timeout=30)
            assert meta["tls"] is True


def test_kill9_during_burst_loses_nothing(tmp_path):
    port = free_port()
    r = Relay(tmp_path, smarthost_port=port)
    r.start()
    accepted = []
    with Sink(tmp_path / "sink", port=port) as sink:
        def burst(i):
            got = []
            for j in range(15):
                subj = "burst-%d-%d" % (i, j)
                try:
                    s = smtplib.SMTP("127.0.0.1", r.port("filter"), timeout=10)
                    s.sendmail("a@sink.example", ["b@sink.example"], simple_message("a@sink.example", ["b@sink.example"], subj))
                    s.quit()
                    got.append(subj)
                except (smtplib.SMTPException, OSError):
                    return got
            return got

        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            futs = [ex.submit(burst, i) for i in range(4)]
            time.sleep(0.4)
            r.proc.send_signal(signal.SIGKILL)
            for f in futs:
                accepted += f.result()
        r.proc.wait()
        r.stderr_file.close()
        r.proc = None
        r.start()
        delivered = set()
        deadline = time.time() + 60
        while time.time() < deadline and not set(accepted) <= delivered:
            delivered = {email.message_from_bytes(raw)["Subject"] for _, raw in sink.messages()}
            time.sleep(0.2)
        r.stop()
    assert accepted, "no message was accepted before the kill"
    assert set(accepted) <= delivered


def test_filter_only_relay_needs_no_users_file(tmp_path, sink):
    """A Postfix content filter has no staff accounts: check-config accepts a
    config without `users:`, and sealpostd must start on it too."""
    r = Relay(tmp_path, smarthost_port=sink.port)
    r.config["listen"] = [l for l in r.config["listen"] if l["mode"] == "filter"]
    del r.config["users"]
    r.ports = {"filter": r.ports["filter"]}
    r.write_config()
    assert r.cli("check-config").returncode == 0
    with r:
        msg = simple_message("lab@praxis.example", ["ok@sink.example"], "filter-only")
        assert submit(r.port("filter"), "lab@praxis.example", ["ok@sink.example"], msg,
                      starttls=False)[0] == 250
        sink.wait_for(1)


def test_check_config_catches_what_the_daemon_would_refuse(tmp_path):
    """Sections read by other modules (audit, metrics) and the pickup notice
    templates are checked too, with exit 1 and the reason."""
    r = Relay(tmp_path, smarthost_port=9)
    assert r.cli("check-config").stdout.strip() == "config OK"
    r.config["audit"] = {"retention": "banana"}
    r.write_config()
    bad = r.cli("check-config", check=False)
    assert bad.returncode == 1 and "retention" in bad.stderr, bad
    del r.config["audit"]
    r.config["metrics"] = {"listen": "0.0.0.0:notaport"}
    r.write_config()
    bad = r.cli("check-config", check=False)
    assert bad.returncode == 1 and "metrics" in bad.stderr, bad
    del r.config["metrics"]

    # A pickup policy whose notice template is broken (unknown placeholder),
    # and sms pickups without an SMS gateway: refused, and warned about.
    templates = tmp_path / "templates"
    templates.mkdir()
    for lang in ("de", "en"):
        (templates / ("notice.%s.txt" % lang)).write_text("Subject: x\n\nHallo {{no_such_field}}\n")
    r.config["portal"] = {"public_url": "https://pickup.praxis.example",
                          "templates": str(templates)}
    r.write_policy({"defaults": {"methods": ["pickup"], "pickup": {"auth": "sms"}}})
    r.write_config()
    bad = r.cli("check-config", check=False)
    assert bad.returncode == 1 and "pickup notice" in bad.stderr, bad
    r.config["portal"]["templates"] = str(Path(__file__).resolve().parents[2] / "conf" / "templates")
    r.write_config()
    warned = r.cli("check-config", check=False)
    assert warned.returncode == 0 and "sms_command" in warned.stderr, warned


def test_policy_explain_defers_like_the_daemon_when_the_keystore_fails(tmp_path):
    """A broken keystore (here a missing trust anchor) makes sealpostd defer
    every recipient; `policy explain` must say so instead of showing pickup."""
    r = Relay(tmp_path, smarthost_port=9, config_overrides={
        "keystore": {"trust_anchors": [str(tmp_path / "missing.pem")]},
        "portal": {"public_url": "https://pickup.praxis.example"}})
    out = json.loads(r.cli("--json", "policy", "explain", "--from", ADDR,
                           "--to", "pat@example.org").stdout)
    rp = out["recipients"][0]
    assert rp["method"] == "defer", rp
    assert any("keystore error" in why for why in rp["reasons"])


def scrape(port):
    """The /metrics endpoint as {series: value}."""
    import urllib.request
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_after_delivered_deferred_and_bounced(tmp_path):
    """The counters an admin alerts on move with what happened: one message
    delivered, one deferred (4xx), one bounced (5xx, its DSN delivered), one
    failed inbound TLS handshake; the deferred one shows as the queue's age."""
    metrics_port = free_port()
    reject = {"soft@sink.example": "450 4.2.0 Mailbox busy", "gone@sink.example": "550 5.1.1 No such user"}
    with Sink(tmp_path / "sink", reject=reject) as sink:
        r = Relay(tmp_path, smarthost_port=sink.port, config_overrides={
            "metrics": {"listen": "127.0.0.1:%d" % metrics_port},
            "queue": {"retry_schedule": ["10m"]}})
        r.add_user(USER, PASSWORD, [ADDR])
        with r:
            for rcpt in ("ok@sink.example", "soft@sink.example", "gone@sink.example"):
                submit(r.port("submission"), ADDR, [rcpt], simple_message(ADDR, [rcpt], rcpt),
                       auth=(USER, PASSWORD), cafile=r.ca.cert)
            # Not TLS on the implicit-TLS port: a failed inbound handshake.
            s = socket.create_connection(("127.0.0.1", r.port("smtps")), 5)
            s.sendall(b"EHLO plaintext.test\r\n")
            s.settimeout(5)
            try:
                s.recv(100)
            except OSError:
                pass
            s.close()
            sink.wait_for(2, timeout=30)  # ok@ and the DSN for gone@

            def settled():
                m = scrape(metrics_port)
                return m if (m.get("sealpost_bounces_total") == 1
                             and m.get("sealpost_deferrals_total", 0) >= 1
                             and m.get("sealpost_queue_oldest_seconds", 0) > 0) else None
            # The queue is sampled every 15 s on its own thread.
            m = wait_until(settled, 40) or scrape(metrics_port)
            assert m["sealpost_messages_received_total"] == 3, m
            assert m['sealpost_messages_delivered_total{method="plain"}'] == 1, m
            assert m['sealpost_messages_delivered_total{method="dsn"}'] == 1, m
            assert m["sealpost_deferrals_total"] >= 1, m
            assert m["sealpost_bounces_total"] == 1, m
            # Accepted -> delivered, per delivered recipient (our own DSN excluded).
            assert m["sealpost_delivery_latency_seconds_count"] == 1, m
            assert 0 < m["sealpost_delivery_latency_seconds_sum"] < 60, m
            assert m["sealpost_tls_failures_total"] >= 1, m
            assert m["sealpost_queue_size"] == 1, m  # soft@ waits for its retry
            assert m["sealpost_queue_oldest_seconds"] > 0, m
