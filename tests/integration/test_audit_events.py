"""The audit record a real sealpostd writes (issue 7, docs/audit.md): for a
PGP, an S/MIME and a refused plain recipient of one message, the decision,
scrub and delivery events carry what an auditor needs -- key fingerprint or
certificate serial and where it came from, the cipher, the scrub counts, the
remote reply -- and nothing of the message itself."""
import json
import re
import subprocess
import time

import pytest

from recording_sink import Sink
from sealpost_harness import GpgHome, Relay, TestCA, run, submit

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"
PGP_RCPT, SMIME_RCPT, GONE_RCPT = "pat@example.org", "labor@lab.example", "weg@praxis.example"
SUBJECT = "Befund Meier 4711"
SECRET = "TSH-Wert unauffaellig"

POLICY = {
    "defaults": {"methods": ["pgp", "smime"], "sign": False},
    "rules": [
        {"name": "internal", "match": {"recipient_domain": "praxis.example"}, "methods": ["plain"]},
        {"name": "labs", "match": {"recipient_domain": "lab.example"}, "methods": ["smime"],
         "smime_cipher": "aes256-gcm"},
        {"name": "patients", "match": {"recipient_domain": "example.org"}, "methods": ["pgp"]},
    ],
}


def outlook_message(rcpts):
    html = ('<html><body><p>%s</p><img src="https://tracker.example/p.gif" alt="logo">'
            '<img src="http://tracker.example/q.gif"></body></html>' % SECRET)
    return ("Received: from WS-042.praxis.local (192.168.10.42) by mail.praxis.local\r\n"
            "From: Anna Arzt <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0100\r\nMessage-ID: <m1@praxis.example>\r\n"
            "X-Mailer: Microsoft Outlook 16.0\r\nX-Originating-IP: [192.168.10.42]\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
            "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n%s\r\n--b1--\r\n"
            % (ADDR, ", ".join(rcpts), SUBJECT, SECRET, html)).encode()


def audit_events(relay):
    events = []
    for f in sorted((relay.state_dir / "audit").glob("audit-*.jsonl")):
        events += [json.loads(line) for line in f.read_text().splitlines()]
    return events


def wait_for_events(relay, predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        events = audit_events(relay)
        if predicate(events):
            return events
        time.sleep(0.2)
    raise AssertionError("audit events missing:\n" + "\n".join(map(json.dumps, audit_events(relay))))


def summary_counts(summary):
    """"headers_removed=4 html_remote_removed=2 ..." -> {name: int or str}."""
    pairs = dict(item.split("=", 1) for item in summary.split())
    return {k: int(v) if v.isdigit() else v for k, v in pairs.items()}


@pytest.fixture
def setup(tmp_path):
    patient = GpgHome(tmp_path / "patient")
    fpr = patient.gen_key(PGP_RCPT, "Paula Patient")
    key = patient.export(PGP_RCPT, tmp_path / "pat.asc")
    ca = TestCA(tmp_path / "smime-ca", "Test SMIME CA")
    lab_cert, _, _ = ca.smime_cert(SMIME_RCPT)
    serial = run(["openssl", "x509", "-noout", "-serial", "-in", lab_cert]).stdout.decode()
    serial = serial.strip().split("=", 1)[1].lower().lstrip("0")
    with Sink(tmp_path / "sink", reject={GONE_RCPT: "550 5.1.1 <weg@praxis.example>: no such user"}) \
            as sink:
        relay = Relay(tmp_path, smarthost_port=sink.port, policy=POLICY,
                      config_overrides={"keystore": {"trust_anchors": [str(ca.cert)]}})
        relay.add_user(USER, PASSWORD, [ADDR])
        relay.cli("keys", "import", key, lab_cert)
        with relay:
            yield relay, sink, fpr, serial
    for home in (patient.dir, relay.state_dir / "gnupg"):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)


def test_decision_scrub_and_delivery_events_of_a_pgp_an_smime_and_a_refused_send(setup):
    relay, sink, fpr, serial = setup
    rcpts = [PGP_RCPT, SMIME_RCPT, GONE_RCPT]
    code, _ = submit(relay.port("submission"), ADDR, rcpts, outlook_message(rcpts),
                     auth=(USER, PASSWORD), cafile=relay.ca.cert)
    assert code == 250

    def settled(events):
        done = {e["fields"].get("recipient") for e in events
                if e["type"] == "delivery" and e["fields"]["result"] in ("delivered", "failed")}
        return set(rcpts) <= done
    events = wait_for_events(relay, settled)
    for e in events:
        assert "dropped" not in e["fields"], e  # no field name the writer had to refuse
    text = "\n".join(json.dumps(e, ensure_ascii=False) for e in events)
    for leak in (SUBJECT, SECRET, "WS-042", "192.168.10.42", "tracker.example"):
        assert leak not in text, leak

    decisions = {e["fields"]["recipient"]: e["fields"] for e in events if e["type"] == "decision"}
    queue_id = decisions[PGP_RCPT]["queue_id"]
    assert re.fullmatch(r"[0-9a-z]{8,}", queue_id)

    pgp = decisions[PGP_RCPT]
    assert (pgp["method"], pgp["rule"], pgp["sender"]) == ("pgp", "patients", ADDR)
    assert pgp["key"] == fpr and pgp["source"] == "imported" and pgp["cipher"] == "openpgp"
    assert "cert_serial" not in pgp

    smime = decisions[SMIME_RCPT]
    assert (smime["method"], smime["rule"], smime["queue_id"]) == ("smime", "labs", queue_id)
    assert smime["cert_serial"].lower().lstrip("0") == serial
    assert smime["source"] == "imported" and smime["cipher"] == "aes256-gcm"
    assert "key" not in smime

    gone = decisions[GONE_RCPT]
    assert (gone["method"], gone["rule"]) == ("plain", "internal")
    assert "key" not in gone and "cert_serial" not in gone and "cipher" not in gone

    # One scrub record per group sealed together; counts, never values.
    scrubs = {e["fields"]["recipients"]: e["fields"] for e in events if e["type"] == "scrub"}
    assert set(scrubs) == set(rcpts), scrubs
    for rcpt, s in scrubs.items():
        assert s["queue_id"] == queue_id and s["profile"] == "standard"
        counts = summary_counts(s["summary"])
        assert counts["html_remote_removed"] == 2, (rcpt, counts)
        assert counts["headers_removed"] >= 2, (rcpt, counts)  # X-Mailer, X-Originating-IP
        assert counts["message_id_rewritten"] in (0, 1) and counts["held"] == 0

    deliveries = {e["fields"]["recipient"]: e["fields"] for e in events if e["type"] == "delivery"}
    for rcpt, method in ((PGP_RCPT, "pgp"), (SMIME_RCPT, "smime")):
        d = deliveries[rcpt]
        assert (d["queue_id"], d["method"], d["result"]) == (queue_id, method, "delivered")
        assert d["status"] == "2.0.0" and re.match(r"250 2\.0\.0 ", d["reply"]), d
    refused = deliveries[GONE_RCPT]
    assert (refused["method"], refused["result"], refused["status"]) == ("plain", "failed", "5.1.1")
    assert refused["reply"] == "550 5.1.1 <weg@praxis.example>: no such user"

    # The report reads the same events.
    rep = json.loads(relay.cli("audit", "report", "--format", "json").stdout)
    assert rep["decisions_by_method"] == {"pgp": 1, "plain": 1, "smime": 1}
    assert rep["plaintext"] == []
    assert [(p["recipient"], p["result"]) for p in rep["plaintext_not_delivered"]] == \
        [(GONE_RCPT, "failed")]
    assert [f["reply"] for f in rep["failures"]] == [refused["reply"]]
    assert relay.cli("audit", "verify").returncode == 0
