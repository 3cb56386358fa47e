"""Benchmark messages: realistic practice mail of a given size, one token per copy.

A message is a fixed body (built once per size) plus a small per-copy header block
carrying the token "bench-<case>-<seq>" in Message-ID and Subject, so the sink can
match a delivery to its submission even when the envelope is rewritten. Bodies are
already in SMTP wire form (CRLF, dot-stuffed, ending in CRLF) so sending costs no
per-message work beyond one header join.
"""
import base64
import os

SIZES = {"5KB": 5 * 1000, "50KB": 50 * 1000, "5MB": 5 * 1000 * 1000}
TEXT_LINE = b"Sehr geehrte Frau Doktor, anbei der Befund vom Vormittag mit Werten.\r\n"
BOUNDARY = b"=_sealbench_boundary_7f3a"


def token(case_id, seq):
    return "bench-%s-%d" % (case_id, seq)


def _base64_lines(raw):
    encoded = base64.encodebytes(raw)  # 76-column lines, LF
    return encoded.replace(b"\n", b"\r\n")


def body_of_size(total_bytes, header_allowance=400):
    """MIME body (after the per-copy headers) so that the whole message is about
    `total_bytes`. Small sizes are a text letter; larger ones a letter plus a binary
    attachment (random bytes: incompressible, as real scans are)."""
    target = max(0, total_bytes - header_allowance)
    if target <= 8000:
        lines = TEXT_LINE * (target // len(TEXT_LINE) + 1)
        content = (b"Content-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: 8bit\r\n\r\n" + lines[:target])
        return _wire(content)
    letter = TEXT_LINE * 20
    part_headers = (b"--" + BOUNDARY + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    b"Content-Transfer-Encoding: 8bit\r\n\r\n" + letter +
                    b"--" + BOUNDARY + b"\r\nContent-Type: application/octet-stream; "
                    b"name=\"befund.bin\"\r\nContent-Transfer-Encoding: base64\r\n"
                    b"Content-Disposition: attachment; filename=\"befund.bin\"\r\n\r\n")
    closing = b"--" + BOUNDARY + b"--\r\n"
    overhead = 200 + len(part_headers) + len(closing)
    raw_len = max(1, (target - overhead) * 57 // 78)  # base64 with CRLF: 78 bytes per 57
    content = (b"Content-Type: multipart/mixed; boundary=\"" + BOUNDARY + b"\"\r\n\r\n" +
               b"This is a multi-part message in MIME format.\r\n" + part_headers +
               _base64_lines(os.urandom(raw_len)) + closing)
    return _wire(content)


def _wire(content):
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    stuffed = content.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed


def headers(tok, sender, rcpts):
    return ("From: Praxis Bench <%s>\r\nTo: %s\r\nSubject: Befund %s\r\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0100\r\nMessage-ID: <%s@ws-17.praxis.internal>\r\n"
            "MIME-Version: 1.0\r\n" % (sender, ", ".join(rcpts), tok, tok)).encode()


def write_big_message(path, total_bytes, chunk_raw=57 * 16384):
    """Writes a message of about `total_bytes` with one big base64 attachment to
    `path` in wire form, streaming so that building it needs little memory.
    The per-copy headers are not included (the sender prepends them)."""
    part_headers = (b"Content-Type: multipart/mixed; boundary=\"" + BOUNDARY + b"\"\r\n\r\n" +
                    b"--" + BOUNDARY + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
                    TEXT_LINE + b"--" + BOUNDARY + b"\r\nContent-Type: application/octet-stream;"
                    b" name=\"scan.bin\"\r\nContent-Transfer-Encoding: base64\r\n"
                    b"Content-Disposition: attachment; filename=\"scan.bin\"\r\n\r\n")
    closing = b"--" + BOUNDARY + b"--\r\n"
    written = 0
    with open(path, "wb") as f:
        f.write(part_headers)
        written += len(part_headers)
        budget = total_bytes - written - len(closing) - 400
        while budget > 0:
            raw = os.urandom(min(chunk_raw, max(57, budget * 57 // 78 // 57 * 57)))
            encoded = _base64_lines(raw)
            f.write(encoded)
            written += len(encoded)
            budget -= len(encoded)
        f.write(closing)
        written += len(closing)
    return written
