#!/usr/bin/python3
"""A recording SMTP receiver (aiosmtpd) used as the smarthost in tests and in the demo.

Each accepted message is written to OUTDIR as NNNNNN.eml (exact bytes as received,
CRLF line ends) plus NNNNNN.json with the envelope. It can speak implicit TLS or
STARTTLS, and can be told to answer 4xx/5xx for chosen recipients.

CLI:  recording_sink.py --port 2525 --outdir demo/outbox [--tls-cert C --tls-key K [--implicit]]
"""
import argparse
import asyncio
import itertools
import json
import os
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as AioSMTP


class RecordingHandler:
    def __init__(self, outdir, reject=None, implicit_tls=False):
        self.outdir = outdir
        self.implicit_tls = implicit_tls
        os.makedirs(outdir, exist_ok=True)
        self.reject = dict(reject or {})  # recipient -> "550 5.1.1 No such user"
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.reject.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        base = os.path.join(self.outdir, "%06d-%d" % (n, os.getpid()))
        data = envelope.original_content if envelope.original_content is not None else envelope.content
        tmp = base + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            # aiosmtpd sets session.ssl only after STARTTLS; an implicit-TLS
            # listener has TLS on every session.
            "tls": session.ssl is not None or self.implicit_tls,
            "auth": getattr(session, "authenticated", False),
            "received_at": time.time(),
        }
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(tmp, base + ".eml")
        return "250 2.0.0 OK: recorded"


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult
    ok = getattr(auth_data, "login", None) == b"relay" and getattr(auth_data, "password", None) == b"relaypass"
    return AuthResult(success=ok)


class Sink:
    """In-process recording sink for pytest. Use as a context manager or start()/stop()."""

    def __init__(self, outdir, port=0, tls_cert=None, tls_key=None, implicit_tls=False,
                 require_auth=False, reject=None, tls_max_version=None):
        self.outdir = outdir
        self.port = port
        self.handler = RecordingHandler(outdir, reject, implicit_tls=bool(tls_cert) and implicit_tls)
        self.tls_cert, self.tls_key, self.implicit_tls = tls_cert, tls_key, implicit_tls
        self.require_auth = require_auth
        self.tls_max_version = tls_max_version  # e.g. ssl.TLSVersion.TLSv1_1: an outdated smarthost
        self.controller = None

    def _context(self):
        if not self.tls_cert:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.tls_cert, self.tls_key)
        if self.tls_max_version is not None:
            # OpenSSL 3 negotiates TLS below 1.2 only at security level 0.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = self.tls_max_version
        return ctx

    def start(self):
        if not self.port:
            from sealpost_harness import free_port
            self.port = free_port()
        ctx = self._context()
        kwargs = dict(hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True,
                      decode_data=False, data_size_limit=200 * 1024 * 1024)
        if self.require_auth:
            kwargs.update(authenticator=_authenticator, auth_require_tls=bool(ctx),
                          auth_required=True)
        if ctx and self.implicit_tls:
            kwargs["ssl_context"] = ctx
        elif ctx:
            kwargs.update(tls_context=ctx, require_starttls=True)
        self.controller = Controller(self.handler, **kwargs)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def messages(self):
        """List of (envelope dict, bytes) in arrival order."""
        out = []
        for name in sorted(os.listdir(self.outdir)):
            if name.endswith(".eml"):
                base = os.path.join(self.outdir, name[:-4])
                with open(base + ".json") as f:
                    meta = json.load(f)
                with open(base + ".eml", "rb") as f:
                    out.append((meta, f.read()))
        return out

    def wait_for(self, count, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msgs = self.messages()
            if len(msgs) >= count:
                return msgs
            time.sleep(0.05)
        raise AssertionError("sink got %d messages, expected %d" % (len(self.messages()), count))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--implicit", action="store_true")
    args = ap.parse_args()
    sink = Sink(args.outdir, args.port, args.tls_cert, args.tls_key, args.implicit)
    sink.start()
    print("recording sink on %s:%d, writing to %s" % (args.host, sink.port, args.outdir), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
