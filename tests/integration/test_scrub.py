"""Scrub end to end through scrub_tool (the lead wires scrub into sealpostd).

Fixtures are made at test time: a PNG written by hand (zlib) with GPS and an
owner name added by exiftool, a PDF with an Author written by hand, and header
sets as Outlook and Thunderbird write them. Results are checked with
independent tools: exiftool, pdfinfo and Python's email parser.
"""
import email
import email.policy
import os
import pathlib
import struct
import subprocess
import zlib
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText


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
                           "relay.example.eu", *args], capture_output=True, text=True)
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


def test_message_id_on_sender_domain_is_kept(tmp_path):
    msg = MIMEText("hi")
    msg["From"] = "anna@praxis-muster.de"
    msg["User-Agent"] = "Mozilla/5.0 Thunderbird/115.4.1"
    msg["X-Mozilla-Draft-Info"] = "internal/draft; vcard=0"
    msg["Message-ID"] = "<3f1a2b@praxis-muster.de>"
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0
    assert out["Message-ID"] == "<3f1a2b@praxis-muster.de>"
    assert out["User-Agent"] is None and out["X-Mozilla-Draft-Info"] is None


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


def test_signed_message_inner_untouched(tmp_path):
    inner = MIMEText("signed body")
    sig = MIMEApplication(b"-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n",
                          "pgp-signature", _encoder=lambda p: None)
    msg = MIMEMultipart("signed", protocol="application/pgp-signature", micalg="pgp-sha256")
    msg.set_boundary("sig-WS-042")
    msg.attach(inner)
    msg.attach(sig)
    outlook_headers(msg)
    src_inner = inner.as_bytes()
    proc, out = run_tool(tmp_path, msg)
    assert proc.returncode == 0
    assert "inner_untouched=yes" in proc.stdout
    assert out["X-Mailer"] is None
    assert out.get_boundary() == "sig-WS-042"  # signed structure not re-serialised
    assert out.get_payload()[0].get_payload() == email.message_from_bytes(src_inner).get_payload()


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
