#!/usr/bin/python3
"""A scriptable SMTP smarthost for SmtpTransport tests (Debian's aiosmtpd).

Usage: smtp_peer.py DIR {none|implicit|starttls|greet554|ehlo550} [--auth]
                    [--idle-timeout] [--tls11]
Writes DIR/ca.pem (the CA that signed the server cert for DNS name localhost)
and DIR/other-ca.pem (an unrelated CA), listens on 127.0.0.1:0 and prints the
port on stdout. Each accepted message is appended to DIR/messages.jsonl.
Recipients starting with "reject" get 550 5.1.1, "tempfail" get 451 4.3.0.
With --auth, AUTH PLAIN/LOGIN is required: user "praxis", password "s3cret".
With --tls11, TLS is offered only as TLS 1.0/1.1 (an outdated smarthost).
greet554 answers every connection with a 554 greeting; ehlo550 greets 220 but
refuses EHLO and HELO with 550 (plaintext, a smarthost that will not serve us).
"""
import asyncio
import datetime
import json
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult

warnings.simplefilter("ignore")  # aiosmtpd warns about its own deprecated API
logging.getLogger("mail.log").setLevel(logging.ERROR)  # ...and logs it too (login_data)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_ca(name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(ca_key, ca_cert):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    # Only the name: connecting by IP literal must then fail the host check.
    san = x509.SubjectAlternativeName([x509.DNSName("localhost")])
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(san, critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


class Handler:
    def __init__(self, directory):
        self.path = os.path.join(directory, "messages.jsonl")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: no such user" % address
        if address.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        record = {"mail_from": envelope.mail_from, "rcpts": envelope.rcpt_tos,
                  "mail_options": envelope.mail_options,
                  "data": envelope.original_content.decode("utf-8", "replace"),
                  "tls": server.transport.get_extra_info("ssl_object") is not None,
                  "auth": session.authenticated,
                  "client_port": session.peer[1]}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 queued as test"


async def refusing_session(mode, reader, writer):
    """A smarthost that turns the session down before any mail is offered."""
    if mode == "greet554":
        writer.write(b"554 5.3.2 peer.test no service for you\r\n")
    else:
        writer.write(b"220 peer.test ESMTP\r\n")
    await writer.drain()
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb == b"QUIT":
            writer.write(b"221 2.0.0 bye\r\n")
            break
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"550 5.7.1 relay.test is not allowed to use this smarthost\r\n")
        else:  # anything after a refused greeting means the client ignored it
            writer.write(b"503 5.5.1 session refused\r\n")
            with open(os.path.join(sys.argv[1], "messages.jsonl"), "a") as f:
                f.write(json.dumps({"after_refusal": line.decode("ascii", "replace")}) + "\n")
        await writer.drain()
    await writer.drain()
    writer.close()


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"praxis" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # failure: aiosmtpd answers 535


async def main():
    directory, mode = sys.argv[1], sys.argv[2]
    want_auth = "--auth" in sys.argv
    ca_key, ca_cert = make_ca("Sealpost Peer Test CA")
    _, other_ca = make_ca("Unrelated CA")
    leaf_key, leaf_cert = make_leaf(ca_key, ca_cert)
    with open(os.path.join(directory, "ca.pem"), "wb") as f:
        f.write(pem(ca_cert))
    with open(os.path.join(directory, "other-ca.pem"), "wb") as f:
        f.write(pem(other_ca))
    key_path = os.path.join(directory, "server-key.pem")
    cert_path = os.path.join(directory, "server-cert.pem")
    with open(key_path, "wb") as f:
        f.write(leaf_key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(pem(leaf_cert))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_path, key_path)
    if "--tls11" in sys.argv:
        # OpenSSL 3 allows TLS < 1.2 only at security level 0.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1

    loop = asyncio.get_running_loop()
    if mode in ("greet554", "ehlo550"):
        server = await asyncio.start_server(lambda r, w: refusing_session(mode, r, w),
                                            "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    handler = Handler(directory)
    kwargs = dict(hostname="peer.test", enable_SMTPUTF8=True, decode_data=False)
    if "--idle-timeout" in sys.argv:  # close idle connections after 1 s (421)
        kwargs.update(timeout=1)
    if want_auth:
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=(mode != "none"))
    if mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
    server = await loop.create_server(lambda: SMTP(handler, **kwargs), "127.0.0.1", 0,
                                      ssl=ctx if mode == "implicit" else None)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
