"""Browser end-to-end test of the pickup portal: Debian's chromium driven by
npm playwright-core (tests/browser/portal_e2e.mjs). This file starts
sealpostd, sealpost-portal and a recording SMTP sink; staff submit the main
message (text + PDF) through sealpostd, the test takes the link from the
notice at the sink, the browser authenticates with the SMS code, reads,
downloads and replies, and the reply must reach the staff sender at the sink
through sealpostd. The negative cases (hostile HTML, lock, revoked, expired)
are deposited straight into the same store. Screenshots land in
<pytest tmp>/shots (and in $SEALPOST_TEST_OUTPUT/portal-browser if set).

Needs: /usr/bin/chromium, node, and `npm ci --prefix tests/browser`."""
import email
import email.policy
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from recording_sink import Sink
from sealpost_harness import (BUILD_DIR, SOURCE_DIR, Relay, fake_sms_gateway, free_port, submit,
                              wait_port)
from test_portal import PATIENT, PDF_BYTES, decoded_body, message_bytes

PORTAL = BUILD_DIR / "portal" / "sealpost-portal"
DEPOSIT = BUILD_DIR / "tests" / "unit" / "portal" / "pickup_deposit_tool"
USER, PASSWORD, SENDER = "mueller", "correct horse battery", "dr.mueller@praxis.example"
POLICY = {
    # The test PDF is not a real PDF (qpdf would refuse it): this profile lets
    # it through byte for byte so the download can be compared.
    "scrub_profiles": {"raw": {"pdf_metadata": False}},
    "defaults": {"methods": ["pgp", "smime", "pickup"], "sign": False, "scrub": "raw",
                 "pickup": {"auth": "sms", "expires": "14d"}},
    "rules": [
        {"name": "internal", "match": {"recipient_domain": "praxis.example"},
         "methods": ["plain"]},
    ],
}

BROWSER_DIR = SOURCE_DIR / "tests" / "browser"
NODE = shutil.which("node")

HOSTILE = (
    "From: dr.mueller@praxis.example\r\nTo: patient@example.org\r\nSubject: Newsletter\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<html><head><title>pwned</title><script>window.__pwned=true;alert(1)</script>"
    "<style>body{background:url(https://tracker.example/bg.gif)}</style>"
    "<link rel=stylesheet href=https://tracker.example/x.css></head>"
    "<body onload=\"window.__pwned=true\"><p>Sprechzeiten ab Montag</p>"
    "<img src=\"https://tracker.example/pixel.gif\" onerror=\"window.__pwned=true\">"
    "<p style=\"background:url(https://tracker.example/p.gif)\">Bitte Termin vereinbaren</p>"
    "<a href=\"javascript:window.__pwned=true\">klick</a>"
    "<iframe src=\"https://tracker.example/frame\"></iframe>"
    "<form action=\"https://tracker.example/phish\"><input name=pw></form>"
    "<svg><script>window.__pwned=true</script></svg></body></html>\r\n"
).encode()


def browser_available():
    return (NODE and Path("/usr/bin/chromium").exists()
            and (BROWSER_DIR / "node_modules" / "playwright-core").exists())


@pytest.mark.skipif(not browser_available(),
                    reason="needs /usr/bin/chromium, node and `npm ci --prefix tests/browser`")
def test_portal_in_chromium(tmp_path):
    number = "+4915112345678"
    sms, sms_dir = fake_sms_gateway(tmp_path)
    portal_port = free_port()
    base = "http://127.0.0.1:%d" % portal_port
    with Sink(tmp_path / "sink") as sink:
        relay = Relay(tmp_path, smarthost_port=sink.port, policy=POLICY, config_overrides={
            "portal": {"public_url": base, "listen": "127.0.0.1:%d" % portal_port,
                       "sms_command": "%s {number}" % sms, "max_attempts": 3,
                       "mail_from": "portal@praxis.example",
                       "templates": str(SOURCE_DIR / "conf" / "templates")}})
        relay.add_user(USER, PASSWORD, [SENDER])
        relay.cli("consent", "add", PATIENT, "--sms", number)
        log_path = tmp_path / "portal.log"
        log = open(log_path, "wb")
        portal = subprocess.Popen([str(PORTAL), "-c", str(relay.config_path)], stdout=log,
                                  stderr=log)
        try:
            wait_port(portal_port, proc=portal)
            with relay:
                run_browser(tmp_path, relay, sink, base, sms_dir, number, log_path)
        finally:
            portal.terminate()
            portal.wait(10)
            log.close()


def deposit(relay, base, number, message=None, expires=None):
    cmd = [DEPOSIT, "--state-dir", relay.state_dir, "--public-url", base, "--recipient", PATIENT,
           "--sender", SENDER, "--auth", "sms", "--sms-number", number]
    if expires is not None:
        cmd += ["--expires", str(expires)]
    out = subprocess.run([str(c) for c in cmd], input=message or message_bytes(),
                         capture_output=True, check=True)
    return json.loads(out.stdout)


def run_browser(tmp_path, relay, sink, base, sms_dir, number, log_path):
    # The main message goes the way staff send it: SMTP submission to sealpostd.
    code, text = submit(relay.port("submission"), SENDER, [PATIENT], message_bytes(),
                        auth=(USER, PASSWORD), cafile=relay.ca.cert)
    assert code == 250, text
    (meta, raw), = sink.wait_for(1, timeout=30)
    assert meta["rcpt_tos"] == [PATIENT]
    # Decoded first (the body is base64): headers and text carry no content.
    subject = str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
    seen = decoded_body(raw) + raw.split(b"\r\n\r\n", 1)[0] + subject.encode()
    assert b"/p/" in seen  # the check reads the real text, link included
    for leak in (b"Laborbefund", b"Befund", b"unauffaellig", b".pdf"):
        assert leak not in seen
    notice = email.message_from_bytes(raw, policy=email.policy.default)
    link = re.search(re.escape(base) + r"/p/\S+",
                     notice.get_body(("plain",)).get_content()).group(0)
    main = {"url": link}
    hostile = deposit(relay, base, number, message=HOSTILE)
    lock = deposit(relay, base, number)
    revoked = deposit(relay, base, number)
    relay.cli("pickup", "revoke", revoked["id"])
    expired = deposit(relay, base, number, expires=1)
    password_pickup = deposit(relay, base, number)
    time.sleep(1.2)
    shots = tmp_path / "shots"
    shots.mkdir()
    reply_file = tmp_path / "Überweisung.pdf"
    reply_bytes = b"%PDF-1.4 reply " + os.urandom(3000)
    reply_file.write_bytes(reply_bytes)
    scenario = {
        "base": base,
        "link": main["url"],
        "hostile_link": hostile["url"],
        "lock_link": lock["url"],
        "revoked_link": revoked["url"],
        "expired_link": expired["url"],
        "sms_file": str(sms_dir / (number + ".txt")),
        "out_dir": str(shots),
        "expect_text": "Guten Tag, anbei Ihr Laborbefund",
        "attachment_name": "Befund Müller.pdf",
        "attachment_sha256": hashlib.sha256(PDF_BYTES).hexdigest(),
        "reply_text": "Vielen Dank! Anbei die Überweisung.",
        "reply_file": str(reply_file),
        "hostile_text": "Bitte Termin vereinbaren",
        "max_attempts": 3,
        "password_link": password_pickup["url"],
        "portal_password": "Lindenallee 12, Hund Bello",
    }
    scenario_path = tmp_path / "scenario.json"
    scenario_path.write_text(json.dumps(scenario))
    proc = subprocess.run([NODE, str(BROWSER_DIR / "portal_e2e.mjs"), str(scenario_path)],
                          cwd=BROWSER_DIR, capture_output=True, text=True, timeout=300)
    out_dir = os.environ.get("SEALPOST_TEST_OUTPUT")
    if out_dir:
        shutil.copytree(shots, Path(out_dir) / "portal-browser", dirs_exist_ok=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    assert proc.returncode == 0, (result.get("error"), proc.stderr[-3000:],
                                  log_path.read_text(errors="replace")[-3000:])
    assert result["offsite_requests"] == []
    assert result["dialogs"] == []
    for name in ("01-auth.png", "02-read.png", "03-reply.png", "04-done.png", "05-hostile.png",
                 "06-locked.png", "07-revoked.png", "08-tampered.png", "09-password.png",
                 "10-password-login.png"):
        assert (shots / name).stat().st_size > 1000, name

    # The reply reached the sink through sealpostd, addressed to the staff
    # sender, attachment intact; the lock notice and the pickup receipts (the
    # main and the hostile message were opened) went to the sender too.
    msgs = sink.wait_for(6, timeout=30)
    replies = [email.message_from_bytes(raw, policy=email.policy.default)
               for meta, raw in msgs if meta["mail_from"] == PATIENT]
    assert len(replies) == 1
    reply = replies[0]
    assert str(reply["To"]) == SENDER
    assert "Vielen Dank! Anbei die Überweisung." in reply.get_body(("plain",)).get_content()
    (att,) = list(reply.iter_attachments())
    assert att.get_filename() == "Überweisung.pdf"
    assert att.get_payload(decode=True) == reply_bytes
    staff = [email.message_from_bytes(raw, policy=email.policy.default)
             for meta, raw in msgs if meta["mail_from"] != PATIENT]
    assert sum("locked" in str(m["Subject"]).lower() for m in staff) == 1
    assert sum(str(m["Subject"]).startswith("Abgeholt") for m in staff) == 3  # main, hostile, password
