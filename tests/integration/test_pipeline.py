"""The whole pipeline in the real daemon: SMTP in -> spool -> policy -> scrub ->
seal / pickup -> smarthost, with the audit record and metrics that go with it.
Outputs are opened with independent tools (gpg) in their own homes."""
import email
import email.policy
import json
import signal
import subprocess
import time
import urllib.request

import pytest

from recording_sink import Sink
from sealpost_harness import GpgHome, Relay, TestCA, free_port, run, submit

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"

POLICY = {
    "defaults": {"methods": ["pgp", "smime", "pickup"], "sign": False,
                 "pickup": {"auth": "code-to-sender", "expires": "7d"}},
    "rules": [
        {"name": "internal", "match": {"recipient_domain": "praxis.example"}, "methods": ["plain"]},
        {"name": "labs-forbidden", "match": {"recipient_domain": "blocked.example"},
         "methods": ["reject"], "reject_text": "Dieses Labor nimmt keine E-Mail an."},
        {"name": "consent-needed", "match": {"recipient_domain": "example.net"},
         "require_consent": True, "methods": ["pgp", "pickup"]},
        {"name": "secure-tag", "match": {"subject_tag": "[secure]"}, "methods": ["pgp"]},
    ],
}


def outlook_message(to, subject="Befund Meier", body="Ihr Befund ist unauffällig.\r\n"):
    return ("Received: from WS-042.praxis.local (192.168.10.42) by mail.praxis.local\r\n"
            "From: Anna Arzt <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0100\r\n"
            "Message-ID: <AM0PR01MB1234@WS-042.praxis.local>\r\n"
            "X-Mailer: Microsoft Outlook 16.0\r\nX-Originating-IP: [192.168.10.42]\r\n"
            "Disposition-Notification-To: %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n%s" % (ADDR, to, subject, ADDR, body)).encode()


@pytest.fixture
def env(tmp_path):
    patient = GpgHome(tmp_path / "patient")
    patient.gen_key("pat@example.org", "Paula Patient")
    key = patient.export("pat@example.org", tmp_path / "pat.asc")
    ca = TestCA(tmp_path / "smime-ca", "Test SMIME CA")
    lab_cert, lab_key, _ = ca.smime_cert("labor@lab.example")
    with Sink(tmp_path / "sink") as sink:
        metrics_port = free_port()
        relay = Relay(tmp_path, smarthost_port=sink.port, policy=POLICY, config_overrides={
            "portal": {"public_url": "http://127.0.0.1:%d" % free_port()},
            "metrics": {"listen": "127.0.0.1:%d" % metrics_port},
            "keystore": {"trust_anchors": [str(ca.cert)]},
        })
        relay.add_user(USER, PASSWORD, [ADDR])
        relay.cli("keys", "import", key, lab_cert)
        relay.metrics_port = metrics_port
        relay.lab = (lab_cert, lab_key)
        with relay:
            yield relay, sink, patient
    for home in (patient.dir, relay.state_dir / "gnupg"):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)


def send(relay, rcpts, message):
    code, text = submit(relay.port("submission"), ADDR, rcpts, message, auth=(USER, PASSWORD),
                        cafile=relay.ca.cert)
    assert code == 250, text


def decrypt(patient, raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/encrypted"
    armored = msg.get_payload()[1].get_payload(decode=True)
    return patient.gpg("--decrypt", input=armored).stdout


def test_pgp_recipient_gets_scrubbed_encrypted_mail_and_audit_records_it(env):
    relay, sink, patient = env
    send(relay, ["pat@example.org"], outlook_message("pat@example.org"))
    (meta, raw), = sink.wait_for(1, timeout=30)
    assert meta["rcpt_tos"] == ["pat@example.org"]
    # Our minimal Received line on top, the workstation's gone, no tracking headers.
    assert raw.startswith(b"Received: from submission by relay.praxis.example (Sealpost)")
    for leak in (b"WS-042", b"192.168.10.42", b"X-Mailer", b"Disposition-Notification-To",
                 b"Befund Meier", "unauffällig".encode()):
        assert leak not in raw, leak
    inner = decrypt(patient, raw)
    assert "unauffällig".encode() in inner and b"Befund Meier" in inner
    assert b"WS-042" not in inner and b"X-Mailer" not in inner

    assert relay.cli("audit", "verify").returncode == 0
    report = json.loads(relay.cli("audit", "report", "--format", "json").stdout)
    assert report["decisions_by_method"].get("pgp") == 1
    audit_files = sorted((relay.state_dir / "audit").glob("audit-*.jsonl"))
    audit_text = "".join(p.read_text() for p in audit_files)
    assert '"type":"decision"' in audit_text and "pat@example.org" in audit_text  # read the real log
    assert "Befund Meier" not in audit_text and "unauffällig" not in audit_text


def test_mixed_recipients_split_per_method_bcc_hidden(env, tmp_path):
    relay, sink, patient = env
    # The same message to four recipients: PGP key, S/MIME certificate, no key
    # (pickup), internal (plain) -- plus the internal one only as Bcc.
    msg = outlook_message("pat@example.org, labor@lab.example, nokey@example.org")
    send(relay, ["pat@example.org", "labor@lab.example", "nokey@example.org",
                 "kollege@praxis.example"], msg)
    by_rcpt = {tuple(m["rcpt_tos"]): raw for m, raw in sink.wait_for(4, timeout=30)}
    assert set(by_rcpt) == {("pat@example.org",), ("labor@lab.example",),
                            ("nokey@example.org",), ("kollege@praxis.example",)}
    notice = email.message_from_bytes(by_rcpt[("nokey@example.org",)], policy=email.policy.default)
    notice_text = notice.get_body(("plain",)).get_content()  # decoded: a leak cannot hide in base64
    assert "/p/" in notice_text and "unauffällig" not in notice_text
    # S/MIME for the lab, opened by openssl with the lab's key.
    smime = by_rcpt[("labor@lab.example",)]
    head = email.message_from_bytes(smime, policy=email.policy.default)
    assert head.get_content_type() == "application/pkcs7-mime"
    assert "unauffällig".encode() not in smime
    (tmp_path / "lab.eml").write_bytes(smime)
    lab_cert, lab_key = relay.lab
    inner = run(["openssl", "cms", "-decrypt", "-in", tmp_path / "lab.eml", "-recip", lab_cert,
                 "-inkey", lab_key]).stdout
    assert "unauffällig".encode() in inner and b"WS-042" not in inner
    # PGP for the patient; the internal colleague's plain copy is scrubbed too.
    assert "unauffällig".encode() in decrypt(patient, by_rcpt[("pat@example.org",)])
    plain = by_rcpt[("kollege@praxis.example",)]
    assert b"X-Mailer" not in plain and b"192.168.10.42" not in plain
    # The Bcc'd colleague is named in no copy.
    for raw in by_rcpt.values():
        assert b"kollege@praxis.example" not in raw.split(b"\r\n\r\n", 1)[0]


def test_recipient_without_key_gets_a_pickup_notice(env):
    relay, sink, _ = env
    send(relay, ["nokey@example.org"], outlook_message("nokey@example.org", "Laborwerte Schmidt"))
    (meta, raw), = sink.wait_for(1, timeout=30)
    assert meta["rcpt_tos"] == ["nokey@example.org"]
    notice = email.message_from_bytes(raw, policy=email.policy.default)
    text = notice.get_body(("plain",)).get_content()
    public_url = relay.config["portal"]["public_url"]
    assert public_url + "/p/" in text
    for leak in ("Laborwerte Schmidt", "unauffällig"):
        assert leak not in text and leak not in raw.decode(errors="replace")
    listed = json.loads(relay.cli("--json", "pickup", "list").stdout)
    entries = listed if isinstance(listed, list) else listed.get("pickups", listed)
    assert [p["recipient"] for p in entries] == ["nokey@example.org"]
    # The stored message is encrypted: the body is nowhere on disk in clear.
    for f in (relay.state_dir / "pickup").rglob("*"):
        if f.is_file():
            assert "unauffällig".encode() not in f.read_bytes(), f


def dsn_for(sink, count):
    for meta, raw in sink.wait_for(count, timeout=30):
        if meta["mail_from"] in ("", "<>"):
            return email.message_from_bytes(raw, policy=email.policy.default)
    raise AssertionError("no DSN arrived")


def test_policy_reject_bounces_with_the_admins_text(env):
    relay, sink, _ = env
    send(relay, ["lab@blocked.example"], outlook_message("lab@blocked.example"))
    dsn = dsn_for(sink, 1)
    assert dsn.get_content_type() == "multipart/report"
    text = dsn.as_string()
    assert "5.7.1" in text and "Dieses Labor nimmt keine E-Mail an." in text
    assert sink.messages()[0][0]["rcpt_tos"] == [ADDR]


def test_missing_consent_bounces_and_granted_consent_delivers(env):
    relay, sink, _ = env
    send(relay, ["max@example.net"], outlook_message("max@example.net"))
    dsn = dsn_for(sink, 1)
    assert "consent" in dsn.as_string().lower()

    relay.cli("consent", "add", "max@example.net")
    send(relay, ["max@example.net"], outlook_message("max@example.net"))
    msgs = sink.wait_for(2, timeout=30)
    assert msgs[1][0]["rcpt_tos"] == ["max@example.net"]  # a pickup notice now


def test_subject_tag_is_removed_before_sealing(env):
    relay, sink, patient = env
    send(relay, ["pat@example.org"], outlook_message("pat@example.org", "[secure] Befund Meier"))
    (_, raw), = sink.wait_for(1, timeout=30)
    inner = decrypt(patient, raw)
    assert b"Befund Meier" in inner and b"[secure]" not in inner


def test_sighup_with_a_broken_policy_keeps_the_old_one(env):
    relay, sink, _ = env
    relay.policy_path.write_text("rules:\n  - name: x\n    methods: [teleport]\n")
    relay.signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "reload.policy_refused" not in relay.log() and time.time() < deadline:
        time.sleep(0.1)
    assert "reload.policy_refused" in relay.log()
    assert "policy.yaml:2" in relay.log()  # file:line of the broken rule
    # Still the old policy: internal mail goes out plain.
    send(relay, ["kollege@praxis.example"], outlook_message("kollege@praxis.example"))
    (meta, raw), = sink.wait_for(1, timeout=30)
    assert meta["rcpt_tos"] == ["kollege@praxis.example"]
    assert "unauffällig".encode() in raw and b"X-Mailer" not in raw


def test_metrics_count_what_happened(env):
    relay, sink, _ = env
    send(relay, ["kollege@praxis.example"], outlook_message("kollege@praxis.example"))
    sink.wait_for(1, timeout=30)
    url = "http://127.0.0.1:%d/metrics" % relay.metrics_port
    deadline = time.time() + 10
    while True:
        body = urllib.request.urlopen(url, timeout=5).read().decode()
        if 'sealpost_messages_delivered_total{method="plain"} 1' in body or time.time() > deadline:
            break
        time.sleep(0.2)
    assert "sealpost_messages_received_total 1" in body
    assert 'sealpost_messages_delivered_total{method="plain"} 1' in body
    health = urllib.request.urlopen("http://127.0.0.1:%d/health" % relay.metrics_port, timeout=5)
    assert health.status == 200


def test_attachments_are_scrubbed_in_the_relay(env, tmp_path):
    """GPS in a photo and the author of a PDF never leave, whatever the method."""
    from email.mime.application import MIMEApplication
    from email.mime.image import MIMEImage
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from test_scrub import exiftool, idat, pdf_with_author, png_bytes, png_with_gps

    relay, sink, patient = env
    msg = MIMEMultipart()
    msg["From"], msg["To"], msg["Subject"] = ADDR, "pat@example.org", "Fotos"
    msg.attach(MIMEText("Fotos der Wunde anbei"))
    msg.attach(MIMEImage(png_with_gps(tmp_path), "png"))
    msg.attach(MIMEApplication(pdf_with_author(), "pdf"))
    send(relay, ["pat@example.org"], msg.as_bytes(policy=email.policy.SMTP))
    (_, raw), = sink.wait_for(1, timeout=30)
    inner = email.message_from_bytes(decrypt(patient, raw), policy=email.policy.default)
    parts = [p for p in inner.walk() if not p.is_multipart()]
    png = next(p for p in parts if p.get_content_type() == "image/png").get_content()
    pdf = next(p for p in parts if p.get_content_type() == "application/pdf").get_content()
    (tmp_path / "out.png").write_bytes(png)
    tags = exiftool(tmp_path / "out.png")
    assert not any(t.startswith("GPS") for t in tags) and "Artist" not in tags, tags
    assert idat(png) == idat(png_bytes(7, 5))  # same pixels
    (tmp_path / "out.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "out.pdf")], capture_output=True,
                          text=True, check=True).stdout
    assert "Dr Secret" not in info and "Pages:           1" in info
    # The audit records what was scrubbed as counts, never the values.
    audit = "".join(p.read_text() for p in (relay.state_dir / "audit").glob("*"))
    assert '"scrub"' in audit and "Dr Secret" not in audit and "48.137" not in audit
