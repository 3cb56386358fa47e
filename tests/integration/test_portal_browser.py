"""Browser end-to-end test of the pickup portal: Debian's chromium driven by
npm playwright-core (tests/browser/portal_e2e.mjs). This file starts the
portal and a recording SMTP sink, deposits the pickups, runs the browser
script and checks what reached the sink. Screenshots land in
<pytest tmp>/shots (and in $SEALPOST_TEST_OUTPUT/portal-browser if set).

Needs: /usr/bin/chromium, node, and `npm ci --prefix tests/browser`."""
import email
import email.policy
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sealpost_harness import SOURCE_DIR
from test_portal import PATIENT, PDF_BYTES, SENDER, PortalEnv, message_bytes

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
    env = PortalEnv(tmp_path / "portal", max_attempts=3)
    try:
        number = "+4915112345678"
        main = env.deposit(number=number)
        hostile = env.deposit(number=number, message=HOSTILE)
        lock = env.deposit(number=number)
        revoked = env.deposit(number=number)
        env.cli("pickup", "revoke", revoked["id"])
        expired = env.deposit(number=number, expires=1)
        time.sleep(1.2)

        shots = tmp_path / "shots"
        shots.mkdir()
        reply_file = tmp_path / "Überweisung.pdf"
        reply_bytes = b"%PDF-1.4 reply " + os.urandom(3000)
        reply_file.write_bytes(reply_bytes)
        scenario = {
            "base": env.base,
            "link": main["url"],
            "hostile_link": hostile["url"],
            "lock_link": lock["url"],
            "revoked_link": revoked["url"],
            "expired_link": expired["url"],
            "sms_file": str(env.sms_dir / (number + ".txt")),
            "out_dir": str(shots),
            "expect_text": "Guten Tag, anbei Ihr Laborbefund",
            "attachment_name": "Befund Müller.pdf",
            "attachment_sha256": hashlib.sha256(PDF_BYTES).hexdigest(),
            "reply_text": "Vielen Dank! Anbei die Überweisung.",
            "reply_file": str(reply_file),
            "hostile_text": "Bitte Termin vereinbaren",
            "max_attempts": 3,
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
        assert proc.returncode == 0, (result.get("error"), proc.stderr[-3000:], env.log()[-3000:])
        assert result["offsite_requests"] == []
        assert result["dialogs"] == []
        for name in ("01-auth.png", "02-read.png", "03-reply.png", "04-done.png", "05-hostile.png",
                     "06-locked.png", "07-revoked.png", "08-tampered.png"):
            assert (shots / name).stat().st_size > 1000, name

        # The reply reached the sink, addressed to the staff sender, attachment intact;
        # the lock notice went to the sender too.
        msgs = env.sink.wait_for(2)
        replies = [email.message_from_bytes(raw, policy=email.policy.default)
                   for meta, raw in msgs if meta["mail_from"] == PATIENT]
        assert len(replies) == 1
        reply = replies[0]
        assert str(reply["To"]) == SENDER
        assert "Vielen Dank! Anbei die Überweisung." in reply.get_body(("plain",)).get_content()
        (att,) = list(reply.iter_attachments())
        assert att.get_filename() == "Überweisung.pdf"
        assert att.get_payload(decode=True) == reply_bytes
        locks = [raw for meta, raw in msgs if meta["mail_from"] != PATIENT]
        assert any(b"locked" in raw.lower() for raw in locks)
    finally:
        env.stop()
