"""sealpost-portal end to end over HTTP (no browser): link, second factor,
read, download, reply, lockout, revoked/expired/tampered links, headers, CLI.

Pickups are deposited with pickup_deposit_tool so the portal is tested alone;
replies and staff notices go to a recording SMTP sink standing in for
sealpostd's filter listener. test_pickup_loop.py runs the same loop through
the real sealpostd."""
import email
import email.policy
import http.client
import json
import os
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from recording_sink import Sink
from sealpost_harness import BUILD_DIR, SEALPOST, SOURCE_DIR, free_port, wait_port

PORTAL = BUILD_DIR / "portal" / "sealpost-portal"
DEPOSIT = BUILD_DIR / "tests" / "unit" / "portal" / "pickup_deposit_tool"
SENDER = "dr.mueller@praxis.example"
PATIENT = "patient@example.org"
PDF_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"

MESSAGE = (
    "From: Dr. Mueller <dr.mueller@praxis.example>\r\n"
    "To: patient@example.org\r\n"
    "Subject: Ihr Befund\r\n"
    "Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Guten Tag, anbei Ihr Laborbefund. Werte unauffaellig.\r\n"
    "--b1\r\nContent-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"Befund M\xfcller.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
).encode("latin-1")


def message_bytes():
    import base64
    return MESSAGE + base64.encodebytes(PDF_BYTES).replace(b"\n", b"\r\n") + b"--b1--\r\n"


class PortalEnv:
    """A portal process on a free port with its own state dir, SMS capture and sink."""

    def __init__(self, tmp_path, max_attempts=3, tls=None, sms_delay=0, extra_config="",
                 portal_config="", sms_command=True, args=()):
        self.dir = Path(tmp_path)
        self.state = self.dir / "state"
        self.state.mkdir(parents=True, exist_ok=True)
        self.sms_dir = self.dir / "sms"
        self.sms_dir.mkdir(exist_ok=True)
        self.sms_script = self.dir / "send-sms"
        # Test SMS gateway: the code arrives on stdin; every send is also
        # counted in sends.log (the per-number file keeps only the last code).
        self.sms_script.write_text("#!/bin/sh\n%s"
                                   "code=$(cat)\necho \"$1\" >> \"%s/sends.log\"\n"
                                   "echo \"$code\" > \"%s/$1.txt\"\n"
                                   % ("sleep %s\n" % sms_delay if sms_delay else "",
                                      self.dir, self.sms_dir))
        self.sms_script.chmod(0o755)
        self.sink = Sink(str(self.dir / "sink")).start()
        self.port = free_port()
        self.base = ("https://localhost:%d" if tls else "http://127.0.0.1:%d") % self.port
        (self.dir / "policy.yaml").write_text("defaults:\n  methods: [pickup]\n")
        (self.dir / "users.yaml").write_text("users: []\n")
        (self.dir / "users.yaml").chmod(0o640)  # check-config refuses o+r secrets
        self.config = self.dir / "sealpost.yaml"
        self.config.write_text(
            "state_dir: %s\nhostname: relay.praxis.example\npolicy: %s\nusers: %s\n"
            "listen:\n  - {address: \"127.0.0.1:%d\", mode: filter, trusted_networks: [127.0.0.0/8]}\n"
            "smarthost: {host: 127.0.0.1, port: 9, tls: none, insecure: true}\n"
            "portal:\n  public_url: %s\n  listen: \"127.0.0.1:%d\"\n"
            "  trusted_proxies: [\"127.0.0.1/32\"]\n%s"
            % (self.state, self.dir / "policy.yaml", self.dir / "users.yaml", self.sink.port, self.base,
               self.port, "  sms_command: \"%s {number}\"\n" % self.sms_script if sms_command else "")
            + ("  tls: {cert: %s, key: %s}\n" % tuple(tls) if tls else "") + portal_config
            + extra_config)
        self.log_path = self.dir / "portal.log"
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(PORTAL), "-c", str(self.config), "--submit", "127.0.0.1:%d" % self.sink.port,
             "--practice-name", "Praxis Dr. Mueller", "--mail-from", "portal@praxis.example",
             "--templates", str(SOURCE_DIR / "conf" / "templates"),
             "--max-attempts", str(max_attempts), *args],
            stdout=self.log_file, stderr=self.log_file)
        try:
            wait_port(self.port, proc=self.proc)
        except Exception:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        self.sink.stop()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def deposit(self, auth="sms", expires=None, passphrase=None, message=None, number="+4915112345678"):
        cmd = [DEPOSIT, "--state-dir", self.state, "--public-url", self.base,
               "--recipient", PATIENT, "--sender", SENDER, "--auth", auth, "--sms-number", number]
        if expires is not None:
            cmd += ["--expires", str(expires)]
        if passphrase is not None:
            cmd += ["--passphrase", passphrase]
        out = subprocess.run([str(c) for c in cmd], input=message or message_bytes(),
                             capture_output=True, check=True)
        return json.loads(out.stdout)

    def sms_code(self, number="+4915112345678", timeout=10):
        path = self.sms_dir / (number + ".txt")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if path.exists():
                m = re.search(r"\b(\d{8})\b", path.read_text())
                if m:
                    path.unlink()
                    return m.group(1)
            time.sleep(0.05)
        raise AssertionError("no SMS code arrived")

    def cli(self, *args, check=True):
        return subprocess.run([str(SEALPOST), "-c", str(self.config), *map(str, args)],
                              capture_output=True, text=True, check=check)


class Browserish:
    """Minimal HTTP client that keeps the session cookie even over plain
    loopback HTTP (the cookie is Secure; real browsers treat 127.0.0.1 as secure)."""

    def __init__(self, base):
        self.host, self.port = base.split("//")[1].split(":")
        self.cookie = None
        self.cookie_name = "sp_session"  # "__Host-sp_session" when the portal is on https
        self.lang = "de-DE,de;q=0.9,en;q=0.5"

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=20)
        h = {"Accept-Language": self.lang}
        if self.cookie:
            h["Cookie"] = self.cookie_name + "=" + self.cookie
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                m = re.match(r"((?:__Host-)?sp_session)=([^;]*)", v)
                if m:
                    self.cookie_name = m.group(1)
                    self.cookie = m.group(2) or None
        conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def get(self, path):
        return self.request("GET", path)

    def post_form(self, path, fields):
        from urllib.parse import urlencode
        return self.request("POST", path, urlencode(fields),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def post_multipart(self, path, fields, files):
        boundary = "----sealposttest" + uuid.uuid4().hex
        parts = []
        for k, v in fields.items():
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, k)).encode()
                         + v.encode() + b"\r\n")
        for name, (filename, ctype, data) in files:
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                          "Content-Type: %s\r\n\r\n" % (boundary, name, filename, ctype)).encode("utf-8")
                         + data + b"\r\n")
        body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
        return self.request("POST", path, body, {"Content-Type": "multipart/form-data; boundary=" + boundary})

    def csrf(self, html):
        m = re.search(rb'name="csrf" value="([^"]+)"', html)
        assert m, html[:500]
        return m.group(1).decode()


def path_of(url):
    return "/" + url.split("/", 3)[3]


def decoded_body(raw):
    """The text of a mail with its transfer encoding undone (the portal's and
    relay's mails are base64), so content checks look at what a reader sees."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [p for p in msg.walk() if not p.is_multipart()]
    return b"".join(p.get_payload(decode=True) or b"" for p in parts)


def audit_events(env, want=None, timeout=5):
    """The portal's hash-chained audit events (dicts), once `want` shows up."""
    deadline = time.time() + timeout
    while True:
        text = "".join(p.read_text() for p in sorted((env.state / "portal-audit").glob("*.jsonl")))
        events = [json.loads(l) for l in text.splitlines() if l.strip()]
        if want is None or any(e["type"] == want for e in events) or time.time() > deadline:
            return events
        time.sleep(0.05)


@pytest.fixture
def env(tmp_path):
    e = PortalEnv(tmp_path)
    yield e
    e.stop()


def open_and_authenticate(env, b, dep):
    status, headers, hop = b.get(path_of(dep["url"]))
    # A 200 page that moves on by itself, not a redirect: a redirect would still
    # be the webmail's cross-site navigation, which drops the SameSite=Strict cookie.
    assert status == 200 and "location" not in headers, headers
    assert b'<meta http-equiv="refresh" content="0; url=/auth">' in hop
    assert b'href="/auth"' in hop and path_of(dep["url"]).encode() not in hop
    assert b.cookie
    status, _, page = b.get("/auth")
    assert status == 200
    csrf = b.csrf(page)
    status, headers, _ = b.post_form("/auth/send", {"csrf": csrf})
    assert status == 303, headers
    code = env.sms_code()
    status, headers, _ = b.post_form("/auth/verify", {"csrf": csrf, "code": code})
    assert status == 303 and headers["location"] == "/read"


def test_full_pickup_flow_read_download_reply(env):
    dep = env.deposit()
    b = Browserish(env.base)
    open_and_authenticate(env, b, dep)

    status, headers, page = b.get("/read")
    assert status == 200
    assert "Guten Tag, anbei Ihr Laborbefund".encode() in page
    assert "Befund Müller.pdf".encode() in page
    assert b'lang="de"' in page
    assert headers["cache-control"] == "no-store"
    assert "default-src 'self'" in headers["content-security-policy"]

    status, headers, data = b.get("/att/0")
    assert status == 200
    assert data == PDF_BYTES
    assert headers["content-type"] == "application/octet-stream"
    assert headers["x-content-type-options"] == "nosniff"
    assert "filename*=UTF-8''Befund%20M%C3%BCller.pdf" in headers["content-disposition"]
    assert headers["content-disposition"].startswith("attachment;")

    status, _, page = b.get("/reply")
    csrf = b.csrf(page)
    reply_file = b"scan of my insurance card\x00\x01\x02" * 100
    status, headers, _ = b.post_multipart(
        "/reply", {"csrf": csrf, "text": "Danke, Frau Doktor!\nViele Gruesse"},
        [("files", ("Versichertenkarte.png", "image/png", reply_file))])
    assert status == 303 and headers["location"] == "/done"
    receipt, (meta, raw) = env.sink.wait_for(2)  # the pickup receipt came first
    assert b"abgeholt" in decoded_body(receipt[1])
    assert meta["rcpt_tos"] == [SENDER] and meta["mail_from"] == PATIENT
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["To"]) == SENDER
    assert PATIENT in msg["From"]
    assert msg["Subject"] == "Re: Ihr Befund"
    body = msg.get_body(("plain",)).get_content()
    assert "Danke, Frau Doktor!" in body
    atts = list(msg.iter_attachments())
    assert len(atts) == 1
    assert atts[0].get_filename() == "Versichertenkarte.png"
    assert atts[0].get_payload(decode=True) == reply_file

    status, _, page = b.get("/done")
    assert status == 200
    # The index now records the pickup time.
    listing = json.loads(env.cli("pickup", "list", "--json").stdout)
    row = [p for p in listing["pickups"] if p["id"] == dep["id"]][0]
    assert row["picked_up"] is not None and row["state"] == "active"

    # The audit trail names the pickup and outcomes but never content.
    log = env.log()
    for event in ("pickup.opened", "pickup.code_sent", "pickup.auth_ok", "pickup.read",
                  "pickup.downloaded", "pickup.replied"):
        assert event in log
    for secret in ("Laborbefund", "Befund M", "Danke", dep["url"].rsplit("/", 1)[1]):
        assert secret not in log
    # The same events are in the portal's hash-chained audit log.
    chain = "".join(p.read_text() for p in (env.state / "portal-audit").glob("*.jsonl"))
    assert '"pickup.downloaded"' in chain and dep["id"] in chain and PATIENT in chain
    assert "Laborbefund" not in chain and dep["url"].rsplit("/", 1)[1] not in chain


def test_the_session_token_and_csrf_token_change_when_the_second_factor_passes(env):
    """No session fixation: a cookie (and CSRF token) planted or seen before the
    second factor is dead afterwards; only the freshly issued one reads."""
    dep = env.deposit()
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    before = b.cookie
    _, _, page = b.get("/auth")
    csrf = b.csrf(page)
    b.post_form("/auth/send", {"csrf": csrf})
    status, headers, _ = b.post_form("/auth/verify", {"csrf": csrf, "code": env.sms_code()})
    assert status == 303 and headers["location"] == "/read"
    assert "Secure" in headers["set-cookie"] and "HttpOnly" in headers["set-cookie"]
    assert b.cookie and b.cookie != before
    assert b.get("/read")[0] == 200
    _, _, page = b.get("/reply")
    assert b.csrf(page) != csrf
    fixated = Browserish(env.base)
    fixated.cookie = before
    status, _, body = fixated.get("/read")
    assert status == 403 and b"Laborbefund" not in body
    # The old CSRF token no longer works with the new session either.
    assert b.post_form("/logout", {"csrf": csrf})[0] == 403


def test_wrong_codes_lock_the_pickup_and_tell_the_sender(env):
    dep = env.deposit()
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    _, _, page = b.get("/auth")
    csrf = b.csrf(page)
    b.post_form("/auth/send", {"csrf": csrf})
    code = env.sms_code()
    wrong = ("0" if code[0] != "0" else "1") + code[1:]
    status, _, page = b.post_form("/auth/verify", {"csrf": csrf, "code": wrong})
    assert status == 200 and "Verbleibende Versuche: 2".encode() in page
    b.post_form("/auth/verify", {"csrf": csrf, "code": wrong})
    status, _, page = b.post_form("/auth/verify", {"csrf": csrf, "code": wrong})
    assert status == 423
    # Even the right code no longer works, and the link itself shows the lock.
    b2 = Browserish(env.base)
    status, _, page = b2.get(path_of(dep["url"]))
    assert status == 423 and "gesperrt".encode() in page
    (meta, raw), = env.sink.wait_for(1)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["To"]) == SENDER
    assert "locked" in msg["Subject"].lower()
    listing = json.loads(env.cli("pickup", "list", "--json").stdout)
    assert [p["state"] for p in listing["pickups"] if p["id"] == dep["id"]] == ["locked"]


def test_tampered_links_fail_without_saying_which_part(env):
    dep = env.deposit()
    path = path_of(dep["url"])
    _, _, pid, secret = path.split("/")
    flip = lambda s: ("b" if s[0] == "a" else "a") + s[1:]
    bodies = []
    for p in ("/p/%s/%s" % (flip(pid), secret), "/p/%s/%s" % (pid, flip(secret)),
              "/p/%s/%s" % (pid, secret[:-1]), "/p/%s/%s" % (pid, "x" * 43)):
        status, headers, body = Browserish(env.base).get(p)
        assert status == 404
        assert "set-cookie" not in headers
        bodies.append(body)
    assert len(set(bodies)) == 1
    # The real link still works afterwards.
    status, _, _ = Browserish(env.base).get(path)
    assert status == 200


def test_revoked_and_expired_links_show_a_clear_page(env):
    revoked = env.deposit()
    env.cli("pickup", "revoke", revoked["id"])
    status, _, page = Browserish(env.base).get(path_of(revoked["url"]))
    assert status == 410 and "nicht mehr verfügbar".encode() in page

    expiring = env.deposit(expires=1)
    time.sleep(1.5)
    status, _, page = Browserish(env.base).get(path_of(expiring["url"]))
    assert status == 410
    out = env.cli("pickup", "purge").stdout
    assert "purged 1" in out
    assert not (env.state / "pickup" / "blobs" / (expiring["id"] + ".sealed")).exists()


def test_revocation_ends_an_open_session(env):
    dep = env.deposit()
    b = Browserish(env.base)
    open_and_authenticate(env, b, dep)
    assert b.get("/att/0")[0] == 200
    env.cli("pickup", "revoke", dep["id"])
    assert b.get("/att/0")[0] == 410


def test_pages_and_blobs_need_a_session(env):
    env.deposit()
    b = Browserish(env.base)
    for path in ("/read", "/att/0", "/auth", "/reply", "/done"):
        status, headers, body = b.get(path)
        assert status == 403, path
        assert b"Laborbefund" not in body
    # A session that has not passed the second factor cannot download either.
    dep = env.deposit()
    b.get(path_of(dep["url"]))
    status, _, body = b.get("/att/0")
    assert status == 403 and not body.startswith(b"%PDF")
    status, headers, _ = b.get("/read")
    assert status == 303 and headers["location"] == "/auth"


def test_posts_without_the_csrf_token_are_refused(env):
    dep = env.deposit()
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    status, _, _ = b.post_form("/auth/send", {"csrf": "forged"})
    assert status == 403
    status, _, _ = b.post_form("/auth/send", {})
    assert status == 403
    assert not list(env.sms_dir.iterdir())


def test_english_by_accept_language_and_security_headers(env):
    dep = env.deposit()
    b = Browserish(env.base)
    b.lang = "en-GB,en;q=0.8"
    b.get(path_of(dep["url"]))
    status, headers, page = b.get("/auth")
    assert b'lang="en"' in page and b"Request code" in page
    assert b"<script" not in page
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "max-age=" in headers["strict-transport-security"]
    assert 'for="code"' in page.decode()


def test_sms_code_requests_are_capped_per_pickup(env):
    """Five codes per pickup and hour, whichever client asks: a patient's phone
    cannot be flooded with SMS (and the practice's SMS bill with it)."""
    from urllib.parse import urlencode
    dep = env.deposit()
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    _, _, page = b.get("/auth")
    csrf = b.csrf(page)
    statuses = []
    for i in range(6):  # a fresh address each time: the per-client limit is not what stops it
        status, _, _ = b.request("POST", "/auth/send", urlencode({"csrf": csrf}),
                                 {"Content-Type": "application/x-www-form-urlencoded",
                                  "X-Forwarded-For": "2001:db8:%x::1" % (i + 1)})
        statuses.append(status)
    assert statuses == [303] * 5 + [429], statuses
    sends = (env.dir / "sends.log").read_text().split()
    assert sends == ["+4915112345678"] * 5, sends


def test_code_to_sender_mails_the_code_to_staff(env):
    dep = env.deposit(auth="code-to-sender")
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    _, _, page = b.get("/auth")
    csrf = b.csrf(page)
    assert b.post_form("/auth/send", {"csrf": csrf})[0] == 303
    (meta, raw), = env.sink.wait_for(1)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["To"]) == SENDER
    code = re.search(r"\b(\d{8})\b", msg.get_content()).group(1)
    status, headers, _ = b.post_form("/auth/verify", {"csrf": csrf, "code": code})
    assert status == 303 and headers["location"] == "/read"


def test_passphrase_pickup(env):
    dep = env.deposit(auth="passphrase", passphrase="blauer Elefant 42")
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    _, _, page = b.get("/auth")
    assert b'type="password"' in page
    csrf = b.csrf(page)
    status, _, _ = b.post_form("/auth/verify", {"csrf": csrf, "secret": "blauer Elefant"})
    assert status == 200
    status, headers, _ = b.post_form("/auth/verify", {"csrf": csrf, "secret": "blauer Elefant 42"})
    assert status == 303 and headers["location"] == "/read"


def test_oversized_and_malformed_requests_are_bounded(env):
    conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=10)
    conn.putrequest("POST", "/auth/verify")
    conn.putheader("Content-Length", str(10 * 1024 * 1024))
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 413
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=10)
    conn.putrequest("GET", "/read")
    conn.putheader("X-Filler", "a" * 20000)
    conn.endheaders()
    try:
        r = conn.getresponse()
        assert r.status >= 400
    except (http.client.RemoteDisconnected, ConnectionResetError):
        pass
    conn.close()
    # Still serving.
    assert Browserish(env.base).get("/portal.css")[0] == 200


def test_guessing_links_is_rate_limited_per_client(env):
    b = Browserish(env.base)
    statuses = [b.get("/p/%s/%s" % ("a" * 26, "B" * 43))[0] for _ in range(22)]
    assert statuses[0] == 404 and statuses[-1] == 429
    # A proxy-supplied client address is honoured only from trusted proxies
    # (127.0.0.1 is trusted here), so another client behind the proxy is not blocked.
    status, _, _ = b.request("GET", "/p/%s/%s" % ("a" * 26, "B" * 43),
                             headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 404


def test_a_flood_without_a_session_cannot_grow_the_audit_log(env):
    """Bad links and requests without a session are audited per client in a
    token bucket (20, then one per 30 s); the rest is counted and written as one
    portal.audit_suppressed summary (here at shutdown), so nothing goes unsaid."""
    b = Browserish(env.base)
    n = 300
    for i in range(n):
        path = "/p/%s/%s" % ("a" * 26, "B" * 43) if i % 2 else "/read"
        assert b.get(path)[0] in (403, 404, 429)
    env.stop()
    events = audit_events(env)
    kinds = ("pickup.link_invalid", "pickup.no_session", "pickup.rate_limited")
    counts = {k: sum(e["type"] == k for e in events) for k in kinds}
    # 20 of each kind at most (its own bucket per client), and every kind seen.
    assert all(1 <= v <= 20 for v in counts.values()), counts
    summaries = [e for e in events if e["type"] == "portal.audit_suppressed"]
    assert {s["fields"]["client"] for s in summaries} == {"127.0.0.1"}
    assert sum(int(s["fields"]["suppressed"]) for s in summaries) + sum(counts.values()) == n
    assert len(events) <= 3 * 21


def test_https_with_portal_tls(tmp_path):
    import ssl
    from sealpost_harness import TestCA
    ca = TestCA(tmp_path / "ca")
    cert, key = ca.server_cert("localhost", stem="portal")
    env = PortalEnv(tmp_path / "portal", tls=(cert, key))
    try:
        dep = env.deposit()
        assert dep["url"].startswith("https://localhost:%d/p/" % env.port)
        ctx = ssl.create_default_context(cafile=str(ca.cert))
        conn = http.client.HTTPSConnection("localhost", env.port, context=ctx, timeout=10)
        conn.request("GET", path_of(dep["url"]))
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        # Served over https: the __Host- prefix (Secure, Path=/, no Domain).
        cookie = r.getheader("Set-Cookie")
        assert cookie.startswith("__Host-sp_session=")
        assert "; Secure" in cookie and "; Path=/" in cookie and "Domain" not in cookie
        token = cookie.split(";")[0].split("=", 1)[1]
        r.close()
        conn.request("GET", "/auth", headers={"Cookie": "__Host-sp_session=" + token})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200 and b"Request code" in body
        conn.request("GET", "/auth", headers={"Cookie": "sp_session=" + token})
        r = conn.getresponse()
        r.read()
        assert r.status == 403  # the unprefixed name is not the session cookie here
        assert r.getheader("Strict-Transport-Security").startswith("max-age=")
        conn.close()
        # Plain HTTP on the TLS port gets nothing.
        plain = http.client.HTTPConnection("127.0.0.1", env.port, timeout=5)
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            plain.request("GET", "/portal.css")
            plain.getresponse().read()
        plain.close()
    finally:
        env.stop()


def test_sighup_reloads_the_tls_certificate_and_keeps_serving(tmp_path):
    """systemctl reload sends SIGHUP (ExecReload): the portal must not die, and
    a renewed certificate is served to new connections; a broken one is refused
    and the old one stays."""
    import signal
    import ssl
    from sealpost_harness import TestCA
    ca = TestCA(tmp_path / "ca")
    cert, key = ca.server_cert("localhost", stem="portal")
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    live_cert.write_bytes(Path(cert).read_bytes())
    live_key.write_bytes(Path(key).read_bytes())
    env = PortalEnv(tmp_path / "portal", tls=(live_cert, live_key))

    def served_serial():
        ctx = ssl.create_default_context(cafile=str(ca.cert))
        with socket.create_connection(("127.0.0.1", env.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return s.getpeercert(binary_form=True)

    def wait_log(text, count):
        deadline = time.time() + 10
        while time.time() < deadline and env.log().count(text) < count:
            time.sleep(0.05)
        assert env.log().count(text) >= count, env.log()[-2000:]

    try:
        first = served_serial()
        renewed, renewed_key = ca.server_cert("localhost", stem="portal2")
        live_cert.write_bytes(Path(renewed).read_bytes())
        live_key.write_bytes(Path(renewed_key).read_bytes())
        env.proc.send_signal(signal.SIGHUP)
        wait_log("portal.reload result=ok", 1)
        second = served_serial()
        assert second != first
        assert second == ssl.PEM_cert_to_DER_cert(Path(renewed).read_text())

        # A key that does not match: refused, the renewed certificate stays.
        live_key.write_bytes(Path(key).read_bytes())
        env.proc.send_signal(signal.SIGHUP)
        wait_log("portal.reload result=failed", 1)
        assert served_serial() == second
        assert env.proc.poll() is None
    finally:
        env.stop()


def test_forwarded_for_lines_are_joined_so_a_client_line_cannot_win(env):
    """Behind HAProxy-style proxies that add their own X-Forwarded-For line
    instead of appending to the client's, the client's line comes first; the
    portal must read all lines in order and take the right-most untrusted hop
    (the proxy's), not the first line."""
    conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=10)
    conn.putrequest("GET", "/p/%s/%s" % ("c" * 26, "D" * 43))
    conn.putheader("X-Forwarded-For", "198.51.100.66")  # written by the client
    conn.putheader("X-Forwarded-For", "203.0.113.77")   # appended by the proxy
    conn.endheaders()
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 404
    deadline = time.time() + 5
    chain = ""
    while time.time() < deadline and "pickup.link_invalid" not in chain:
        chain = "".join(p.read_text() for p in (env.state / "portal-audit").glob("*.jsonl"))
        time.sleep(0.05)
    events = [json.loads(l) for l in chain.splitlines() if "pickup.link_invalid" in l]
    assert len(events) == 1, chain
    assert "203.0.113.77" in json.dumps(events[0])
    assert "198.51.100.66" not in chain


def test_the_large_reply_limit_needs_an_authenticated_session(env):
    """20 MiB of memory only for a session past the second factor: without one
    (or before the factor) /reply gets the small form limit and 413 at once."""
    def post_reply_headers(cookie):
        conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=10)
        conn.putrequest("POST", "/reply")
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.putheader("Content-Length", str(5 * 1024 * 1024))
        if cookie:
            conn.putheader("Cookie", "sp_session=" + cookie)
        conn.endheaders()  # no body sent: the answer must come from the headers alone
        r = conn.getresponse()
        r.read()
        conn.close()
        return r.status

    assert post_reply_headers(None) == 413
    assert post_reply_headers("f" * 43) == 413
    dep = env.deposit()
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    assert post_reply_headers(b.cookie) == 413  # a session, but not past the second factor
    open_and_authenticate(env, b, env.deposit())
    # Authenticated: the server waits for the body instead of refusing.
    conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=3)
    conn.putrequest("POST", "/reply")
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(5 * 1024 * 1024))
    conn.putheader("Cookie", "sp_session=" + b.cookie)
    conn.endheaders()
    with pytest.raises(socket.timeout):
        conn.getresponse()
    conn.close()


def test_one_client_cannot_hold_every_connection(tmp_path):
    """limits.max_connections_per_client caps one address (IPv6: one /64);
    others are still served. 127.0.0.2 is not a trusted proxy here."""
    env = PortalEnv(tmp_path, extra_config="limits: {max_connections_per_client: 3}\n")
    try:
        held = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", env.port), source_address=("127.0.0.2", 0))
            held.append(s)
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", env.port), source_address=("127.0.0.2", 0))
        extra.settimeout(5)
        extra.sendall(b"GET /portal.css HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            assert extra.recv(100) == b""  # closed without an answer
        except ConnectionResetError:
            pass
        extra.close()
        # Another client is served meanwhile, and the capped one again once it lets go.
        other = http.client.HTTPConnection("127.0.0.1", env.port, timeout=5,
                                           source_address=("127.0.0.3", 0))
        other.request("GET", "/portal.css")
        assert other.getresponse().status == 200
        other.close()
        held.pop().close()
        time.sleep(0.2)
        again = http.client.HTTPConnection("127.0.0.1", env.port, timeout=5,
                                           source_address=("127.0.0.2", 0))
        again.request("GET", "/portal.css")
        assert again.getresponse().status == 200
        again.close()
        for s in held:
            s.close()
    finally:
        env.stop()


def test_slow_sms_sends_do_not_stall_page_serving(tmp_path):
    """SMS commands (up to 20 s), SMTP submits and argon2id run on a worker
    pool: while several slow sends are in progress the portal keeps serving
    pages, and one client gets at most two slow requests at a time."""
    import threading
    from urllib.parse import urlencode
    env = PortalEnv(tmp_path, sms_delay=4)
    try:
        sessions = []
        for i in range(6):
            b = Browserish(env.base)
            b.get(path_of(env.deposit()["url"]))
            _, _, page = b.get("/auth")
            sessions.append((b, b.csrf(page)))
        results = {}
        spare = env.deposit()  # opened while the sends run

        def send(i, b, csrf, client):
            results[i] = b.request("POST", "/auth/send", urlencode({"csrf": csrf}),
                                   {"Content-Type": "application/x-www-form-urlencoded",
                                    "X-Forwarded-For": client})[0]
        # Five different clients (more than the I/O threads) start slow sends ...
        threads = [threading.Thread(target=send, args=(i, b, c, "198.51.100.%d" % (i + 1)))
                   for i, (b, c) in enumerate(sessions[:5])]
        for t in threads:
            t.start()
        time.sleep(1)
        # ... and pages are still served at once.
        start = time.time()
        assert Browserish(env.base).get("/portal.css")[0] == 200
        assert Browserish(env.base).get(path_of(spare["url"]))[0] == 200
        assert time.time() - start < 2, time.time() - start  # the sends take 4 s each
        for t in threads:
            t.join(30)
        assert sorted(results.values()) == [303] * 5, results

        # One client with three slow requests at once: the third is turned away.
        b, csrf = sessions[5]
        others = [Browserish(env.base) for _ in range(2)]
        for o in others:
            o.get(path_of(env.deposit()["url"]))
        trio = [(b, csrf)] + [(o, o.csrf(o.get("/auth")[2])) for o in others]
        results.clear()
        threads = [threading.Thread(target=send, args=(i, bb, cc, "203.0.113.9"))
                   for i, (bb, cc) in enumerate(trio)]
        for t in threads:
            t.start()
            time.sleep(0.3)
        for t in threads:
            t.join(30)
        assert sorted(results.values()) == [303, 303, 503], results
        assert "portal.busy" in env.log()
    finally:
        env.stop()


def test_refusals_and_errors_are_audited_too(env):
    """Every access is an audit event, not only the successes: CSRF refusals,
    rate limits, expired codes, pickups revoked under an open session, 503s
    and requests refused before their body."""
    def types():
        return [e["type"] for e in audit_events(env)]

    dep = env.deposit()
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    _, _, page = b.get("/auth")
    csrf = b.csrf(page)
    assert b.post_form("/auth/send", {"csrf": "forged"})[0] == 403
    assert "pickup.csrf_rejected" in [e["type"] for e in audit_events(env, "pickup.csrf_rejected")]
    # No code was requested: the answer finds no pending code (not counted).
    status, _, page = b.post_form("/auth/verify", {"csrf": csrf, "code": "12345678"})
    assert status == 200 and "Kein gültiger Code".encode() in page
    assert "pickup.code_expired" in [e["type"] for e in audit_events(env, "pickup.code_expired")]

    # A pickup revoked while its session is open.
    env.cli("pickup", "revoke", dep["id"])
    assert b.get("/auth")[0] == 410
    gone = [e for e in audit_events(env, "pickup.session_gone") if e["type"] == "pickup.session_gone"]
    assert gone and dep["id"] in json.dumps(gone[0])

    # A blob that cannot be read: 503, audited with the stage that failed.
    dep2 = env.deposit()
    b2 = Browserish(env.base)
    open_and_authenticate(env, b2, dep2)
    (env.state / "pickup" / "blobs" / (dep2["id"] + ".sealed")).write_bytes(b"SPPK1\nbroken")
    assert b2.get("/read")[0] == 503
    errors = [e for e in audit_events(env, "pickup.error") if e["type"] == "pickup.error"]
    assert errors and "read_blob" in json.dumps(errors[0])

    # Refused before the body is read.
    conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=10)
    conn.putrequest("POST", "/auth/verify")
    conn.putheader("Content-Length", str(1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()
    rejected = [e for e in audit_events(env, "portal.rejected") if e["type"] == "portal.rejected"]
    assert rejected and "413" in json.dumps(rejected[0])

    # Rate limits: a client guessing links is stopped and that is recorded.
    for _ in range(21):
        Browserish(env.base).get("/p/%s/%s" % ("a" * 26, "B" * 43))
    assert "pickup.rate_limited" in [e["type"] for e in audit_events(env, "pickup.rate_limited")]
    text = json.dumps(audit_events(env))
    assert "Laborbefund" not in text and dep["url"].rsplit("/", 1)[1] not in text


def test_the_sender_gets_a_pickup_receipt_once_without_content(env):
    """portal.pickup_receipt (default on): when the patient first passes the
    second factor the staff sender learns "abgeholt am ..." in German and
    English: recipient, pickup id, time; never subject, filenames or text."""
    dep = env.deposit()
    b = Browserish(env.base)
    open_and_authenticate(env, b, dep)
    (meta, raw), = env.sink.wait_for(1)
    assert meta["rcpt_tos"] == [SENDER]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["To"]) == SENDER and msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "Abgeholt / Picked up: " + PATIENT
    body = decoded_body(raw).decode()
    assert "wurde am" in body and "abgeholt" in body and "was picked up on" in body
    assert dep["id"] in body and PATIENT in body
    assert re.search(r"\d\d\.\d\d\.\d{4} um \d\d:\d\d UTC", body)
    for leak in ("Befund", "Laborbefund", "unauffaellig", ".pdf"):
        assert leak not in body and leak not in str(msg["Subject"])
    # Opening the same pickup again (new session) sends no second receipt.
    b2 = Browserish(env.base)
    open_and_authenticate(env, b2, dep)
    time.sleep(1)
    assert len(env.sink.messages()) == 1
    assert [e["type"] for e in audit_events(env)].count("pickup.receipt_sent") == 1


def test_pickup_receipts_can_be_switched_off(tmp_path):
    env = PortalEnv(tmp_path, portal_config="  pickup_receipt: false\n")
    try:
        open_and_authenticate(env, Browserish(env.base), env.deposit())
        time.sleep(1)
        assert env.sink.messages() == []
    finally:
        env.stop()


class SmsGateway:
    """A local HTTPS SMS gateway (Python ssl + http.server) with a test CA:
    records each request (path, headers, JSON body) and answers `status`
    with `answer` bytes."""

    def __init__(self, directory, status=200, answer=b'{"ok": true}'):
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from sealpost_harness import TestCA
        self.ca = TestCA(Path(directory) / "gateway-ca")
        cert, key = self.ca.server_cert("localhost", stem="gateway")
        self.requests = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                gateway.requests.append({"path": self.path, "headers": dict(self.headers),
                                         "body": json.loads(body)})
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = "https://localhost:%d/send" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def webhook_env(tmp_path, gateway, ca_file=True, header=True):
    auth = tmp_path / "sms-webhook.header"
    auth.write_text("Authorization: Bearer s3cr3t-token-4711\n")
    cfg = "  sms_webhook:\n    url: %s\n    timeout: 5s\n" % gateway.url
    if header:
        cfg += "    auth_header_file: %s\n" % auth
    if ca_file:
        cfg += "    ca_file: %s\n" % gateway.ca.cert
    return PortalEnv(tmp_path / "portal", portal_config=cfg, sms_command=False)


def request_code(env, dep):
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    _, _, page = b.get("/auth")
    csrf = b.csrf(page)
    status, headers, page = b.post_form("/auth/send", {"csrf": csrf})
    return b, csrf, status, page


def test_sms_codes_through_an_https_webhook(tmp_path):
    """portal.sms_webhook: the number and code go to the gateway in a JSON
    POST with the admin's auth header, over verified TLS; the code works;
    neither the header's secret nor the code shows up in the portal's log."""
    gateway = SmsGateway(tmp_path)
    env = webhook_env(tmp_path, gateway)
    try:
        dep = env.deposit()
        b, csrf, status, _ = request_code(env, dep)
        assert status == 303
        (req,) = gateway.requests
        assert req["path"] == "/send"
        assert req["headers"]["Authorization"] == "Bearer s3cr3t-token-4711"
        assert req["headers"]["Content-Type"] == "application/json"
        assert req["body"]["to"] == "+4915112345678"
        code = req["body"]["code"]
        assert re.fullmatch(r"\d{8}", code)
        assert req["body"]["text"] == "Code: %s (Praxis Dr. Mueller)" % code
        status, headers, _ = b.post_form("/auth/verify", {"csrf": csrf, "code": code})
        assert status == 303 and headers["location"] == "/read"
        log = env.log()
        assert "s3cr3t-token-4711" not in log and code not in log
        assert "pickup.code_sent" in log
    finally:
        env.stop()
        gateway.stop()


def test_a_failing_sms_gateway_leaves_a_marker_check_config_shows(tmp_path):
    """The portal's journal is not where admins look first: a failed SMS send
    leaves <state>/portal-audit/sms-failure (time and reason, no number or
    code), `sealpost check-config` warns about it, and the next success clears it."""
    env = PortalEnv(tmp_path)
    try:
        good = env.sms_script.read_text()
        env.sms_script.write_text("#!/bin/sh\ncat >/dev/null\nexit 3\n")
        _, _, status, page = request_code(env, env.deposit())
        assert status == 200 and "konnte gerade nicht versandt werden".encode() in page
        marker = env.state / "portal-audit" / "sms-failure"
        text = marker.read_text()
        assert "command failed with status" in text and "+49" not in text
        checked = env.cli("check-config", check=False)
        assert checked.returncode == 0, checked.stderr
        assert "last SMS send failed" in checked.stderr and "status" in checked.stderr
        env.sms_script.write_text(good)
        _, _, status, _ = request_code(env, env.deposit())
        assert status == 303
        assert not marker.exists()
        assert "last SMS send failed" not in env.cli("check-config").stderr
    finally:
        env.stop()


def test_check_config_warns_about_risky_webhook_settings(tmp_path):
    gateway = SmsGateway(tmp_path)
    try:
        env = webhook_env(tmp_path, gateway, header=False)
        env.stop()
        text = env.config.read_text().replace(gateway.url, gateway.url + "?api_key=4711")
        env.config.write_text(text)
        checked = env.cli("check-config", check=False)
        assert checked.returncode == 0, checked.stderr
        assert "carries user info or a query" in checked.stderr
        assert "no auth_header_file" in checked.stderr
    finally:
        gateway.stop()


def test_the_webhook_never_goes_through_an_environment_proxy(tmp_path, monkeypatch):
    """A proxy from the environment (https_proxy, ALL_PROXY, ...) must never
    see patients' numbers: libcurl is told to use no proxy at all."""
    import socket
    import threading
    proxy = socket.socket()
    proxy.bind(("127.0.0.1", 0))
    proxy.listen(8)
    proxy.settimeout(0.2)
    contacts = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = proxy.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                contacts.append(conn.recv(4096))
            except OSError:
                contacts.append(b"")
            conn.close()
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    url = "http://127.0.0.1:%d" % proxy.getsockname()[1]
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    gateway = SmsGateway(tmp_path)
    env = webhook_env(tmp_path, gateway)
    try:
        _, _, status, _ = request_code(env, env.deposit())
        assert status == 303, env.log()
        assert len(gateway.requests) == 1  # straight to the gateway
        assert contacts == []
    finally:
        env.stop()
        gateway.stop()
        stop.set()
        t.join(5)
        proxy.close()


def test_the_webhook_verifies_tls_and_needs_a_2xx(tmp_path):
    """Without the gateway's CA the certificate does not verify and nothing
    is sent; a gateway that answers 500 is a failure too; an oversized 2xx
    answer is cut off unread and counts as sent."""
    untrusted = SmsGateway(tmp_path / "a")
    env = webhook_env(tmp_path / "a", untrusted, ca_file=False)
    try:
        _, _, status, page = request_code(env, env.deposit())
        assert status == 200 and "konnte gerade nicht versandt werden".encode() in page
        assert untrusted.requests == []
        assert "pickup.code_send_failed" in env.log()
        assert "s3cr3t-token-4711" not in env.log()
    finally:
        env.stop()
        untrusted.stop()

    failing = SmsGateway(tmp_path / "b", status=500)
    env = webhook_env(tmp_path / "b", failing)
    try:
        _, _, status, page = request_code(env, env.deposit())
        assert status == 200 and "konnte gerade nicht versandt werden".encode() in page
        assert len(failing.requests) == 1
        assert "HTTP 500" in env.log()
    finally:
        env.stop()
        failing.stop()

    chatty = SmsGateway(tmp_path / "c", answer=b"x" * (2 * 1024 * 1024))
    env = webhook_env(tmp_path / "c", chatty, header=False)
    try:
        _, _, status, _ = request_code(env, env.deposit())
        assert status == 303
        assert "Authorization" not in chatty.requests[0]["headers"]
    finally:
        env.stop()
        chatty.stop()


def test_webhook_config_is_checked(tmp_path):
    """http:// URLs and sms_command together with sms_webhook are refused with
    file:line; an auth header file that is not one header line stops the start."""
    env_dir = tmp_path / "cfg"
    env_dir.mkdir()
    bad = env_dir / "header"
    bad.write_text("just-a-token-without-a-name\n")
    (env_dir / "policy.yaml").write_text("defaults:\n  methods: [pickup]\n")
    (env_dir / "users.yaml").write_text("users: []\n")
    base = ("state_dir: %s\nhostname: relay.praxis.example\npolicy: %s\nusers: %s\n"
            "listen:\n  - {address: \"127.0.0.1:10025\", mode: filter, trusted_networks: [127.0.0.0/8]}\n"
            "smarthost: {host: 127.0.0.1, port: 9, tls: none, insecure: true}\n"
            "portal:\n  public_url: https://pickup.example\n"
            % (env_dir / "state", env_dir / "policy.yaml", env_dir / "users.yaml"))
    cases = [
        (base + "  sms_webhook: {url: http://sms.example/send}\n", "must be an https:// URL"),
        (base + "  sms_command: /bin/true\n  sms_webhook: {url: https://sms.example/send}\n",
         "exclude each other"),
        (base + "  sms_webhook: {url: https://sms.example/send, auth_header_file: %s}\n" % bad,
         "is not one 'Name: value' header"),
    ]
    for i, (text, message) in enumerate(cases):
        cfg = env_dir / ("sealpost-%d.yaml" % i)
        cfg.write_text(text)
        r = subprocess.run([str(PORTAL), "-c", str(cfg)], capture_output=True, text=True, timeout=20)
        assert r.returncode == 1 and message in r.stderr, r.stderr
        assert "just-a-token" not in r.stderr
        if i < 2:
            assert "sealpost-%d.yaml:" % i in r.stderr


def test_portal_password_instead_of_the_code_for_later_pickups(env):
    """After a pickup passed with its own second factor the patient may set a
    portal password (or skip it); later pickups for the same address accept
    it instead of the code. Wrong ones count like wrong codes; a session opened
    with the password cannot replace it."""
    first = env.deposit()
    b = Browserish(env.base)
    open_and_authenticate(env, b, first)
    status, _, page = b.get("/read")
    assert status == 200 and b'href="/password"' in page  # the (optional) offer
    status, _, page = b.get("/password")
    assert status == 200 and b'href="/read"' in page and "Überspringen".encode() in page
    csrf = b.csrf(page)
    status, _, page = b.post_form("/password", {"csrf": csrf, "password": "Lindenallee 12",
                                                "confirm": "Lindenallee 13"})
    assert status == 400 and "stimmen nicht überein".encode() in page
    status, _, page = b.post_form("/password", {"csrf": csrf, "password": "kurz", "confirm": "kurz"})
    assert status == 400
    assert b.post_form("/password", {"csrf": "forged", "password": "Lindenallee 12",
                                     "confirm": "Lindenallee 12"})[0] == 403
    status, _, page = b.post_form("/password", {"csrf": csrf, "password": "Lindenallee 12",
                                                "confirm": "Lindenallee 12"})
    assert status == 200 and "Portal-Kennwort ist gespeichert".encode() in page
    assert "Lindenallee" not in env.log()

    second = env.deposit()
    b2 = Browserish(env.base)
    b2.get(path_of(second["url"]))
    status, _, page = b2.get("/auth")
    assert b'action="/auth/password"' in page and "Portal-Kennwort".encode() in page
    csrf = b2.csrf(page)
    status, _, page = b2.post_form("/auth/password", {"csrf": csrf, "password": "Lindenallee 11"})
    assert status == 200 and "Verbleibende Versuche: 2".encode() in page
    status, headers, _ = b2.post_form("/auth/password", {"csrf": csrf, "password": "Lindenallee 12"})
    assert status == 303 and headers["location"] == "/read"
    status, _, page = b2.get("/read")
    assert status == 200 and b"Laborbefund" in page
    assert b'href="/password"' not in page  # no offer to a password session
    assert b2.get("/password")[0] == 403
    assert (env.dir / "sends.log").read_text().split() == ["+4915112345678"]  # the first pickup's
    types = [e["type"] for e in audit_events(env, "pickup.portal_password_set")]
    assert "pickup.portal_password_set" in types and "pickup.auth_ok" in types

    # Wrong passwords lock like codes and end the password.
    third = env.deposit()
    b3 = Browserish(env.base)
    b3.get(path_of(third["url"]))
    csrf = b3.csrf(b3.get("/auth")[2])
    statuses = [b3.post_form("/auth/password", {"csrf": csrf, "password": "falsch %d" % i})[0]
                for i in range(3)]
    assert statuses == [200, 200, 423], statuses
    fourth = env.deposit()
    b4 = Browserish(env.base)
    b4.get(path_of(fourth["url"]))
    assert b'action="/auth/password"' not in b4.get("/auth")[2]
    assert "pickup.portal_password_deleted" in [e["type"] for e in audit_events(env, "pickup.portal_password_deleted")]


def test_a_portal_password_answer_without_a_password_is_not_counted(env):
    """/auth/password for an address that has no portal password (a stale form,
    a password deleted meanwhile) says so and costs no attempt: max_attempts of
    them do not lock the pickup, and the code still works afterwards."""
    dep = env.deposit()
    b = Browserish(env.base)
    b.get(path_of(dep["url"]))
    csrf = b.csrf(b.get("/auth")[2])
    for i in range(5):  # max_attempts is 3
        status, _, page = b.post_form("/auth/password", {"csrf": csrf, "password": "egal %d" % i})
        assert status == 200 and "kein Portal-Kennwort festgelegt".encode() in page, page
        assert b"Verbleibende Versuche" not in page
    types = [e["type"] for e in audit_events(env, "pickup.no_portal_password")]
    assert types.count("pickup.no_portal_password") == 5
    assert "pickup.failed" not in types and "pickup.locked" not in types
    assert b.post_form("/auth/send", {"csrf": csrf})[0] == 303
    status, headers, _ = b.post_form("/auth/verify", {"csrf": csrf, "code": env.sms_code()})
    assert status == 303 and headers["location"] == "/read"


def test_portal_passwords_can_be_switched_off(tmp_path):
    env = PortalEnv(tmp_path, portal_config="  portal_passwords: false\n")
    try:
        b = Browserish(env.base)
        open_and_authenticate(env, b, env.deposit())
        assert b'href="/password"' not in b.get("/read")[2]
        assert b.get("/password")[0] == 404
    finally:
        env.stop()


def test_log_format_flag_like_sealpostd(tmp_path):
    """--log-format json|text overrides log.format, as sealpostd's flag does."""
    env = PortalEnv(tmp_path, args=("--log-format", "json"))
    try:
        Browserish(env.base).get("/p/%s/%s" % ("a" * 26, "B" * 43))
        time.sleep(0.3)
        lines = [l for l in env.log().splitlines() if l.strip()]
        events = [json.loads(l) for l in lines]  # every line is one JSON object
        assert any("portal.start" in json.dumps(e) for e in events)
    finally:
        env.stop()
    bad = subprocess.run([str(PORTAL), "-c", str(env.config), "--log-format", "xml"],
                         capture_output=True, text=True, timeout=20)
    assert bad.returncode == 2 and "--log-format" in bad.stderr


def test_the_auth_page_names_the_configured_code_lifetime(tmp_path):
    env = PortalEnv(tmp_path, portal_config="  code_ttl: 5m\n")
    try:
        b = Browserish(env.base)
        b.get(path_of(env.deposit()["url"]))
        csrf = b.csrf(b.get("/auth")[2])
        assert b.post_form("/auth/send", {"csrf": csrf})[0] == 303
        page = b.get("/auth")[2]
        assert "Er ist 5 Minuten gültig".encode() in page and b"10 Minuten" not in page
    finally:
        env.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_sealpost_pickup_as_root_leaves_the_store_to_its_owner(tmp_path):
    """Run as root, `sealpost pickup` creates no store (which would come out
    root-owned 0700 and lock the service users out) and, on an existing one,
    leaves every file with the store's owner."""
    import tempfile
    import shutil
    work = Path(tempfile.mkdtemp(prefix="sealpost-root-pickup-"))  # "nobody" can enter this
    try:
        state = work / "state"
        state.mkdir()
        os.chmod(work, 0o755)
        nobody = 65534
        os.chown(state, nobody, nobody)
        (work / "policy.yaml").write_text("defaults:\n  methods: [pickup]\n")
        (work / "users.yaml").write_text("users: []\n")
        config = work / "sealpost.yaml"
        config.write_text(
            "state_dir: %s\nhostname: relay.praxis.example\npolicy: %s\nusers: %s\n"
            "listen:\n  - {address: \"127.0.0.1:10025\", mode: filter, trusted_networks: [127.0.0.0/8]}\n"
            "smarthost: {host: 127.0.0.1, port: 9, tls: none, insecure: true}\n"
            "portal:\n  public_url: http://127.0.0.1:8443\n"
            % (state, work / "policy.yaml", work / "users.yaml"))

        def cli(*args):
            return subprocess.run([str(SEALPOST), "-c", str(config), *args], capture_output=True,
                                  text=True)
        r = cli("pickup", "list")
        assert r.returncode == 0 and "no pickup store" in r.stderr
        assert json.loads(cli("--json", "pickup", "list").stdout) == {"pickups": []}
        assert cli("pickup", "purge").returncode == 0
        assert cli("pickup", "revoke", "a" * 26).returncode == 1
        assert not (state / "pickup").exists()

        # The store made by its owner ("nobody" here, the service user in real life) ...
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = dict(os.environ, ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")
        out = subprocess.run(["setpriv", "--reuid=%d" % nobody, "--regid=%d" % nobody,
                              "--clear-groups", str(DEPOSIT), "--state-dir", str(state),
                              "--public-url", "http://127.0.0.1:8443", "--recipient", PATIENT,
                              "--sender", SENDER, "--auth", "sms", "--sms-number", "+4915112345678"],
                             input=message_bytes(), capture_output=True, env=env, check=True)
        dep = json.loads(out.stdout)
        # ... is listed, revoked and purged by root without changing any owner.
        listed = json.loads(cli("--json", "pickup", "list").stdout)["pickups"]
        assert [p["id"] for p in listed] == [dep["id"]]
        assert cli("pickup", "revoke", dep["id"]).returncode == 0
        assert cli("pickup", "purge").returncode == 0
        owners = {str(p.relative_to(state)): p.stat().st_uid for p in (state / "pickup").rglob("*")}
        owners["pickup"] = (state / "pickup").stat().st_uid
        assert set(owners.values()) == {nobody}, owners
    finally:
        shutil.rmtree(work, ignore_errors=True)
