"""Sealing end to end through the real SealingTransformer (seal_driver): the
outputs are decrypted by independent tools (gpg, sq, openssl cms, gpgsm) in
separate homes and compared byte for byte with what went in."""
import base64
import email
import json
import email.policy
import os
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from sealpost_harness import BUILD_DIR, GpgHome, Relay, TestCA, gpgsm_import_key, run

DRIVER = BUILD_DIR / "tests" / "unit" / "seal" / "seal_driver"
SUBJECT = "Befund Müller – vertraulich"
BODY = "Sehr geehrte Frau Müller,\nanbei Ihr Befund (Größe, Maß, Übel).\n"
ATTACHMENT = bytes(range(256)) * 40


@pytest.fixture
def work(tmp_path):
    homes = []
    yield tmp_path, homes
    for h in homes + [tmp_path / "state" / "gnupg"]:
        if Path(h).exists():  # gpg-agent/dirmngr started for a home end with it
            subprocess.run(["gpgconf", "--homedir", str(h), "--kill", "all"], capture_output=True)


def make_message(extra_to=(), bcc=None):
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = "Anna Arzt <anna@praxis.example>"
    m["To"] = ", ".join(["pat@example.org", *extra_to])
    if bcc:
        m["Bcc"] = bcc
    m["Subject"] = SUBJECT
    m["Date"] = "Sat, 28 Nov 2026 10:00:00 +0000"
    m["Message-ID"] = "<test-1@praxis.example>"
    m.set_content(BODY, cte="8bit")
    m.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream",
                     filename="befund.bin")
    return m.as_bytes()


def seal(tmp, message, to, anchors=(), imports=(), plans=()):
    out = tmp / ("out-%d" % len(list(tmp.glob("out-*"))))
    # The practice identity signs for its staff (keystore.domain_signers).
    cmd = [DRIVER, tmp / "state", out, "--from", "anna@praxis.example",
           "--domain-signer", "praxis@praxis.example"]
    for a in to:
        cmd += ["--to", a]
    for a in anchors:
        cmd += ["--anchor", a]
    for i in imports:
        cmd += ["--import", i]
    for p in plans:
        cmd += ["--plan", p]
    run(cmd, input=message)
    outputs = {}
    for f in sorted(out.glob("*.eml")):
        rcpts = f.with_suffix(".rcpts").read_text().split()
        outputs[f.stem.split("-", 1)[1]] = (f.read_bytes(), rcpts)
    held = (out / "held.txt").read_text().splitlines()
    return outputs, held


def check_outer(raw):
    outer = email.message_from_bytes(raw, policy=email.policy.default)
    assert outer["Subject"] == "[...]"
    assert outer["From"] == "Anna Arzt <anna@praxis.example>"
    assert outer["Bcc"] is None and b"secret-bcc" not in raw
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    return outer


def check_inner(decrypted):
    """The decrypted payload carries the real headers (RFC 9788) and the exact content."""
    inner = email.message_from_bytes(decrypted, policy=email.policy.default)
    assert inner["Subject"] == SUBJECT
    assert inner["Bcc"] is None
    assert inner.get_content_type() == "multipart/mixed"
    assert inner.get_param("hp") == "cipher"
    assert inner.get_param("protected-headers") == "v1"  # what Thunderbird reads
    # RFC 9788 §4.5: the Legacy Display Element leads the main body part itself.
    text = next(p for p in inner.walk() if p.get_content_type() == "text/plain")
    assert text.get_param("hp-legacy-display") == "1"
    assert text.get_content().replace("\r\n", "\n") == "Subject: " + SUBJECT + "\n\n" + BODY
    att = next(p for p in inner.walk() if p.get_filename() == "befund.bin")
    assert att.get_content() == ATTACHMENT
    return inner


def smime_der(raw):
    outer = email.message_from_bytes(raw, policy=email.policy.default)
    return outer, base64.b64decode(outer.get_payload())


def test_pgp_mime_signed_decrypts_with_gpg_and_sq(work):
    tmp, homes = work
    patient = GpgHome(tmp / "patient")
    practice = GpgHome(tmp / "practice")
    homes += [patient.dir, practice.dir]
    pfpr = patient.gen_key("pat@example.org", name="Pat")
    sfpr = practice.gen_key("praxis@praxis.example", name="Praxis")
    patient.export("pat@example.org", tmp / "pat.asc")
    practice.export_secret(sfpr, tmp / "practice-secret.pgp")
    practice.export("praxis@praxis.example", tmp / "practice.asc")
    patient.gpg("--import", tmp / "practice.asc")

    outputs, held = seal(tmp, make_message(bcc="secret-bcc@x.example"), ["pat@example.org"],
                         imports=[tmp / "pat.asc", tmp / "practice-secret.pgp"])
    assert held == []
    raw, rcpts = outputs["pgp"]
    assert rcpts == ["pat@example.org"]
    outer = check_outer(raw)
    assert outer.get_content_type() == "multipart/encrypted"
    assert outer.get_param("protocol") == "application/pgp-encrypted"
    version, encrypted = list(outer.iter_parts())
    assert version.get_content_type() == "application/pgp-encrypted"
    assert b"Version: 1" in version.get_payload(decode=True)
    (tmp / "c.asc").write_bytes(encrypted.get_payload(decode=True))

    r = patient.gpg("--status-fd", "2", "--decrypt", tmp / "c.asc")
    status = r.stderr.decode()
    assert "GOODSIG" in status and sfpr in status.replace(" ", "") or "VALIDSIG " + sfpr in status
    assert "DECRYPTION_OKAY" in status
    check_inner(r.stdout)

    # Sequoia reads it too (no AEAD packets, MDC present).
    patient.export_secret(pfpr, tmp / "pat-secret.pgp")
    r = run(["sq", "decrypt", "--recipient-key", tmp / "pat-secret.pgp", tmp / "c.asc"],
            env={**os.environ, "HOME": str(tmp)})
    check_inner(r.stdout)


@pytest.mark.parametrize("cipher,smime_type", [("aes256-cbc", "enveloped-data"),
                                               ("aes256-gcm", "authEnveloped-data")])
def test_smime_signed_decrypts_with_openssl(work, cipher, smime_type):
    tmp, _ = work
    ca = TestCA(tmp / "ca")
    crt, key, _ = ca.smime_cert("lab@labor.example")
    _, _, signer_p12 = ca.smime_cert("praxis@praxis.example", stem="signer")
    outputs, held = seal(tmp, make_message(bcc="secret-bcc@x.example"), ["lab@labor.example"],
                         anchors=[ca.cert], imports=[crt, signer_p12],
                         plans=["lab@labor.example=smime:" + cipher])
    assert held == []
    raw, rcpts = outputs["smime"]
    assert rcpts == ["lab@labor.example"]
    outer = check_outer(raw)
    assert outer.get_content_type() == "application/pkcs7-mime"
    assert outer.get_param("smime-type") == smime_type
    assert outer.get_filename() == "smime.p7m"
    (tmp / "m.eml").write_bytes(raw)
    dec = run(["openssl", "cms", "-decrypt", "-recip", crt, "-inkey", key, "-in", tmp / "m.eml"])
    (tmp / "signed.eml").write_bytes(dec.stdout)
    signed = email.message_from_bytes(dec.stdout, policy=email.policy.default)
    assert signed.get_param("smime-type") == "signed-data"
    ver = run(["openssl", "cms", "-verify", "-CAfile", ca.cert, "-in", tmp / "signed.eml",
               "-inform", "SMIME"])
    assert b"Verification successful" in ver.stderr
    check_inner(ver.stdout)


def test_smime_decrypts_with_gpgsm(work):
    tmp, homes = work
    ca = TestCA(tmp / "ca")
    crt, key, _ = ca.smime_cert("lab@labor.example")
    outputs, held = seal(tmp, make_message(), ["lab@labor.example"], anchors=[ca.cert],
                         imports=[crt])
    raw, _ = outputs["smime"]
    home = tmp / "gpgsm"
    home.mkdir(mode=0o700)
    homes.append(home)
    gpgsm = ["gpgsm", "--homedir", home, "--batch", "--pinentry-mode", "loopback",
             "--passphrase", ""]
    gpgsm_import_key(gpgsm, crt, key, tmp / "legacy.p12")
    _, der = smime_der(raw)
    (tmp / "m.p7m").write_bytes(der)
    r = run(gpgsm + ["--decrypt", tmp / "m.p7m"])
    check_inner(r.stdout)


def test_ec_certificate_uses_key_agreement(work):
    tmp, _ = work
    ca = TestCA(tmp / "ca")
    crt, key, _ = ca.smime_cert("ec@labor.example", key_type="ec",
                                key_usage="digitalSignature,keyAgreement")
    outputs, held = seal(tmp, make_message(), ["ec@labor.example"], anchors=[ca.cert],
                         imports=[crt])
    assert held == []
    (tmp / "m.eml").write_bytes(outputs["smime"][0])
    dec = run(["openssl", "cms", "-decrypt", "-recip", crt, "-inkey", key, "-in", tmp / "m.eml"])
    check_inner(dec.stdout)


def test_mixed_recipients_split_per_method(work):
    tmp, homes = work
    patient = GpgHome(tmp / "patient")
    homes.append(patient.dir)
    patient.gen_key("pat@example.org", name="Pat")
    patient.export("pat@example.org", tmp / "pat.asc")
    ca = TestCA(tmp / "ca")
    crt, _, _ = ca.smime_cert("lab@labor.example")
    msg = make_message(extra_to=["lab@labor.example", "nokey@example.net"],
                       bcc="secret-bcc@x.example")
    outputs, held = seal(tmp, msg, ["pat@example.org", "lab@labor.example", "nokey@example.net"],
                         anchors=[ca.cert], imports=[tmp / "pat.asc", crt])
    assert sorted(outputs) == ["pgp", "smime"]
    assert outputs["pgp"][1] == ["pat@example.org"]
    assert outputs["smime"][1] == ["lab@labor.example"]
    assert len(held) == 1 and held[0].startswith("nokey@example.net 451 4.7.0")
    for raw, _ in outputs.values():
        check_outer(raw)


def test_untrusted_certificate_is_never_used(work):
    tmp, _ = work
    ca = TestCA(tmp / "ca")
    other = TestCA(tmp / "other", name="Other CA")
    crt, _, _ = other.smime_cert("lab@labor.example")
    outputs, held = seal(tmp, make_message(), ["lab@labor.example"], anchors=[ca.cert],
                         imports=[crt])
    assert outputs == {}
    assert held and held[0].startswith("lab@labor.example 451")


def test_already_encrypted_input_is_not_encrypted_again(work):
    tmp, homes = work
    patient = GpgHome(tmp / "patient")
    homes.append(patient.dir)
    patient.gen_key("pat@example.org", name="Pat")
    patient.export("pat@example.org", tmp / "pat.asc")
    first, _ = seal(tmp, make_message(), ["pat@example.org"], imports=[tmp / "pat.asc"])
    once = first["pgp"][0]
    second, held = seal(tmp, once, ["pat@example.org"])
    assert held == []
    again = second["pgp"][0]
    assert again.count(b"-----BEGIN PGP MESSAGE-----") == 1
    assert again.split(b"-----BEGIN PGP MESSAGE-----")[1] == \
        once.split(b"-----BEGIN PGP MESSAGE-----")[1]


def test_plaintext_labelled_encrypted_is_encrypted_anyway(work):
    """A client (or a compromised PC) labels plaintext multipart/encrypted:
    already-encrypted mail passes unchanged, so the label alone must not count;
    the recipient gets it really encrypted, and real gpg reads it."""
    tmp, homes = work
    patient = GpgHome(tmp / "patient")
    homes.append(patient.dir)
    patient.gen_key("pat@example.org", name="Pat")
    patient.export("pat@example.org", tmp / "pat.asc")
    fake = (b"From: Anna Arzt <anna@praxis.example>\r\nTo: pat@example.org\r\n"
            b"Subject: Befund\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";"
            b" boundary=x\r\n\r\n--x\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
            b"Version: 1\r\n--x\r\nContent-Type: application/octet-stream\r\n\r\n"
            b"-----BEGIN PGP MESSAGE-----\r\n\r\nQmVmdW5kOiBwb3NpdGl2\r\n"
            b"-----END PGP MESSAGE-----\r\n--x--\r\n")
    outputs, held = seal(tmp, fake, ["pat@example.org"], imports=[tmp / "pat.asc"])
    assert held == []
    raw, _ = outputs["pgp"]
    assert b"QmVmdW5kOiBwb3NpdGl2" not in raw
    encrypted = list(email.message_from_bytes(raw, policy=email.policy.default).iter_parts())[1]
    (tmp / "c.asc").write_bytes(encrypted.get_payload(decode=True))
    r = patient.gpg("--status-fd", "2", "--decrypt", tmp / "c.asc")
    assert b"DECRYPTION_OKAY" in r.stderr
    assert b"QmVmdW5kOiBwb3NpdGl2" in r.stdout


def test_blind_copy_recipient_gets_its_own_ciphertext(work):
    """Bcc recipients must not be listed (as key IDs) in the ciphertext the To
    recipients get, nor the other way round beyond themselves."""
    tmp, homes = work
    patient = GpgHome(tmp / "patient")
    hidden = GpgHome(tmp / "hidden")
    homes += [patient.dir, hidden.dir]
    patient.gen_key("pat@example.org", name="Pat")
    hidden.gen_key("secret-bcc@x.example", name="Hidden")
    patient.export("pat@example.org", tmp / "pat.asc")
    hidden.export("secret-bcc@x.example", tmp / "hidden.asc")
    seal(tmp, make_message(bcc="secret-bcc@x.example"), ["pat@example.org",
                                                          "secret-bcc@x.example"],
         imports=[tmp / "pat.asc", tmp / "hidden.asc"])
    out = sorted(tmp.glob("out-*"))[-1]
    copies = {}
    for f in sorted(out.glob("*.eml")):
        rcpts = f.with_suffix(".rcpts").read_text().split()
        copies[tuple(rcpts)] = f.read_bytes()
    assert set(copies) == {("pat@example.org",), ("secret-bcc@x.example",)}

    def key_ids(raw):
        enc = list(email.message_from_bytes(raw, policy=email.policy.default).iter_parts())[1]
        (tmp / "probe.asc").write_bytes(enc.get_payload(decode=True))
        r = run(["gpg", "--homedir", str(tmp / "empty"), "--batch", "--list-packets",
                 str(tmp / "probe.asc")], check=False)
        return {line.split("keyid ")[1].split()[0] for line in r.stdout.decode().splitlines()
                if line.startswith(":pubkey enc packet:")}
    (tmp / "empty").mkdir(mode=0o700, exist_ok=True)
    visible = key_ids(copies[("pat@example.org",)])
    blind = key_ids(copies[("secret-bcc@x.example",)])
    assert len(visible) == 1 and len(blind) == 1 and visible != blind
    assert b"secret-bcc" not in copies[("pat@example.org",)]


def test_malformed_message_is_held_permanently(work):
    tmp, _ = work
    # 40 levels of multipart nesting, each opened with the previous boundary.
    nested = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(40)) + b"--b40\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    outputs, held = seal(tmp, b"From: a@b.example\r\n" + nested, ["pat@example.org"])
    assert outputs == {}
    assert held and " 554 5.6.0 " in held[0]


def test_keys_cli_import_list_locate_remove(work):
    tmp, homes = work
    patient = GpgHome(tmp / "patient")
    homes.append(patient.dir)
    fpr = patient.gen_key("pat@example.org", name="Pat")
    patient.export("pat@example.org", tmp / "pat.asc")
    ca = TestCA(tmp / "ca")
    good, _, _ = ca.smime_cert("lab@labor.example")
    weak, _, _ = ca.smime_cert("sig@labor.example", stem="sig", key_usage="digitalSignature")
    _, _, p12 = ca.smime_cert("praxis@praxis.example", stem="signer")
    relay = Relay(tmp, smarthost_port=9, ca=ca,
                  config_overrides={"keystore": {"trust_anchors": [str(ca.cert)]}})
    homes.append(relay.state_dir / "gnupg")

    out = relay.cli("--json", "keys", "import", tmp / "pat.asc", good, weak, p12).stdout
    kinds = sorted(item["kind"] for item in json.loads(out))
    assert kinds == ["pgp", "smime", "smime", "smime-signer"]

    listed = json.loads(relay.cli("--json", "keys", "list").stdout)["keys"]
    by_kind = {}
    for k in listed:
        by_kind.setdefault(k["kind"], []).append(k)
    assert [k["id"] for k in by_kind["pgp"]] == [fpr]
    assert by_kind["pgp"][0]["provenance"]["origin"] == "pat.asc"
    assert sorted(k["usable"] for k in by_kind["smime"]) == [False, True]
    assert len(by_kind["smime-signer"]) == 1

    found = json.loads(relay.cli("--json", "keys", "locate", "pat@example.org").stdout)
    assert [k["fingerprint"] for k in found["pgp"]] == [fpr]
    refused = relay.cli("--json", "keys", "locate", "sig@labor.example", check=False)
    assert refused.returncode == 1
    assert "keyEncipherment" in json.loads(refused.stdout)["rejected"][0]["reason"]

    assert relay.cli("keys", "remove", fpr.lower()).returncode == 0  # any case
    gone = relay.cli("keys", "locate", "pat@example.org", check=False)
    assert gone.returncode == 1
    assert relay.cli("keys", "frobnicate", check=False).returncode == 2
    # Imported again, its provenance is fresh (no stale row from before).
    relay.cli("keys", "import", tmp / "pat.asc")
    again = [k for k in json.loads(relay.cli("--json", "keys", "list").stdout)["keys"]
             if k["id"] == fpr]
    assert again and again[0]["provenance"]["source"] == "imported"

    # The practice's S/MIME signing identity can be removed as well.
    signer_id = by_kind["smime-signer"][0]["id"]
    out = relay.cli("keys", "remove", "--signer").stdout
    assert out.strip() == "removed smime-signer " + signer_id
    listed = json.loads(relay.cli("--json", "keys", "list").stdout)["keys"]
    assert not [k for k in listed if k["kind"] == "smime-signer"]
    again = relay.cli("keys", "remove", "--signer", check=False)
    assert again.returncode == 1 and "no S/MIME signing identity" in again.stderr


# ---- the real daemon: what sealpostd sends opens with sq and gpgsm ---------------------

DAEMON_POLICY = {
    "defaults": {"methods": ["pgp", "smime"], "sign": True},
    "rules": [
        {"name": "unsigned-lab", "match": {"recipient": "lab2@labor.example"},
         "methods": ["smime"], "sign": False},
        {"name": "internal", "match": {"recipient_domain": "praxis.example"}, "methods": ["plain"]},
    ],
}


def gpgsm_home(tmp, homes, ca, cert, key):
    """A gpgsm home holding the recipient's key and trusting the test CA."""
    # Short: gpg-agent's socket path must fit into sun_path.
    home = tmp / ("gs%d" % len(homes))
    home.mkdir(mode=0o700)
    homes.append(home)
    gpgsm = ["gpgsm", "--homedir", home, "--batch", "--pinentry-mode", "loopback",
             "--passphrase", "", "--disable-crl-checks"]
    gpgsm_import_key(gpgsm, cert, key, tmp / (Path(cert).stem + "-legacy.p12"))
    run(gpgsm + ["--import", ca.cert])
    fpr = run(["openssl", "x509", "-in", ca.cert, "-noout", "-fingerprint", "-sha1"]
              ).stdout.decode().strip().split("=")[1]
    (home / "trustlist.txt").write_text(fpr + " S relax\n")
    return gpgsm


def test_daemon_output_opens_with_sq_and_gpgsm_signed_and_unsigned(work):
    from recording_sink import Sink
    from sealpost_harness import submit
    tmp, homes = work
    patient, practice = GpgHome(tmp / "patient"), GpgHome(tmp / "practice")
    homes += [patient.dir, practice.dir]
    pfpr = patient.gen_key("pat@example.org", name="Pat")
    sfpr = practice.gen_key("anna@praxis.example", name="Praxis")
    patient.export("pat@example.org", tmp / "pat.asc")
    practice.export_secret(sfpr, tmp / "practice.sec")
    practice.export("anna@praxis.example", tmp / "practice.pub")
    patient.export_secret(pfpr, tmp / "pat-secret.pgp")
    ca = TestCA(tmp / "ca")
    lab, lab_key, _ = ca.smime_cert("lab@labor.example")
    lab2, lab2_key, _ = ca.smime_cert("lab2@labor.example")
    _, _, signer_p12 = ca.smime_cert("anna@praxis.example", stem="signer")
    with Sink(tmp / "sink") as sink:
        relay = Relay(tmp, smarthost_port=sink.port, policy=DAEMON_POLICY,
                      config_overrides={"keystore": {"trust_anchors": [str(ca.cert)]}})
        homes.append(relay.state_dir / "gnupg")
        relay.add_user("anna", "anna-pw-5d1e", ["anna@praxis.example"])
        relay.cli("keys", "import", tmp / "pat.asc", tmp / "practice.sec", lab, lab2, signer_p12)
        with relay:
            rcpts = ["pat@example.org", "lab@labor.example", "lab2@labor.example"]
            code, _ = submit(relay.port("submission"), "anna@praxis.example", rcpts,
                             make_message(extra_to=rcpts[1:]), auth=("anna", "anna-pw-5d1e"), cafile=relay.ca.cert)
            assert code == 250
            got = {tuple(m["rcpt_tos"]): raw for m, raw in sink.wait_for(3, timeout=60)}
    assert set(got) == {(r,) for r in rcpts}

    # OpenPGP, signed by the practice key through gpg: Sequoia decrypts and verifies.
    outer = check_outer(got[("pat@example.org",)])
    (tmp / "c.asc").write_bytes(list(outer.iter_parts())[1].get_payload(decode=True))
    r = run(["sq", "decrypt", "--recipient-key", tmp / "pat-secret.pgp",
             "--signer-cert", tmp / "practice.pub", tmp / "c.asc"],
            env={**os.environ, "HOME": str(tmp)})
    assert b"1 good signature." in r.stderr
    assert b"Encrypted using AES-256" in r.stderr  # gpg's cipher, pinned by the managed gpg.conf
    check_inner(r.stdout)

    # S/MIME, signed inside then encrypted: gpgsm decrypts, then verifies the signature.
    _, der = smime_der(got[("lab@labor.example",)])
    (tmp / "lab.p7m").write_bytes(der)
    gpgsm = gpgsm_home(tmp, homes, ca, lab, lab_key)
    signed = email.message_from_bytes(run(gpgsm + ["--decrypt", tmp / "lab.p7m"]).stdout,
                                      policy=email.policy.default)
    assert signed.get_param("smime-type") == "signed-data"
    (tmp / "signed.p7m").write_bytes(signed.get_payload(decode=True))
    v = run(gpgsm + ["--status-fd", "2", "--verify", "--output", tmp / "content.eml",
                     tmp / "signed.p7m"])
    assert b"GOODSIG" in v.stderr and b"VALIDSIG" in v.stderr
    check_inner((tmp / "content.eml").read_bytes())

    # S/MIME without signature: gpgsm decrypts straight to the message.
    _, der2 = smime_der(got[("lab2@labor.example",)])
    (tmp / "lab2.p7m").write_bytes(der2)
    check_inner(run(gpgsm_home(tmp, homes, ca, lab2, lab2_key) + ["--decrypt", tmp / "lab2.p7m"]
                    ).stdout)


def ca_revoke_and_crl(ca, cert, crl_path, revoke=True):
    """openssl ca -revoke / -gencrl on the test CA; the CRL is renamed into place."""
    conf = ca.dir / "ca.cnf"
    if not conf.exists():
        (ca.dir / "index.txt").write_text("")
        (ca.dir / "crlnumber").write_text("1000\n")
        conf.write_text("[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\n"
                        "database = %s/index.txt\ncrlnumber = %s/crlnumber\n"
                        "default_md = sha256\ndefault_crl_days = 30\n"
                        "certificate = %s\nprivate_key = %s\n" % (ca.dir, ca.dir, ca.cert, ca.key))
    if revoke:
        run(["openssl", "ca", "-config", conf, "-revoke", cert])
    tmp = Path(str(crl_path) + ".new")
    run(["openssl", "ca", "-config", conf, "-gencrl", "-out", tmp])
    os.rename(tmp, crl_path)


def test_revoked_certificate_is_refused_and_a_new_crl_counts_without_restart(work):
    from recording_sink import Sink
    from sealpost_harness import submit, simple_message
    tmp, _ = work
    ca = TestCA(tmp / "ca")
    lab, _, _ = ca.smime_cert("lab@labor.example")
    crl_dir = tmp / "crl"
    crl_dir.mkdir()
    ca_revoke_and_crl(ca, lab, crl_dir / "ca.pem", revoke=False)  # nothing revoked yet
    policy = {"defaults": {"methods": ["smime"], "sign": False}, "rules": []}
    with Sink(tmp / "sink") as sink:
        relay = Relay(tmp, smarthost_port=sink.port, policy=policy, config_overrides={
            "keystore": {"trust_anchors": [str(ca.cert)], "crl_dir": str(crl_dir)}})
        relay.add_user("anna", "anna-pw-5d1e", ["anna@praxis.example"])
        relay.cli("keys", "import", lab)
        assert relay.cli("keys", "locate", "lab@labor.example").returncode == 0

        def send(subject):
            submit(relay.port("submission"), "anna@praxis.example", ["lab@labor.example"],
                   simple_message("anna@praxis.example", "lab@labor.example", subject=subject),
                   auth=("anna", "anna-pw-5d1e"), cafile=relay.ca.cert)

        with relay:
            send("vorher")
            (meta, raw), = sink.wait_for(1, timeout=30)
            assert b"application/pkcs7-mime" in raw
            # The CA revokes the certificate; cron drops the new CRL into crl_dir.
            ca_revoke_and_crl(ca, lab, crl_dir / "ca.pem")
            refused = relay.cli("--json", "keys", "locate", "lab@labor.example", check=False)
            assert refused.returncode == 1
            reasons = [r["reason"] for r in json.loads(refused.stdout)["rejected"]]
            assert any("certificate revoked" in r for r in reasons), reasons
            # The running daemon takes it within its check interval, no restart.
            time.sleep(6)
            send("nachher")
            time.sleep(5)
            assert len(list((tmp / "sink").glob("*.eml"))) == 1
            queued = json.loads(relay.cli("queue", "list", "--json").stdout)["messages"]
            assert len(queued) == 1 and queued[0]["recipients"][0]["status"] != "delivered"
            assert "451 4.7.0" in queued[0]["recipients"][0]["last_reply"]
            assert "keystore.trust_reloaded" in relay.log()


def signing_setup(tmp, homes, locals_):
    """A patient key (exported to pat.asc) and a practice signing key for each
    <local>@praxis.example (secret exported to <local>.sec, public known to the
    patient); returns the patient's home and the practice fingerprints."""
    patient, practice = GpgHome(tmp / "patient"), GpgHome(tmp / "practice")
    homes += [patient.dir, practice.dir]
    patient.gen_key("pat@example.org", name="Pat")
    patient.export("pat@example.org", tmp / "pat.asc")
    fprs = {}
    for local in locals_:
        fprs[local] = practice.gen_key(local + "@praxis.example", name=local.title())
        practice.export_secret(fprs[local], tmp / (local + ".sec"))
        practice.export(local + "@praxis.example", tmp / (local + ".pub"))
        patient.gpg("--import", tmp / (local + ".pub"))
    return patient, fprs


def test_a_from_that_is_not_the_sender_does_not_borrow_its_signing_key(work):
    """A client may put any From: in a message; a From: that is not the
    envelope sender (nor an address the sender may use) gets no signature."""
    tmp, homes = work
    patient, fprs = signing_setup(tmp, homes, ["chef", "praxis"])
    chef, praxis = fprs["chef"], fprs["praxis"]

    forged = make_message().replace(b"From: Anna Arzt <anna@praxis.example>",
                                    b"From: Chefarzt <chef@praxis.example>")
    outputs, held = seal(tmp, forged, ["pat@example.org"],
                         imports=[tmp / "pat.asc", tmp / "chef.sec", tmp / "praxis.sec"])
    assert held == []
    raw, _ = outputs["pgp"]
    _, encrypted = list(email.message_from_bytes(raw, policy=email.policy.default).iter_parts())
    (tmp / "f.asc").write_bytes(encrypted.get_payload(decode=True))
    status = patient.gpg("--status-fd", "2", "--decrypt", tmp / "f.asc").stderr.decode()
    # Neither the colleague named in From: nor a signer that does not match it.
    assert "DECRYPTION_OKAY" in status
    assert "SIG_ID" not in status and "VALIDSIG" not in status
    assert chef not in status and praxis not in status


def test_daemon_signs_as_another_address_of_the_user_but_never_as_a_stranger(work):
    """Through sealpostd: a From: that the authenticated user may send as (one of
    their `users:` addresses) picks its own signing key; a From: that is not
    theirs is sent encrypted but unsigned."""
    from recording_sink import Sink
    from sealpost_harness import submit
    tmp, homes = work
    patient, fprs = signing_setup(tmp, homes, ["empfang", "chef"])
    empfang, chef = fprs["empfang"], fprs["chef"]
    with Sink(tmp / "sink") as sink:
        relay = Relay(tmp, smarthost_port=sink.port, policy=DAEMON_POLICY)
        homes.append(relay.state_dir / "gnupg")
        relay.add_user("anna", "anna-pw-5d1e", ["anna@praxis.example", "empfang@praxis.example"])
        relay.cli("keys", "import", tmp / "pat.asc", tmp / "empfang.sec", tmp / "chef.sec")
        with relay:
            for sender in ("empfang", "chef"):
                msg = make_message().replace(b"From: Anna Arzt <anna@praxis.example>",
                                             b"From: <%s@praxis.example>" % sender.encode())
                code, _ = submit(relay.port("submission"), "anna@praxis.example",
                                 ["pat@example.org"], msg, auth=("anna", "anna-pw-5d1e"),
                                 cafile=relay.ca.cert)
                assert code == 250
            got = [raw for _, raw in sink.wait_for(2, timeout=60)]
    statuses = {}
    for raw in got:
        outer = email.message_from_bytes(raw, policy=email.policy.default)
        (tmp / "x.asc").write_bytes(list(outer.iter_parts())[1].get_payload(decode=True))
        r = patient.gpg("--status-fd", "2", "--decrypt", tmp / "x.asc")
        inner = email.message_from_bytes(r.stdout, policy=email.policy.default)
        statuses[inner["From"].addresses[0].username] = r.stderr.decode()
    assert "VALIDSIG" in statuses["empfang"] and empfang in statuses["empfang"]
    assert "DECRYPTION_OKAY" in statuses["chef"]
    assert "VALIDSIG" not in statuses["chef"] and chef not in statuses["chef"]
