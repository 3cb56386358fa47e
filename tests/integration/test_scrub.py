"""Scrub end to end: rules through scrub_tool, and every format through a real
sealpostd (test_everything_is_scrubbed_by_the_relay and the signed-mail tests).

Fixtures are made at test time: images drawn with Pillow (or a PNG/TIFF written
by hand) with GPS, serial number, owner, thumbnail, XMP and IPTC added by
exiftool, PDFs with an Author and page-level XMP written by hand, a docx from
python-docx with comments and tracked changes, HTML with tracking content, and
header sets as Outlook and Thunderbird write them; PGP and S/MIME signatures
are made by gpg and openssl. Results are checked with independent tools:
exiftool, Pillow (dimensions and decoded pixels), pdfinfo/pdftotext,
python-docx, gpg --verify, openssl cms -verify and Python's email parser.
"""
import email
import email.policy
import io
import json
import os
import pathlib
import re
import struct
import subprocess
import zipfile
import zlib
from email import encoders
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest


BUILD = pathlib.Path(os.environ.get("SEALPOST_BUILD_DIR", "/work/main/build-scrub"))
TOOL = BUILD / "seal" / "scrub" / "scrub_tool"


def png_bytes(width, height):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    # Filter byte 0 per row, then RGB pixels of a gradient.
    raw = b"".join(b"\x00" + bytes(v for x in range(width)
                                    for v in ((x * 40) % 256, (y * 30) % 256, 160))
                   for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def png_with_gps(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes(7, 5))
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-GPSLatitude=48.137",
                    "-GPSLatitudeRef=N", "-GPSLongitude=11.575", "-GPSLongitudeRef=E",
                    "-Artist=Dr Secret", "-XMP:Creator=Dr Secret", str(path)], check=True)
    tags = exiftool(path)
    assert "GPSLatitude" in tags and "Artist" in tags  # the fixture really leaks
    return path.read_bytes()


# What an image must not carry after the scrub (exiftool tag names).
LEAKY_TAGS = {"GPSLatitude", "GPSLongitude", "GPSPosition", "GPSVersionID", "SerialNumber",
              "OwnerName", "Artist", "Creator", "By-line", "ThumbnailImage", "ThumbnailOffset",
              "Comment", "XMPToolkit", "ApplicationRecordVersion", "CurrentIPTCDigest"}

EXIF_ARGS = ["-GPSLatitude=48.137", "-GPSLatitudeRef=N", "-GPSLongitude=11.575",
             "-GPSLongitudeRef=E", "-SerialNumber=SN-4711", "-OwnerName=Dr Secret",
             "-Artist=Dr Secret", "-XMP:Creator=Dr Secret"]


def pillow_image(width=64, height=48):
    from PIL import Image
    img = Image.new("RGB", (width, height))
    img.putdata([((x * 4) % 256, (y * 5) % 256, (x * y) % 256)
                 for y in range(height) for x in range(width)])
    return img


def jpeg_with_metadata(tmp_path, fmt="jpeg"):
    """A Pillow-drawn JPEG (or WebP) with GPS, serial, owner, an embedded
    thumbnail, XMP and (JPEG) IPTC and a comment written by exiftool."""
    ext = "jpg" if fmt == "jpeg" else fmt
    path = tmp_path / ("photo-src.%s" % ext)
    thumb = tmp_path / "thumb.jpg"
    img = pillow_image()
    img.resize((16, 12)).save(thumb, "JPEG")
    img.save(path, "JPEG" if fmt == "jpeg" else "WEBP", **({"quality": 90} if fmt == "jpeg"
                                                         else {"lossless": True}))
    extra = ["-IPTC:By-line=Dr Secret", "-Comment=WS-042 scanner"] if fmt == "jpeg" else []
    subprocess.run(["exiftool", "-q", "-overwrite_original", *EXIF_ARGS, *extra,
                    "-ThumbnailImage<=%s" % thumb, str(path)], check=True)
    tags = exiftool(path)
    expected = {"GPSLatitude", "SerialNumber", "OwnerName", "ThumbnailImage", "XMPToolkit"}
    if fmt == "jpeg":
        expected |= {"By-line", "Comment"}
    assert expected <= tags, expected - tags  # the fixture really leaks
    return path.read_bytes()


def same_pixels(a, b):
    """Dimensions and decoded pixels equal (Pillow decodes both)."""
    from PIL import Image
    x, y = Image.open(io.BytesIO(a)), Image.open(io.BytesIO(b))
    return x.size == y.size and x.mode == y.mode and x.tobytes() == y.tobytes()


def pdf_with_author():
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
            None,
            b"<< /Author (Dr Secret) /Creator (PracticeWord 7) /Producer (WS-042) >>"]
    content = b"BT /F1 12 Tf 20 100 Td (hello) Tj ET"
    objs[3] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return bytes(out)


def idat(png):
    """Decompressed image data of a single-IDAT PNG."""
    start = png.index(b"IDAT")
    length = struct.unpack(">I", png[start - 4:start])[0]
    return zlib.decompress(png[start + 4:start + 4 + length])


def exiftool(path):
    out = subprocess.run(["exiftool", "-s", "-G0", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return {line.split(":", 1)[0].split()[-1] for line in out.splitlines() if ":" in line}


def run_tool(tmp_path, msg, *args):
    src = tmp_path / "in.eml"
    dst = tmp_path / "out.eml"
    src.write_bytes(msg.as_bytes())
    proc = subprocess.run([str(TOOL), str(src), str(dst), "--relay-hostname",
                           "relay.example.eu", "--message-id-key", "k" * 32, *args],
                          capture_output=True, text=True)
    out = email.message_from_bytes(dst.read_bytes(), policy=email.policy.default) \
        if dst.exists() else None
    return proc, out


def outlook_headers(msg):
    msg["From"] = "Anna Arzt <anna@praxis-muster.de>"
    msg["To"] = "patient@example.org"
    msg["Bcc"] = "archive@praxis-muster.de"
    msg["Subject"] = "Befund"
    msg["Date"] = "Thu, 26 Nov 2026 10:00:00 +0100"
    msg["Message-ID"] = "<AM0PR01MB1234.eurprd01.prod.exchangelabs.com@WS-042.praxis.local>"
    msg["Received"] = "from WS-042.praxis.local (192.168.10.42) by mail.praxis.local"
    msg["X-Originating-IP"] = "[192.168.10.42]"
    msg["X-Mailer"] = "Microsoft Outlook 16.0"
    msg["Thread-Index"] = "AdlKj3k2"
    msg["Thread-Topic"] = "Befund"
    msg["X-MS-Has-Attach"] = "yes"
    msg["X-MS-TNEF-Correlator"] = ""
    msg["Disposition-Notification-To"] = "anna@praxis-muster.de"
    msg["Return-Receipt-To"] = "anna@praxis-muster.de"
    msg["X-Custom-Keep"] = "yes"


def test_tool_exists():
    assert TOOL.exists(), f"build scrub_tool first: {TOOL}"


def test_outlook_headers_and_message_id(tmp_path):
    msg = MIMEText("Guten Tag", "plain", "utf-8")
    outlook_headers(msg)
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ["Received", "X-Originating-IP", "X-Mailer", "Thread-Index", "Thread-Topic",
                 "X-MS-Has-Attach", "X-MS-TNEF-Correlator", "Disposition-Notification-To",
                 "Return-Receipt-To", "Bcc"]:
        assert out[name] is None, name
    assert out["X-Custom-Keep"] == "yes"
    assert out["Subject"] == "Befund"
    assert out["Message-ID"].endswith("@relay.example.eu>")
    assert "WS-042" not in out.as_string()
    assert "192.168.10.42" not in out.as_string()
    assert "headers_removed=10" in proc.stdout


def test_message_id_on_sender_domain_is_kept_only_when_opaque(tmp_path):
    msg = MIMEText("hi")
    msg["From"] = "anna@praxis-muster.de"
    msg["User-Agent"] = "Mozilla/5.0 Thunderbird/115.4.1"
    msg["X-Mozilla-Draft-Info"] = "internal/draft; vcard=0"
    msg["Message-ID"] = "<8a0b3e2c-1234-4cde-9f00-123456789abc@praxis-muster.de>"
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0
    assert out["Message-ID"] == "<8a0b3e2c-1234-4cde-9f00-123456789abc@praxis-muster.de>"
    assert out["User-Agent"] is None and out["X-Mozilla-Draft-Info"] is None
    # A left part with structure (mutt's date.GA@, JavaMail's user) is mapped.
    del msg["Message-ID"]
    msg["Message-ID"] = "<20261126100000.GA1234.anna@praxis-muster.de>"
    proc, out = run_tool(tmp_path, msg)
    assert out["Message-ID"].endswith("@relay.example.eu>") and "anna" not in out["Message-ID"]


def test_references_on_the_practice_domain_are_mapped_like_message_ids(tmp_path):
    """A colleague's workstation id in References is mapped with the same HMAC
    the Message-ID rule uses, so the patient's client still threads."""
    first = MIMEText("Befund")
    first["From"] = "anna@praxis-muster.de"
    first["Message-ID"] = "<x42@ws-017.praxis-muster.de>"
    proc, sent = run_tool(tmp_path, first)
    assert proc.returncode == 0
    sent_id = sent["Message-ID"]
    assert "ws-017" not in sent_id
    follow = MIMEText("Nachtrag")
    follow["From"] = "bernd@praxis-muster.de"
    follow["Message-ID"] = "<y43@ws-018.praxis-muster.de>"
    follow["In-Reply-To"] = "<x42@ws-017.praxis-muster.de>"
    follow["References"] = "<x42@ws-017.praxis-muster.de> <CAF=abc@mail.gmail.com>"
    follow["Resent-Bcc"] = "archiv@praxis-muster.de"
    proc, out = run_tool(tmp_path, follow)
    assert proc.returncode == 0
    assert out["In-Reply-To"] == sent_id
    assert sent_id in out["References"] and "<CAF=abc@mail.gmail.com>" in out["References"]
    assert "ws-01" not in out.as_string()
    assert out["Resent-Bcc"] is None


def test_allow_mode_keeps_only_essentials(tmp_path):
    msg = MIMEText("hi")
    outlook_headers(msg)
    proc, out = run_tool(tmp_path, msg, "--allow-headers")
    assert proc.returncode == 0
    assert out["X-Custom-Keep"] is None
    assert out["Subject"] == "Befund" and out["From"] and out["Content-Type"]


def test_image_and_pdf_metadata_removed(tmp_path):
    msg = MIMEMultipart()
    outlook_headers(msg)
    boundary = "----=_NextPart_WS-042.praxis.local_000"
    msg.set_boundary(boundary)
    msg.attach(MIMEText("see attached"))
    msg.attach(MIMEImage(png_with_gps(tmp_path), "png"))
    msg.attach(MIMEApplication(pdf_with_author(), "pdf"))
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    assert "images_cleaned=1" in proc.stdout and "pdfs_cleaned=1" in proc.stdout
    assert boundary not in out.as_string()
    parts = [p for p in out.walk() if not p.is_multipart()]
    png = next(p for p in parts if p.get_content_type() == "image/png").get_content()
    pdf = next(p for p in parts if p.get_content_type() == "application/pdf").get_content()
    (tmp_path / "clean.png").write_bytes(png)
    tags = exiftool(tmp_path / "clean.png")
    assert not any(t.startswith("GPS") for t in tags), tags
    assert "Artist" not in tags and "Creator" not in tags
    # Same pixels: dimensions and the image data are unchanged.
    assert png[16:24] == png_bytes(7, 5)[16:24]
    assert idat(png) == idat(png_bytes(7, 5))
    (tmp_path / "clean.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "clean.pdf")], capture_output=True,
                          text=True, check=True).stdout
    assert "Dr Secret" not in info and "Author" not in info and "WS-042" not in info
    assert "Pages:           1" in info
    text = subprocess.run(["pdftotext", str(tmp_path / "clean.pdf"), "-"],
                          capture_output=True, check=True).stdout
    assert b"hello" in text


def test_broken_pdf_is_held_unless_profile_passes(tmp_path):
    msg = MIMEMultipart()
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEApplication(b"%PDF-1.4\nthis is not a pdf at all\n" * 3, "pdf"))
    proc, _ = run_tool(tmp_path, msg)
    assert proc.returncode == 3 and "held: pdf" in proc.stdout
    proc, _ = run_tool(tmp_path, msg, "--pass-unscrubbable")
    assert proc.returncode == 0 and "unscrubbable_passed=1" in proc.stdout


def test_fake_signature_does_not_switch_scrubbing_off(tmp_path):
    """A multipart/signed whose 'signature' is junk is scrubbed like any other
    multipart: the photo inside loses its GPS, the audit says inner_untouched=no."""
    inner = MIMEMultipart()
    inner.attach(MIMEText("Fotos"))
    inner.attach(MIMEImage(jpeg_with_metadata(tmp_path), "jpeg"))
    sig = MIMEApplication(b"-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n",
                          "pgp-signature", _encoder=lambda p: None)
    msg = MIMEMultipart("signed", protocol="application/pgp-signature", micalg="pgp-sha256")
    msg.set_boundary("sig-WS-042")
    msg.attach(inner)
    msg.attach(sig)
    outlook_headers(msg)
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    assert "inner_untouched=no" in proc.stdout and "images_cleaned=1" in proc.stdout
    assert out.get_boundary() != "sig-WS-042"
    jpeg = next(p for p in out.walk() if p.get_content_type() == "image/jpeg").get_content()
    (tmp_path / "clean.jpg").write_bytes(jpeg)
    assert not LEAKY_TAGS & exiftool(tmp_path / "clean.jpg")


def test_fake_encrypted_label_does_not_switch_scrubbing_off(tmp_path):
    """multipart/encrypted whose 'ciphertext' is a PDF with an author, and
    application/pkcs7-mime that is a JPEG: no real ciphertext, so both are scrubbed."""
    control = MIMEApplication(b"Version: 1\r\n", "pgp-encrypted", _encoder=lambda p: None)
    msg = MIMEMultipart("encrypted", protocol="application/pgp-encrypted")
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(control)
    msg.attach(MIMEApplication(pdf_with_author(), "octet-stream", Name="encrypted.asc"))
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    assert "pdfs_cleaned=1" in proc.stdout and "inner_untouched=no" in proc.stdout
    msg = MIMEMultipart()
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEApplication(jpeg_with_metadata(tmp_path), "pkcs7-mime",
                               **{"smime-type": "enveloped-data", "Name": "smime.p7m"}))
    proc, out = run_tool(tmp_path, msg)
    assert "images_cleaned=1" in proc.stdout and "inner_untouched=no" in proc.stdout, proc.stdout


def test_text_plain_labels_do_not_hide_photos_or_pdfs(tmp_path):
    """A JPEG or PDF sent as text/plain; name=... is sniffed and cleaned."""
    msg = MIMEMultipart()
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEText("Anbei"))
    for data, name in ((jpeg_with_metadata(tmp_path), "photo.jpg"), (pdf_with_author(), "b.pdf")):
        part = MIMEBase("text", "plain", name=name)
        part.set_payload(data)
        encoders.encode_base64(part)
        part.add_header("Content-Disposition", "attachment", filename=name)
        msg.attach(part)
    # An HTML page sent as application/octet-stream is HTML to the browser that opens it.
    page = MIMEApplication(b"<!DOCTYPE html><html><body><img src='https://tracker.example/p.gif'>"
                           b"Befund</body></html>", "octet-stream", Name="befund.html")
    msg.attach(page)
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    assert "images_cleaned=1" in proc.stdout and "pdfs_cleaned=1" in proc.stdout, proc.stdout
    assert "html_remote_removed=1" in proc.stdout
    leaves = [p for p in out.walk() if not p.is_multipart()]
    for i, p in enumerate(leaves[1:3]):
        path = tmp_path / ("leaf-%d" % i)
        path.write_bytes(p.get_payload(decode=True))
        assert not LEAKY_TAGS & exiftool(path)
        assert b"Dr Secret" not in path.read_bytes()
    assert b"tracker.example" not in leaves[3].get_payload(decode=True)


def test_attached_message_headers_are_scrubbed(tmp_path):
    """A forwarded internal mail loses Received, X-Originating-IP, the client and
    its workstation Message-ID; From/To/Date/Subject stay as forwarded."""
    fwd = MIMEText("Bitte weiterleiten")
    outlook_headers(fwd)
    fwd.replace_header("Subject", "Laborwerte intern")
    outer = MIMEMultipart()
    outer["From"] = "anna@praxis-muster.de"
    outer["Message-ID"] = "<8a0b3e2c-1234-4cde-9f00-123456789abc@praxis-muster.de>"
    outer.attach(MIMEText("FYI"))
    outer.attach(MIMEMessage(fwd))
    proc, out = run_tool(tmp_path, outer)
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"\battached_headers_removed=10\b", proc.stdout), proc.stdout
    inner = next(p for p in out.walk() if p.get_content_type() == "message/rfc822")
    inner = inner.get_payload()[0]
    for name in ["Received", "X-Originating-IP", "X-Mailer", "Thread-Index", "Bcc",
                 "Disposition-Notification-To"]:
        assert inner[name] is None, name
    assert inner["Subject"] == "Laborwerte intern" and inner["From"] and inner["Date"]
    assert inner["Message-ID"].endswith("@relay.example.eu>")
    text = out.as_string()
    assert "WS-042" not in text and "192.168.10.42" not in text and "Outlook" not in text


def test_outlook_winmail_dat_is_held_unless_the_profile_passes_it(tmp_path):
    msg = MIMEMultipart()
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEText("see attached"))
    # The TNEF signature and a few attribute bytes; label and name as Outlook sends them.
    tnef = MIMEApplication(b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00" + b"\0" * 40,
                           "ms-tnef", Name="winmail.dat")
    msg.attach(tnef)
    proc, _ = run_tool(tmp_path, msg)
    assert proc.returncode == 3 and "held: tnef" in proc.stdout, proc.stdout
    proc, _ = run_tool(tmp_path, msg, "--pass-unscrubbable")
    assert proc.returncode == 0 and "unscrubbable_passed=1" in proc.stdout
    # Sniffed too when mislabelled.
    msg2 = MIMEMultipart()
    msg2["From"] = "anna@praxis-muster.de"
    msg2.attach(MIMEApplication(tnef.get_payload(decode=True), "octet-stream", Name="x.bin"))
    proc, _ = run_tool(tmp_path, msg2)
    assert proc.returncode == 3 and "held: tnef" in proc.stdout


HTML = """<html><head>
<link rel="stylesheet" href="https://cdn.tracker.example/s.css">
<link rel="dns-prefetch" href="//pixel.tracker.example">
<style>body { background: url('https://tracker.example/bg.png') } .l { background: url(cid:logo) }</style>
</head><body background="http://tracker.example/b.gif">
<p style="background-image: url(https://tracker.example/p.png); color: red">Befund anbei</p>
<img src="https://tracker.example/open?id=4711" width="1" height="1" alt="">
<img src="http://images.example/sig.png" alt="Praxis Logo">
<img src="cid:logo@praxis" alt="logo">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">
<img srcset="https://tracker.example/x2.png 2x" src="cid:ok">
<iframe src="https://tracker.example/frame"></iframe>
</body></html>"""


def test_html_remote_content_removed(tmp_path):
    msg = MIMEMultipart("related")
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEText(HTML, "html", "utf-8"))
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    html = next(p for p in out.walk() if p.get_content_type() == "text/html").get_content()
    assert "tracker.example" not in html
    assert "images.example" not in html
    assert "Praxis Logo" in html  # remote image replaced by its alt text
    assert 'src="cid:logo@praxis"' in html and "data:image/png;base64" in html
    assert "url(cid:logo)" in html and "color: red" in html
    assert "Befund anbei" in html
    assert "html_remote_removed=" in proc.stdout and "html_remote_removed=0" not in proc.stdout


def docx_with_author():
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", "<w:document>Befund Text</w:document>")
        z.writestr("docProps/core.xml", "<cp:coreProperties><dc:creator>Dr Secret</dc:creator>"
                   "<cp:lastModifiedBy>WS-042\\anna</cp:lastModifiedBy></cp:coreProperties>")
        z.writestr("docProps/app.xml", "<Properties><Company>Praxis Intern GmbH</Company>"
                   "<Manager>Dr Boss</Manager></Properties>")
    return buf.getvalue()


def test_office_properties_removed(tmp_path):
    import io
    import zipfile
    msg = MIMEMultipart()
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEApplication(
        docx_with_author(), "vnd.openxmlformats-officedocument.wordprocessingml.document"))
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    assert "office_cleaned=1" in proc.stdout
    part = next(p for p in out.walk() if "openxmlformats" in p.get_content_type())
    with zipfile.ZipFile(io.BytesIO(part.get_content())) as z:
        assert z.testzip() is None
        assert z.read("word/document.xml") == b"<w:document>Befund Text</w:document>"
        props = z.read("docProps/core.xml") + z.read("docProps/app.xml")
    for leak in [b"Dr Secret", b"WS-042", b"Praxis Intern", b"Dr Boss"]:
        assert leak not in props


def tiff_bytes():
    """A 2x2 8-bit greyscale uncompressed TIFF (little endian), pixels 10,20,30,40."""
    entries = [(256, 3, 1, 2), (257, 3, 1, 2), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 0), (277, 3, 1, 1), (278, 3, 1, 2), (279, 4, 1, 4)]
    ifd_size = 2 + 12 * len(entries) + 4
    pixels_at = 8 + ifd_size
    out = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        value = pixels_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    return out + struct.pack("<I", 0) + bytes([10, 20, 30, 40])


def test_tiff_metadata_removed_by_exiv2(tmp_path):
    path = tmp_path / "scan.tif"
    path.write_bytes(tiff_bytes())
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-GPSLatitude=48.1",
                    "-GPSLatitudeRef=N", "-Artist=Dr Secret", "-SerialNumber=SN-123",
                    str(path)], check=True)
    assert "Artist" in exiftool(path)
    msg = MIMEMultipart()
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEImage(path.read_bytes(), "tiff"))
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    assert "images_cleaned=1" in proc.stdout
    clean = next(p for p in out.walk() if p.get_content_type() == "image/tiff").get_content()
    (tmp_path / "clean.tif").write_bytes(clean)
    tags = exiftool(tmp_path / "clean.tif")
    assert not any(t.startswith("GPS") for t in tags), tags
    assert "Artist" not in tags and "SerialNumber" not in tags
    dims = subprocess.run(["exiftool", "-s3", "-ImageWidth", "-ImageHeight",
                           str(tmp_path / "clean.tif")], capture_output=True, text=True,
                          check=True).stdout.split()
    assert dims == ["2", "2"]
    assert bytes([10, 20, 30, 40]) in clean


def test_mislabelled_attachments_are_scrubbed_by_content(tmp_path):
    """Clients send photos and scans as application/octet-stream: the first
    bytes decide, so GPS and owner data still go."""
    path = tmp_path / "scan.tif"
    path.write_bytes(tiff_bytes())
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-GPSLatitude=48.1",
                    "-GPSLatitudeRef=N", "-Artist=Dr Secret", str(path)], check=True)
    msg = MIMEMultipart()
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEApplication(path.read_bytes(), "octet-stream", Name="scan.bin"))
    msg.attach(MIMEApplication(png_with_gps(tmp_path), "octet-stream", Name="photo"))
    msg.attach(MIMEApplication(pdf_with_author(), "x-download", Name="befund"))
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    assert "images_cleaned=2" in proc.stdout and "pdfs_cleaned=1" in proc.stdout, proc.stdout
    leaves = [p.get_content() for p in out.walk()
              if p.get_content_maintype() == "application"]
    for i, data in enumerate(leaves):
        (tmp_path / ("clean-%d" % i)).write_bytes(data)
        tags = exiftool(tmp_path / ("clean-%d" % i))
        assert not any(t.startswith("GPS") for t in tags), tags
        assert "Artist" not in tags and b"Dr Secret" not in data


def test_heic_photo_is_held_not_sent_with_its_gps(tmp_path):
    # The ISO BMFF header of an iPhone photo; no HEIC cleaner exists here.
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0mif1heic" + b"\0" * 64
    msg = MIMEMultipart()
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEImage(heic, "heic"))
    proc, _ = run_tool(tmp_path, msg)
    assert proc.returncode == 3 and "HEIC" in proc.stdout, proc.stdout
    proc, _ = run_tool(tmp_path, msg, "--pass-unscrubbable")
    assert proc.returncode == 0 and "unscrubbable_passed=1" in proc.stdout


def test_quoted_pgp_armor_does_not_switch_off_html_scrubbing(tmp_path):
    msg = MIMEMultipart("alternative")
    msg["From"] = "anna@praxis-muster.de"
    msg.attach(MIMEText("-----BEGIN PGP MESSAGE-----\nquoted\n-----END PGP MESSAGE-----\nhi",
                        "plain"))
    msg.attach(MIMEText('<p>-----BEGIN PGP MESSAGE-----</p>'
                        '<img src="https://tracker.example/p.gif" width=1 height=1>',
                        "html", "utf-8"))
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0, proc.stdout
    html = next(p for p in out.walk() if p.get_content_type() == "text/html").get_content()
    assert "tracker.example" not in html
    assert "inner_untouched=no" in proc.stdout


# ---------------------------------------------------------------------------
# Through a real sealpostd: every format, the audit counts, signed mail.

RELAY_USER, RELAY_PASSWORD, RELAY_ADDR = "anna", "correct horse battery", "anna@praxis.example"


@pytest.fixture
def relay_env(tmp_path):
    from recording_sink import Sink
    from sealpost_harness import Relay
    with Sink(tmp_path / "sink") as sink:
        relay = Relay(tmp_path, smarthost_port=sink.port)  # *@sink.example: plain, scrubbed
        relay.add_user(RELAY_USER, RELAY_PASSWORD, [RELAY_ADDR])
        with relay:
            yield relay, sink


def relay_send(relay, sink, msg_bytes, count=1):
    from sealpost_harness import submit
    before = len(sink.messages())
    code, text = submit(relay.port("submission"), RELAY_ADDR, ["pat@sink.example"], msg_bytes,
                        auth=(RELAY_USER, RELAY_PASSWORD), cafile=relay.ca.cert)
    assert code == 250, text
    return sink.wait_for(before + count, timeout=30)[-1][1]


def scrub_audit_events(relay):
    """The 'scrub' events of the audit chain, each as {field: value} with the
    summary's counts parsed into ints (inner_untouched stays 'yes'/'no')."""
    events = []
    for path in sorted((relay.state_dir / "audit").rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("type") != "scrub":
                continue
            fields = dict(rec["fields"])
            counts = dict(kv.split("=", 1) for kv in fields["summary"].split())
            fields["counts"] = {k: (v if k == "inner_untouched" else int(v))
                                for k, v in counts.items()}
            events.append(fields)
    return events


def pdf_with_page_xmp():
    """A PDF whose catalog, page and Info all name the author, plus a comment
    annotation signed by her; XMP streams are uncompressed so a leak is visible."""
    xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
           b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Dr Secret</dc:creator>'
           b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    content = b"BT /F1 12 Tf 20 100 Td (hello) Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Metadata 7 0 R "
            b"/Annots [8 0 R] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 "
            b"/BaseFont /Helvetica >> >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Author (Dr Secret) /Creator (PracticeWord 7) /Producer (WS-042) >>",
            b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp) + xmp
            + b"\nendstream",
            b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp) + xmp
            + b"\nendstream",
            b"<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /T (Dr Secret) "
            b"/Contents (bitte pruefen) >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return bytes(out)


def docx_with_comments(tmp_path):
    """python-docx writes the document and its core properties; a comment and a
    tracked insertion by the author are added as Word stores them."""
    import docx
    doc = docx.Document()
    doc.add_paragraph("Befund Text")
    doc.core_properties.author = "Dr Secret"
    doc.core_properties.last_modified_by = "WS-042\\anna"
    path = tmp_path / "befund-src.docx"
    doc.save(path)
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(
                    b"<w:t>Befund Text</w:t></w:r>",
                    b'<w:t>Befund Text</w:t></w:r><w:commentRangeStart w:id="0"/>'
                    b'<w:ins w:id="1" w:author="Dr Secret" w:date="2026-11-26T10:00:00Z"><w:r>'
                    b'<w:t xml:space="preserve"> eingefuegt</w:t></w:r></w:ins>'
                    b'<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>', 1)
                assert b"Dr Secret" in data
            elif item.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdC1" Type="http://'
                                    b'schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                    b'comments" Target="comments.xml"/></Relationships>')
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/word/comments.xml" '
                                    b'ContentType="application/vnd.openxmlformats-officedocument.'
                                    b'wordprocessingml.comments+xml"/></Types>')
            z.writestr(item, data)
        z.writestr("word/comments.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<w:comments %s><w:comment w:id="0" w:author="Dr Secret" w:initials="DS" '
                   'w:date="2026-11-26T10:00:00Z"><w:p><w:r><w:t>bitte pruefen</w:t></w:r></w:p>'
                   '</w:comment></w:comments>' % w)
    return out.getvalue()


def tiff_with_metadata(tmp_path):
    path = tmp_path / "scan-src.tif"
    pillow_image(32, 24).save(path, "TIFF")
    subprocess.run(["exiftool", "-q", "-overwrite_original", *EXIF_ARGS, str(path)], check=True)
    assert {"GPSLatitude", "SerialNumber", "Artist"} <= exiftool(path)
    return path.read_bytes()


RELAY_HTML = """<html><head><style>@\\69mport 'https://tracker.example/s.css';
p { color: red } .x { background: \\75 rl(https://tracker.example/bg.png) }</style>
<meta http-equiv="refresh" content="0;url=https://tracker.example/r"></head><body>
<p>Befund anbei</p><img src="https://tracker.example/open?id=4711" width="1" height="1" alt="">
<img src="cid:logo@praxis" alt="logo"><script src="https://tracker.example/t.js"></script>
<svg><style><![CDATA[rect{fill:url(https://tracker.example/g)}]]></style><rect/></svg>
</body></html>"""


def test_everything_is_scrubbed_by_the_relay(relay_env, tmp_path):
    """JPEG, PNG, TIFF, WebP, PDF, OOXML and HTML through sealpostd to the
    smarthost, each checked with an independent tool; the audit's scrub event
    carries the counts."""
    relay, sink = relay_env
    sources = {"jpeg": jpeg_with_metadata(tmp_path), "webp": jpeg_with_metadata(tmp_path, "webp"),
               "png": png_with_gps(tmp_path), "tiff": tiff_with_metadata(tmp_path)}
    msg = MIMEMultipart()
    msg["From"], msg["To"], msg["Subject"] = RELAY_ADDR, "pat@sink.example", "Unterlagen"
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0100"
    msg["Message-ID"] = "<4711.1@WS-042.praxis.local>"
    msg["X-Mailer"] = "Microsoft Outlook 16.0"
    related = MIMEMultipart("related")
    related.attach(MIMEText(RELAY_HTML, "html", "utf-8"))
    logo = MIMEImage(png_bytes(4, 4), "png")
    logo["Content-ID"] = "<logo@praxis>"
    related.attach(logo)
    msg.attach(related)
    for sub, data in sources.items():
        msg.attach(MIMEImage(data, sub, name="photo." + sub))
    msg.attach(MIMEApplication(pdf_with_page_xmp(), "pdf", Name="befund.pdf"))
    msg.attach(MIMEApplication(docx_with_comments(tmp_path),
                               "vnd.openxmlformats-officedocument.wordprocessingml.document",
                               Name="befund.docx"))
    raw = relay_send(relay, sink, msg.as_bytes(policy=email.policy.SMTP))
    out = email.message_from_bytes(raw, policy=email.policy.default)
    for leak in (b"WS-042", b"X-Mailer", b"Dr Secret", b"tracker.example", b"SN-4711"):
        assert leak not in raw, leak

    for sub, src in sources.items():
        data = next(p for p in out.walk() if p.get_filename() == "photo." + sub).get_content()
        path = tmp_path / ("out." + sub)
        path.write_bytes(data)
        tags = exiftool(path)
        assert not LEAKY_TAGS & tags, (sub, LEAKY_TAGS & tags)
        assert same_pixels(src, data), sub

    pdf = next(p for p in out.walk() if p.get_content_type() == "application/pdf").get_content()
    (tmp_path / "out.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "out.pdf")], capture_output=True, text=True,
                          check=True).stdout
    meta = subprocess.run(["pdfinfo", "-meta", str(tmp_path / "out.pdf")], capture_output=True,
                          text=True, check=True).stdout
    assert "Author" not in info and "Pages:           1" in info
    assert "Dr Secret" not in meta and b"xmpmeta" not in pdf
    assert b"hello" in subprocess.run(["pdftotext", str(tmp_path / "out.pdf"), "-"],
                                      capture_output=True, check=True).stdout

    import docx
    part = next(p for p in out.walk() if "wordprocessingml" in p.get_content_type())
    (tmp_path / "out.docx").write_bytes(part.get_content())
    document = docx.Document(tmp_path / "out.docx")  # still opens
    assert document.paragraphs[0].text.startswith("Befund Text")
    assert document.core_properties.author == "" and document.core_properties.last_modified_by == ""
    with zipfile.ZipFile(tmp_path / "out.docx") as z:
        assert z.testzip() is None
        assert b'w:author="Author"' in z.read("word/comments.xml")
        assert b'w:author="Author"' in z.read("word/document.xml")
        for name in z.namelist():
            assert b"Dr Secret" not in z.read(name) and b"WS-042" not in z.read(name), name

    html = next(p for p in out.walk() if p.get_content_type() == "text/html").get_content()
    assert "Befund anbei" in html and "color: red" in html
    # cid: stays and still names the inline image's Content-ID.
    assert 'src="cid:logo@praxis"' in html
    assert any(p["Content-ID"] == "<logo@praxis>" for p in out.walk())

    (event,) = scrub_audit_events(relay)
    counts = event["counts"]
    # four attachments and the inline logo
    assert counts["images_cleaned"] == 5 and counts["pdfs_cleaned"] == 1, counts
    assert counts["office_cleaned"] == 1 and counts["html_remote_removed"] >= 6, counts
    assert counts["headers_removed"] >= 1 and counts["message_id_rewritten"] == 1, counts
    assert counts["held"] == 0 and counts["inner_untouched"] == "no", counts
    assert event["inner_untouched"] == "no"
    audit_text = "".join(p.read_text() for p in (relay.state_dir / "audit").rglob("*.jsonl"))
    assert "Dr Secret" not in audit_text and "tracker.example" not in audit_text


def split_signed(raw):
    """(signed bytes, signature part body) of a top-level multipart/signed,
    cut out of the wire bytes exactly as RFC 1847 defines them."""
    head, body = raw.split(b"\r\n\r\n", 1)
    boundary = email.message_from_bytes(head + b"\r\n\r\n").get_boundary().encode()
    delim = b"--" + boundary
    first = body.index(delim + b"\r\n") + len(delim) + 2
    second = body.index(b"\r\n" + delim + b"\r\n", first)
    signed = body[first:second]
    sig_part = body[second + len(delim) + 4:body.index(b"\r\n" + delim + b"--", second)]
    return signed, sig_part.split(b"\r\n\r\n", 1)[1]


def inner_with_photo(tmp_path):
    inner = MIMEMultipart()
    inner.attach(MIMEText("Signierter Befund"))
    inner.attach(MIMEImage(jpeg_with_metadata(tmp_path), "jpeg", name="photo.jpg"))
    return inner.as_bytes(policy=email.policy.SMTP)


def signed_outer_headers(boundary_param):
    return ("From: %s\r\nTo: pat@sink.example\r\nSubject: signiert\r\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0100\r\nMessage-ID: <7@WS-042.praxis.local>\r\n"
            "X-Mailer: Microsoft Outlook 16.0\r\nX-Originating-IP: [192.168.10.42]\r\n"
            "MIME-Version: 1.0\r\n%s" % (RELAY_ADDR, boundary_param)).encode()


def test_pgp_signed_mail_keeps_a_valid_signature_through_the_relay(relay_env, tmp_path):
    from sealpost_harness import GpgHome
    relay, sink = relay_env
    gpg = GpgHome(tmp_path / "anna-gpg")
    gpg.gen_key(RELAY_ADDR, "Anna Arzt")
    inner = inner_with_photo(tmp_path)
    signature = gpg.gpg("--armor", "--detach-sign", "--digest-algo", "SHA256", "-u", RELAY_ADDR,
                        input=inner).stdout
    boundary = "sig-WS-042.praxis.local"
    msg = (signed_outer_headers('Content-Type: multipart/signed; micalg=pgp-sha256; protocol='
                                '"application/pgp-signature"; boundary="%s"\r\n\r\n' % boundary)
           + b"--" + boundary.encode() + b"\r\n" + inner + b"\r\n--" + boundary.encode()
           + b"\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n"
           + signature.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n--"
           + boundary.encode() + b"--\r\n")
    raw = relay_send(relay, sink, msg)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"X-Mailer" not in head and b"192.168.10.42" not in head and b"WS-042.praxis.local>" \
        not in head.split(b"Message-ID", 1)[1].split(b"\r\n", 1)[0]
    signed, sig = split_signed(raw)
    assert signed == inner  # not a byte changed inside
    (tmp_path / "data").write_bytes(signed)
    (tmp_path / "data.asc").write_bytes(sig)
    verify = gpg.gpg("--verify", tmp_path / "data.asc", tmp_path / "data", check=False)
    assert verify.returncode == 0, verify.stderr.decode()
    assert b"Good signature" in verify.stderr
    (event,) = scrub_audit_events(relay)
    assert event["inner_untouched"] == "yes" and event["counts"]["inner_untouched"] == "yes"
    assert event["counts"]["images_cleaned"] == 0 and event["counts"]["headers_removed"] >= 2


def test_smime_signed_mail_keeps_a_valid_signature_through_the_relay(relay_env, tmp_path):
    from sealpost_harness import TestCA, run
    relay, sink = relay_env
    ca = TestCA(tmp_path / "smime-ca", "Praxis SMIME CA")
    cert, key, _ = ca.smime_cert(RELAY_ADDR)
    (tmp_path / "inner.eml").write_bytes(inner_with_photo(tmp_path))
    signed = run(["openssl", "cms", "-sign", "-in", tmp_path / "inner.eml", "-signer", cert,
                  "-inkey", key, "-binary"]).stdout
    signed = signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # SMTP wants CRLF
    # openssl writes MIME-Version and the multipart/signed header block itself.
    signed_head, signed_body = signed.split(b"\r\n\r\n", 1)
    ctype = b"\r\n".join(l for l in signed_head.split(b"\r\n") if not l.startswith(b"MIME-Version"))
    msg = signed_outer_headers(ctype.decode() + "\r\n\r\n") + signed_body
    raw = relay_send(relay, sink, msg)
    assert b"X-Mailer" not in raw.split(b"\r\n\r\n", 1)[0]
    (tmp_path / "out.eml").write_bytes(raw)
    verify = run(["openssl", "cms", "-verify", "-in", tmp_path / "out.eml", "-CAfile", ca.cert,
                  "-purpose", "any", "-out", tmp_path / "verified.eml"], check=False)
    assert verify.returncode == 0, verify.stderr.decode()
    assert b"Verification successful" in verify.stderr
    (event,) = scrub_audit_events(relay)
    assert event["inner_untouched"] == "yes" and event["counts"]["images_cleaned"] == 0
