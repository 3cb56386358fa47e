"""Messages bigger than limits.message_memory take the streaming path: read in
pieces from the encrypted spool, sealed through encrypted spill files, sent in
pieces. What arrives must still decrypt, verify and compare byte for byte with
independent tools (gpg, openssl cms, gpgsm), signed and unsigned."""
import email
import email.policy
import hashlib
import os
import subprocess
from email.message import EmailMessage

import pytest

from recording_sink import Sink
from sealpost_harness import GpgHome, Relay, TestCA, gpgsm_import_key, run, submit

USER, PASSWORD, ADDR = "anna", "correct horse battery", "anna@praxis.example"
SUBJECT = "Befund Müller (groß)"
BODY = "Sehr geehrte Frau Müller,\nanbei die Aufnahmen.\n"
ATTACHMENT = os.urandom(3 * 1024 * 1024)  # base64 in the message: ~4 MB, 64 records of spill

POLICY = {
    "defaults": {"methods": ["pgp", "smime"], "sign": True},
    "rules": [
        {"name": "internal", "match": {"recipient_domain": "praxis.example"}, "methods": ["plain"]},
        {"name": "labs-gcm", "match": {"recipient_domain": "gcm.example"}, "methods": ["smime"],
         "smime_cipher": "aes256-gcm"},
        # Unsigned OpenPGP takes the in-process (librnp) engine, streamed too.
        {"name": "unsigned", "match": {"recipient_domain": "unsigned.example"},
         "methods": ["pgp"], "sign": False},
    ],
}


def big_message(to):
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = "Anna Arzt <%s>" % ADDR
    m["To"] = ", ".join(to)
    m["Subject"] = SUBJECT
    m["Date"] = "Sat, 28 Nov 2026 10:00:00 +0000"
    m["Message-ID"] = "<big-1@praxis.example>"
    m.set_content(BODY, cte="8bit")
    m.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream",
                     filename="aufnahmen.bin")
    return m.as_bytes()


def attachment_of(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == SUBJECT
    att = next(p for p in msg.walk() if p.get_filename() == "aufnahmen.bin")
    return att.get_content()


@pytest.fixture
def env(tmp_path):
    patient = GpgHome(tmp_path / "patient")
    patient.gen_key("pat@example.org", "Paula Patient")
    patient.gen_key("pat@unsigned.example", "Paula Patient")
    practice = GpgHome(tmp_path / "practice")
    practice_fpr = practice.gen_key(ADDR, "Praxis")
    practice.export_secret(practice_fpr, tmp_path / "practice-secret.pgp")
    practice.export(ADDR, tmp_path / "practice.asc")
    patient.gpg("--import", tmp_path / "practice.asc")
    ca = TestCA(tmp_path / "ca", "Test SMIME CA")
    lab = ca.smime_cert("labor@lab.example")
    gcm_lab = ca.smime_cert("labor@gcm.example", stem="gcm")
    _, _, signer_p12 = ca.smime_cert(ADDR, stem="signer")
    with Sink(tmp_path / "sink") as sink:
        relay = Relay(tmp_path, smarthost_port=sink.port, policy=POLICY, config_overrides={
            "keystore": {"trust_anchors": [str(ca.cert)]},
            "limits": {"message_memory": "64KiB", "max_message_size": "20MiB"},
        })
        relay.add_user(USER, PASSWORD, [ADDR])
        relay.cli("keys", "import", patient.export("pat@example.org", tmp_path / "pat.asc"),
                  patient.export("pat@unsigned.example", tmp_path / "pat-unsigned.asc"),
                  lab[0], gcm_lab[0], signer_p12, tmp_path / "practice-secret.pgp")
        with relay:
            yield relay, sink, patient, practice_fpr, ca, lab, gcm_lab
    for home in (patient.dir, practice.dir, relay.state_dir / "gnupg"):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)


def test_big_message_streams_to_every_method_and_decrypts_exactly(env, tmp_path):
    relay, sink, patient, practice_fpr, ca, lab, gcm_lab = env
    rcpts = ["pat@example.org", "labor@lab.example", "labor@gcm.example", "kollege@praxis.example",
             "pat@unsigned.example"]
    code, text = submit(relay.port("submission"), ADDR, rcpts, big_message(rcpts),
                        auth=(USER, PASSWORD), cafile=relay.ca.cert)
    assert code == 250, text
    msgs = sink.wait_for(5, timeout=120)
    by_rcpt = {meta["rcpt_tos"][0]: raw for meta, raw in msgs}
    assert set(by_rcpt) == set(rcpts)
    want = hashlib.sha256(ATTACHMENT).hexdigest()

    # Plain: byte for byte the same attachment.
    assert hashlib.sha256(attachment_of(by_rcpt["kollege@praxis.example"])).hexdigest() == want

    # OpenPGP, signed by the practice key (gpg path, streamed through GPGME).
    outer = email.message_from_bytes(by_rcpt["pat@example.org"], policy=email.policy.default)
    assert outer["Subject"] == "[...]"
    armored = outer.get_payload()[1].get_payload(decode=True)
    r = patient.gpg("--status-fd", "2", "--decrypt", input=armored)
    status = r.stderr.decode()
    assert "DECRYPTION_OKAY" in status and "GOODSIG" in status
    assert hashlib.sha256(attachment_of(r.stdout)).hexdigest() == want

    # OpenPGP unsigned (librnp path): decrypts with integrity protection, no signature.
    outer = email.message_from_bytes(by_rcpt["pat@unsigned.example"], policy=email.policy.default)
    armored = outer.get_payload()[1].get_payload(decode=True)
    r = patient.gpg("--status-fd", "2", "--decrypt", input=armored)
    status = r.stderr.decode()
    assert "DECRYPTION_OKAY" in status and "GOODSIG" not in status
    assert "GOODMDC" in status or "DECRYPTION_INFO" in status
    assert hashlib.sha256(attachment_of(r.stdout)).hexdigest() == want

    # S/MIME, CBC and GCM, signed inside: indefinite-length BER, streamed.
    for rcpt, (crt, key, p12) in (("labor@lab.example", lab), ("labor@gcm.example", gcm_lab)):
        path = tmp_path / (rcpt + ".eml")
        path.write_bytes(by_rcpt[rcpt])
        dec = run(["openssl", "cms", "-decrypt", "-recip", crt, "-inkey", key, "-in", path])
        signed = tmp_path / (rcpt + ".signed")
        signed.write_bytes(dec.stdout)
        ver = run(["openssl", "cms", "-verify", "-CAfile", ca.cert, "-in", signed,
                   "-inform", "SMIME"])
        assert b"Verification successful" in ver.stderr
        assert hashlib.sha256(attachment_of(ver.stdout)).hexdigest() == want

    # gpgsm reads the streamed BER too (its own home; it wants a 3DES PKCS#12).
    crt, key, _ = lab
    home = tmp_path / "gpgsm"
    home.mkdir(mode=0o700)
    gpgsm = ["gpgsm", "--homedir", home, "--batch", "--pinentry-mode", "loopback",
             "--passphrase", ""]
    gpgsm_import_key(gpgsm, crt, key, tmp_path / "legacy.p12")
    outer = email.message_from_bytes(by_rcpt["labor@lab.example"], policy=email.policy.default)
    (tmp_path / "lab.p7m").write_bytes(outer.get_payload(decode=True))
    r = run(gpgsm + ["--decrypt", tmp_path / "lab.p7m"])
    assert b"smime-type=signed-data" in r.stdout
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)

    # Spill files have no names: nothing is left in the spool's work area.
    relay_incoming = relay.state_dir / "spool" / "incoming"
    assert list(relay_incoming.iterdir()) == []
