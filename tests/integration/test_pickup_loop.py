"""The patient loop with every real part: staff mail for a patient without a key
goes into sealpostd, the pickup notice reaches the smarthost, the patient opens
the link on sealpost-portal, authenticates with an SMS code, reads, downloads the
PDF and replies; the reply goes back through sealpostd's filter listener and
reaches the staff sender."""
import base64
import email
import email.policy
import json
import re
import subprocess
import time

import pytest

from recording_sink import Sink
from sealpost_harness import (BUILD_DIR, SOURCE_DIR, Relay, fake_sms_gateway, free_port, submit,
                              wait_port)
from test_portal import PORTAL, Browserish, decoded_body, path_of
from test_scrub import pdf_with_author

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"
PATIENT, NUMBER = "patient@example.org", "+4915112345678"
PDF = pdf_with_author()  # a real PDF whose Info names its author

POLICY = {
    "defaults": {"methods": ["pgp", "smime", "pickup"], "sign": False,
                 "pickup": {"auth": "sms", "expires": "14d"}},
    "rules": [
        {"name": "internal", "match": {"recipient_domain": "praxis.example"}, "methods": ["plain"]},
        {"name": "passphrase-patients", "match": {"recipient_domain": "pass.example"},
         "require_consent": True, "methods": ["pickup"], "pickup": {"auth": "passphrase"}},
        {"name": "patients", "match": {"recipient_domain": "*"}, "require_consent": True,
         "methods": ["pgp", "smime", "pickup"]},
    ],
}


def staff_message():
    pdf = base64.encodebytes(PDF).replace(b"\n", b"\r\n")
    return (b"From: Anna Arzt <anna@praxis.example>\r\nTo: patient@example.org\r\n"
            b"Subject: Ihr Laborbefund\r\nDate: Sat, 28 Nov 2026 10:00:00 +0100\r\n"
            b"Message-ID: <loop-1@praxis.example>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            b"Guten Tag, Ihre Werte sind unauffaellig.\r\n"
            b"--b1\r\nContent-Type: application/pdf\r\n"
            b"Content-Disposition: attachment; filename=\"befund.pdf\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + pdf + b"--b1--\r\n")


@pytest.fixture
def loop(tmp_path):
    sms, sms_dir = fake_sms_gateway(tmp_path)
    portal_port = free_port()
    with Sink(tmp_path / "sink") as sink:
        relay = Relay(tmp_path, smarthost_port=sink.port, policy=POLICY, config_overrides={
            "portal": {"public_url": "http://127.0.0.1:%d" % portal_port,
                       "listen": "127.0.0.1:%d" % portal_port,
                       "sms_command": "%s {number}" % sms,
                       "practice_name": "Praxis Arzt",
                       "mail_from": "portal@praxis.example",
                       "templates": str(SOURCE_DIR / "conf" / "templates")},
        })
        relay.add_user(USER, PASSWORD, [ADDR])
        relay.cli("consent", "add", PATIENT, "--sms", NUMBER)
        log = open(tmp_path / "portal.log", "wb")
        # The portal submits replies to the relay's filter listener (its default).
        portal = subprocess.Popen([str(PORTAL), "-c", str(relay.config_path)], stdout=log,
                                  stderr=log)
        try:
            wait_port(portal_port, proc=portal)
            with relay:
                yield relay, sink, "http://127.0.0.1:%d" % portal_port, sms_dir
        finally:
            portal.terminate()
            portal.wait(10)
            log.close()


def sms_code(sms_dir, timeout=15):
    path = sms_dir / (NUMBER + ".txt")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            m = re.search(r"\b(\d{8})\b", path.read_text())
            if m:
                return m.group(1)
        time.sleep(0.05)
    raise AssertionError("no SMS code arrived")


def test_notice_pickup_download_and_reply_through_the_relay(loop):
    relay, sink, base, sms_dir = loop
    code, text = submit(relay.port("submission"), ADDR, [PATIENT], staff_message(),
                        auth=(USER, PASSWORD), cafile=relay.ca.cert)
    assert code == 250, text

    (meta, raw), = sink.wait_for(1, timeout=30)
    assert meta["rcpt_tos"] == [PATIENT]
    notice = email.message_from_bytes(raw, policy=email.policy.default)
    # Decoded first: the body is base64, where a raw search would find nothing anyway.
    subject = str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
    seen = decoded_body(raw) + raw.split(b"\r\n\r\n", 1)[0] + subject.encode()
    assert b"Praxis Arzt" in seen  # the check reads the real text
    assert b"Laborbefund" not in seen and b"befund.pdf" not in seen and b"unauffaellig" not in seen
    # Written from conf/templates with the configured practice name and sender.
    assert "portal@praxis.example" in str(notice["From"])
    assert "Praxis Arzt" in notice.get_body(("plain",)).get_content()
    link = re.search(re.escape(base) + r"/p/\S+", notice.get_body(("plain",)).get_content()).group(0)

    b = Browserish(base)
    status, headers, hop = b.get(path_of(link))
    assert status == 200 and b'http-equiv="refresh" content="0; url=/auth"' in hop
    status, _, page = b.get("/auth")
    csrf = b.csrf(page)
    assert b.post_form("/auth/send", {"csrf": csrf})[0] == 303
    status, headers, _ = b.post_form("/auth/verify", {"csrf": csrf, "code": sms_code(sms_dir)})
    assert status == 303 and headers["location"] == "/read"

    status, _, page = b.get("/read")
    assert status == 200 and b"Ihre Werte sind unauffaellig" in page and b"befund.pdf" in page
    status, _, data = b.get("/att/0")
    # The PDF the patient gets is the scrubbed one: same page, no author.
    assert status == 200 and data.startswith(b"%PDF")
    assert b"Dr Secret" not in data and b"WS-042" not in data
    (relay.dir / "download.pdf").write_bytes(data)
    info = subprocess.run(["pdfinfo", str(relay.dir / "download.pdf")], capture_output=True,
                          text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M) and "Dr Secret" not in info
    text = subprocess.run(["pdftotext", str(relay.dir / "download.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "hello" in text

    status, _, page = b.get("/reply")
    csrf = b.csrf(page)
    status, headers, _ = b.post_multipart("/reply", {"csrf": csrf, "text": "Vielen Dank!"}, [])
    assert status == 303 and headers["location"] == "/done"

    # The reply went into sealpostd (filter listener), through policy (internal:
    # plain) and out to the smarthost, addressed to the staff sender; so did
    # the pickup receipt ("abgeholt am ...") the portal wrote at the second factor.
    msgs = sink.wait_for(3, timeout=30)
    (meta, raw), = [m for m in msgs if m[0]["mail_from"] == PATIENT]
    (receipt_meta, receipt), = [m for m in msgs if m[0]["mail_from"] == "portal@praxis.example"]
    assert receipt_meta["rcpt_tos"] == [ADDR]
    text = decoded_body(receipt)
    assert b"abgeholt" in text and PATIENT.encode() in text
    assert b"Laborbefund" not in text and b"befund.pdf" not in text
    assert meta["rcpt_tos"] == [ADDR]
    reply = email.message_from_bytes(raw, policy=email.policy.default)
    assert PATIENT in str(reply["From"]) and str(reply["To"]) == ADDR
    assert "Vielen Dank!" in reply.get_body(("plain",)).get_content()
    assert raw.startswith(b"Received: from filter by relay.praxis.example (Sealpost)")

    assert relay.cli("audit", "verify").returncode == 0
    audit = "".join(p.read_text() for p in (relay.state_dir / "audit").glob("*"))
    assert "pickup.deposit" in audit and "Laborbefund" not in audit


def test_passphrase_pickup_with_the_passphrase_agreed_at_the_desk(loop, tmp_path):
    """`consent add --passphrase-file`: the passphrase agreed with the patient
    in person opens the pickup; a wrong one does not; it never travels by mail."""
    relay, sink, base, _ = loop
    patient, secret = "paula@pass.example", "Lindenallee 12, Hund Bello"
    (tmp_path / "pass.txt").write_text(secret + "\n")
    out = relay.cli("consent", "add", patient, "--passphrase-file", tmp_path / "pass.txt").stdout
    assert "pickup passphrase set" in out
    listed = relay.cli("--json", "consent", "list").stdout
    assert secret not in listed and '"passphrase_set": true' in listed
    (tmp_path / "short.txt").write_text("kurz\n")
    short = relay.cli("consent", "add", patient, "--passphrase-file", tmp_path / "short.txt",
                      check=False)
    assert short.returncode == 1 and "at least 8" in short.stderr

    msg = staff_message().replace(b"To: patient@example.org", b"To: " + patient.encode())
    code, text = submit(relay.port("submission"), ADDR, [patient], msg,
                        auth=(USER, PASSWORD), cafile=relay.ca.cert)
    assert code == 250, text
    (meta, raw), = sink.wait_for(1, timeout=30)
    assert meta["rcpt_tos"] == [patient] and secret.encode() not in raw
    notice = email.message_from_bytes(raw, policy=email.policy.default)
    link = re.search(re.escape(base) + r"/p/\S+", notice.get_body(("plain",)).get_content()).group(0)

    b = Browserish(base)
    hop = b.get(path_of(link))
    assert hop[0] == 200 and b"url=/auth" in hop[2]
    _, _, page = b.get("/auth")
    csrf = b.csrf(page)
    status, _, _ = b.post_form("/auth/verify", {"csrf": csrf, "secret": "Lindenallee 13"})
    assert status == 200
    status, headers, _ = b.post_form("/auth/verify", {"csrf": csrf, "secret": secret})
    assert status == 303 and headers["location"] == "/read", headers
    status, _, page = b.get("/read")
    assert status == 200 and b"Ihre Werte sind unauffaellig" in page


SCAN = BUILD_DIR / "tests" / "unit" / "portal" / "pickup_key_scan"


def test_the_state_dir_alone_cannot_decrypt_a_pickup(loop):
    """A pickup deposited by the real sealpostd: every 16- and 32-byte window of
    every file under state_dir (index.db and its -wal, blobs, spool and its
    key, keyrings, audit chains, everything) is tried as content key, KEK and
    link secret. Nothing opens it; the link's secret does (positive control)."""
    import sqlite3
    relay, sink, base, sms_dir = loop
    code, text = submit(relay.port("submission"), ADDR, [PATIENT], staff_message(),
                        auth=(USER, PASSWORD), cafile=relay.ca.cert)
    assert code == 250, text
    (meta, raw), = sink.wait_for(1, timeout=30)
    notice = email.message_from_bytes(raw, policy=email.policy.default)
    link = re.search(re.escape(base) + r"/p/\S+", notice.get_body(("plain",)).get_content()).group(0)
    pickup_id, secret = link.rsplit("/", 2)[1:]
    # A code is pending too (its hash is in the index), as on a live system.
    b = Browserish(base)
    b.get(path_of(link))
    assert b.post_form("/auth/send", {"csrf": b.csrf(b.get("/auth")[2])})[0] == 303
    sms_code(sms_dir)

    state = relay.state_dir
    db = sqlite3.connect("file:%s?mode=ro" % (state / "pickup" / "index.db"), uri=True)
    (wrapped,), = db.execute("SELECT wrapped_key FROM pickups WHERE id = ?", (pickup_id,))
    db.close()
    names = [str(p.relative_to(state)) for p in state.rglob("*") if p.is_file()]
    for expected in ("pickup/index.db", "pickup/index.db-wal", "pickup/blobs/%s.sealed" % pickup_id):
        assert expected in names, names
    assert "spool.key" in names and any(n.startswith("audit/") for n in names), names
    assert any(n.startswith("portal-audit/") for n in names), names
    r = subprocess.run([str(SCAN), "--state-dir", str(state), "--id", pickup_id,
                        "--wrapped-hex", wrapped.hex(), "--secret", secret],
                       capture_output=True, text=True, timeout=600)
    result = json.loads(r.stdout.strip().splitlines()[-1])
    print("scan:", result)
    assert result["control"] is True, result      # the checks do open it with the link's secret
    assert result["opened"] == 0, result          # nothing on disk does
    # (-shm files and the like may come and go while it runs)
    assert result["files"] >= len(names) - 3, (result, names)
    assert result["bytes"] > 10000 and r.returncode == 0, (result, r.stderr[-2000:])
