#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "seal/ciphertext_shape.h"
#include "seal/crlf.h"
#include "seal/header_block.h"
#include "seal/header_protection.h"
#include "seal/message_facts.h"
#include "seal/message_parser.h"
#include "seal/part_content.h"

using namespace sealpost::seal;

namespace {

const std::string kSimple =
    "From: Anna <anna@praxis.example>\r\n"
    "To: pat@example.org\r\n"
    "Bcc: hidden@example.net\r\n"
    "Subject: =?utf-8?q?Befund_M=C3=BCller?=\r\n"
    "Keywords: oncology\r\n"
    "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <m1@praxis.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Hallo M\xc3\xbcller\r\n";

GPtr<GMimeMessage> parse(const std::string& s, MimeLimits limits = {}) {
  auto r = parse_message(s, limits);
  REQUIRE(r.ok());
  return std::move(r.value());
}

std::string nested(int depth) {
  std::string m = "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n";
  for (int i = 0; i < depth; ++i)
    m += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=b" +
         std::to_string(i + 1) + "\r\n\r\n";
  m += "--b" + std::to_string(depth) + "\r\nContent-Type: text/plain\r\n\r\nx\r\n";
  return m;
}

std::string text(const sealpost::Body& b) {
  auto s = b.to_string(SIZE_MAX);
  REQUIRE(s.ok());
  return *s;
}

}  // namespace

TEST_CASE("canonical CRLF and base64 lines") {
  CHECK(canonical_crlf("a\nb\r\nc\rd") == "a\r\nb\r\nc\r\nd");
  CHECK(base64_lines("") == "");
  CHECK(base64_lines("foobar") == "Zm9vYmFy\r\n");
  CHECK(base64_lines("fo") == "Zm8=\r\n");
  const std::string long_line = base64_lines(std::string(100, 'x'));
  CHECK(long_line.find("\r\n") == 76);
}

TEST_CASE("streamed CRLF and base64 give the same bytes as the one-piece versions") {
  const std::string in = "a\nb\r\nc\rd\r\r\n\n\re";
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    CrlfStream crlf;
    std::string out;
    auto emit = [&](std::string_view p) {
      out += p;
      return true;
    };
    crlf.feed(std::string_view(in).substr(0, cut), emit);
    crlf.feed(std::string_view(in).substr(cut), emit);
    INFO("cut at " << cut);
    CHECK(out == canonical_crlf(in));
  }
  std::string bytes;
  for (int i = 0; i < 300; ++i) bytes += static_cast<char>(i * 7);
  for (std::size_t cut = 0; cut <= bytes.size(); cut += 7) {
    Base64Lines enc;
    std::string out;
    enc.feed(std::string_view(bytes).substr(0, cut), out);
    enc.feed(std::string_view(bytes).substr(cut), out);
    enc.finish(out);
    CHECK(out == base64_lines(bytes));
  }
}

namespace {
// The obvious encoder, one character at a time: the reference for the fast one.
std::string reference_base64_lines(std::string_view bytes) {
  static constexpr char kAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string flat;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    unsigned v = 0;
    for (std::size_t k = 0; k < 3; ++k)
      v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0U);
    flat += kAlpha[(v >> 18) & 63];
    flat += kAlpha[(v >> 12) & 63];
    flat += n > 1 ? kAlpha[(v >> 6) & 63] : '=';
    flat += n > 2 ? kAlpha[v & 63] : '=';
  }
  std::string out;
  for (std::size_t pos = 0; pos < flat.size(); pos += 76) out += flat.substr(pos, 76) + "\r\n";
  return out;
}
}  // namespace

TEST_CASE("base64 lines match the reference encoder for every length and split") {
  CHECK(base64_lines("Man") == "TWFu\r\n");  // RFC 4648 section 4 vectors
  CHECK(base64_lines("fooba") == "Zm9vYmE=\r\n");
  CHECK(base64_lines("") == "");
  std::string bytes;
  for (int i = 0; i < 400; ++i) bytes += static_cast<char>((i * 131) ^ (i >> 3));
  for (std::size_t len = 0; len <= bytes.size(); ++len) {
    const std::string_view whole = std::string_view(bytes).substr(0, len);
    INFO("length " << len);
    REQUIRE(base64_lines(whole) == reference_base64_lines(whole));
    // Pieces of odd sizes, as OpenSSL streams a CMS structure out.
    Base64Lines enc;
    std::string out;
    for (std::size_t pos = 0; pos < len;) {
      const std::size_t piece = std::min<std::size_t>(1 + (pos * 7) % 61, len - pos);
      enc.feed(whole.substr(pos, piece), out);
      pos += piece;
    }
    enc.finish(out);
    REQUIRE(out == reference_base64_lines(whole));
  }
}

TEST_CASE("header block splitting keeps raw folded fields") {
  const auto s = split_headers("A: 1\r\nSubject: x\r\n y\r\n\r\nbody");
  REQUIRE(s.fields.size() == 2);
  CHECK(s.fields[1].lower == "subject");
  CHECK(s.fields[1].raw == "Subject: x\r\n y\r\n");
  CHECK(s.fields[1].value == "x y");
  CHECK(s.body == "body");
  CHECK(is_mime_structural("content-type"));
  CHECK_FALSE(is_mime_structural("subject"));
}

TEST_CASE("parser limits refuse pathological input with 554 5.6.0") {
  MimeLimits limits;
  limits.max_depth = 8;
  CHECK(parse_message(nested(5), limits).ok());
  auto deep = parse_message(nested(20), limits);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().smtp_code == 554);
  CHECK(deep.error().enhanced == "5.6.0");

  limits.max_size = 100;
  CHECK_FALSE(parse_message(std::string(200, 'a'), limits).ok());

  MimeLimits few;
  few.max_parts = 3;
  CHECK_FALSE(parse_message(nested(5), few).ok());

  // Two different Content-Types: what GMime picks may not be what a client shows.
  const std::string conflicting =
      "From: a@b.example\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx\r\n";
  CHECK_FALSE(parse_message(conflicting, MimeLimits{}).ok());
}

TEST_CASE("header protection hides the subject outside and keeps everything inside") {
  auto msg = parse(kSimple);
  auto protected_msg = protect_headers(msg.get(), {});
  REQUIRE(protected_msg.ok());
  const ProtectedMessage& p = *protected_msg;
  CHECK(p.outer_headers.find("Subject: [...]\r\n") != std::string::npos);
  CHECK(p.outer_headers.find("Befund") == std::string::npos);
  CHECK(p.outer_headers.find("Keywords") == std::string::npos);
  CHECK(p.outer_headers.find("Bcc") == std::string::npos);
  CHECK(p.outer_headers.find("Message-ID: <m1@praxis.example>") != std::string::npos);
  CHECK(p.outer_headers.find("Content-Type") == std::string::npos);

  const std::string payload = text(p.payload);
  CHECK(payload.find("Subject: =?utf-8?q?Befund_M=C3=BCller?=\r\n") != std::string::npos);
  CHECK(payload.find("Keywords: oncology") != std::string::npos);
  CHECK(payload.find("HP-Outer: Subject: [...]\r\n") != std::string::npos);
  CHECK(payload.find("hidden@example.net") == std::string::npos);
  CHECK(payload.find("hp=cipher") != std::string::npos);
  CHECK(payload.find("protected-headers=v1") != std::string::npos);

  // RFC 9788 §4.5: the legacy display is at the top of the main body part itself.
  auto inner = parse_message(payload, {});
  REQUIRE(inner.ok());
  GMimeObject* body = g_mime_message_get_mime_part(inner->get());
  REQUIRE(GMIME_IS_TEXT_PART(body));
  const char* legacy = g_mime_object_get_content_type_parameter(body, "hp-legacy-display");
  REQUIRE(legacy != nullptr);
  CHECK(std::string(legacy) == "1");
  char* shown = g_mime_text_part_get_text(GMIME_TEXT_PART(body));
  const std::string shown_text = shown;
  g_free(shown);
  CHECK(shown_text.rfind(
            "Subject: Befund M\xc3\xbcller\r\nKeywords: oncology\r\n\r\nHallo M\xc3\xbcller", 0) ==
        0);
  // In the part's own charset, byte for byte (no conversion to a "better" one).
  CHECK(std::string(g_mime_object_get_content_type_parameter(body, "charset")) == "utf-8");
  CHECK(payload.find("Hallo M\xc3\xbcller") != std::string::npos);
  // Canonical CRLF throughout: no bare LF.
  for (std::size_t i = 0; i < payload.size(); ++i)
    if (payload[i] == '\n') REQUIRE((i > 0 && payload[i - 1] == '\r'));
}

TEST_CASE("the legacy display goes into both sides of an alternative, escaped in HTML") {
  const std::string m =
      "From: a@praxis.example\r\nSubject: <b>Befund</b> & mehr\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=alt\r\n\r\n"
      "--alt\r\nContent-Type: text/plain\r\n\r\nplain text\r\n"
      "--alt\r\nContent-Type: text/html\r\n\r\n<html><body><p>html text</p></body></html>\r\n"
      "--alt--\r\n";
  auto msg = parse(m);
  auto p = protect_headers(msg.get(), {});
  REQUIRE(p.ok());
  const std::string payload = text(p->payload);
  CHECK(payload.find("Subject: <b>Befund</b> & mehr\r\n\r\nplain text") != std::string::npos);
  CHECK(payload.find("<body><div class=\"header-protection-legacy-display\"><pre>\r\n"
                     "Subject: &lt;b&gt;Befund&lt;/b&gt; &amp; mehr") != std::string::npos);
}

TEST_CASE("the legacy display goes into one plain and one HTML part, however deep the nesting") {
  // Found by the mime_seal fuzzer: every leaf of nested alternatives got its own
  // copy of a 34 KB Subject, the payload ten times the message.
  const std::string subject(30000, 'x');
  std::string m =
      "From: a@praxis.example\r\nSubject: " + subject +
      "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=a0\r\n\r\n";
  for (int level = 0; level < 6; ++level) {
    const std::string b = "a" + std::to_string(level);
    const std::string inner = "a" + std::to_string(level + 1);
    m += "--" + b + "\r\nContent-Type: text/plain\r\n\r\nplain " + std::to_string(level) + "\r\n";
    m += "--" + b + "\r\nContent-Type: text/html\r\n\r\n<p>html " + std::to_string(level) +
         "</p>\r\n";
    if (level < 5)
      m += "--" + b + "\r\nContent-Type: multipart/alternative; boundary=" + inner + "\r\n\r\n";
  }
  for (int level = 5; level >= 0; --level) m += "--a" + std::to_string(level) + "--\r\n";
  auto p = protect_headers(parse(m).get(), {});
  REQUIRE(p.ok());
  const std::string payload = text(p->payload);
  std::size_t copies = 0;
  for (auto at = payload.find(subject); at != std::string::npos; at = payload.find(subject, at + 1))
    ++copies;
  // The protected Subject inside, one plain display, one HTML display.
  CHECK(copies == 3);
  // The innermost alternative is what a client shows.
  CHECK(payload.find("Subject: " + subject + "\r\n\r\nplain 5") != std::string::npos);
  CHECK(payload.find("Subject: " + subject + "\r\n\r\nplain 0") == std::string::npos);
  CHECK(payload.find("<pre>\r\nSubject: " + subject) != std::string::npos);
  CHECK(payload.size() < 4 * m.size());
}

TEST_CASE("the legacy display skips a text attachment and finds the body of HTML without <body>") {
  const std::string m =
      "From: a@praxis.example\r\nSubject: Befund\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=mix\r\n\r\n"
      "--mix\r\nContent-Type: text/plain; name=werte.txt\r\n"
      "Content-Disposition: attachment; filename=werte.txt\r\n\r\nHb 13.5\r\n"
      "--mix\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--mix--\r\n";
  auto p = protect_headers(parse(m).get(), {});
  REQUIRE(p.ok());
  const std::string payload = text(p->payload);
  CHECK(payload.find("\r\n\r\nHb 13.5\r\n") != std::string::npos);  // the file is unchanged
  CHECK(payload.find("Subject: Befund\r\n\r\nHb 13.5") == std::string::npos);

  const std::string html =
      "From: a@praxis.example\r\nSubject: Befund\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/html\r\n\r\n<html lang=de><head><title>t</title></head>"
      "<header>Kopf</header><p>Text</p></html>\r\n";
  auto h = protect_headers(parse(html).get(), {});
  REQUIRE(h.ok());
  CHECK(text(h->payload).find("</head><div class=\"header-protection-legacy-display\">") !=
        std::string::npos);
}

TEST_CASE("decoding reads past chunks that decode to nothing, and stops at the cap") {
  std::string payload(20000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 31);
  // 12 KiB of line breaks first: each 4 KiB the filter reads decodes to nothing.
  const std::string m =
      "From: a@praxis.example\r\nMIME-Version: 1.0\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      std::string(12288, '\n') + base64_lines(payload);
  auto msg = parse(m);
  GMimeObject* part = g_mime_message_get_mime_part(msg.get());
  REQUIRE(GMIME_IS_PART(part));
  std::string out;
  REQUIRE(read_decoded(GMIME_PART(part), 1u << 20, out));
  CHECK(out == payload);
  CHECK_FALSE(read_decoded(GMIME_PART(part), payload.size() - 1, out));
  CHECK(read_decoded(GMIME_PART(part), payload.size(), out));
  REQUIRE(read_decoded_head(GMIME_PART(part), 100, out));
  CHECK(out == payload.substr(0, 100));
}

TEST_CASE("plain serialisation drops Bcc and copies content byte for byte") {
  auto msg = parse(kSimple);
  sealpost::BodyWriter out;
  REQUIRE(serialise_without_bcc(msg.get(), out).ok());
  const std::string s = text(*out.finish());
  CHECK(s.find("Bcc") == std::string::npos);
  CHECK(s.find("hidden@example.net") == std::string::npos);
  CHECK(s.find("Subject: =?utf-8?q?Befund_M=C3=BCller?=") != std::string::npos);
  CHECK(s.find("\r\n\r\nHallo M\xc3\xbcller\r\n") != std::string::npos);
}

TEST_CASE("a message parsed from a body in pieces serialises to the same bytes") {
  const std::string m =
      "From: a@praxis.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nline\r\n.dot\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      base64_lines(std::string(200000, '\x01')) + "--b--\r\nepilogue\r\n";
  auto parsed = parse_body(sealpost::Body(m), MimeLimits{});
  REQUIRE(parsed.ok());
  sealpost::BodyWriter out;
  REQUIRE(serialise_without_bcc(parsed->get(), out).ok());
  CHECK_FALSE(parsed->source_error());
  CHECK(text(*out.finish()) == m);
}

TEST_CASE("a non-ASCII parameter name is refused before GMime can loop on it") {
  // jstedfast/gmime#165: re-encoding such a Content-Type never returns in 3.2.13.
  std::string name;
  for (int i = 0; i < 36; ++i) name += "\xd1\x9c";
  const std::string m =
      "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n " + name +
      "=\"\xd1\x9c\"; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\n"
      "hi\r\n--BB--\r\n";
  auto r = parse_message(m, MimeLimits{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().enhanced == "5.6.0");
  CHECK(r.error().reason.find("parameter name") != std::string::npos);
  auto streamed = parse_body(sealpost::Body(m), MimeLimits{});
  CHECK_FALSE(streamed.ok());
  // An ordinary RFC 2231 continuation stays fine.
  CHECK(parse_message("From: a@b.example\r\nContent-Type: text/plain;\r\n name*0=\"a\"; "
                      "name*1=\"b\"\r\n\r\nx\r\n",
                      MimeLimits{})
            .ok());
}

TEST_CASE("the pre-parse checks see the same things in pieces as in one string") {
  MimeLimits limits;
  limits.max_parts = 2;
  std::string many = "From: a@b.example\r\n\r\n";
  for (int i = 0; i < 5; ++i) many += "Content-Type: text/plain\r\n";
  CHECK_FALSE(parse_message(many, limits).ok());
  CHECK_FALSE(parse_body(sealpost::Body(many), limits).ok());
  const std::string nul = std::string("From: a@b.example\r\n\r\nx") + '\0' + "y\r\n";
  CHECK_FALSE(parse_body(sealpost::Body(nul), MimeLimits{}).ok());
  MimeLimits small_header;
  small_header.max_header_bytes = 64;
  CHECK_FALSE(parse_body(sealpost::Body("X-Long: " + std::string(200, 'a') + "\r\n\r\nbody\r\n"),
                         small_header)
                  .ok());
}

TEST_CASE("already encrypted or signed input is recognised") {
  const std::string head = "From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n";
  auto facts = [&](const std::string& rest) {
    const std::string raw = head + rest;
    auto m = parse(raw);
    return message_facts(m.get());
  };
  // Real ciphertext (gpg --symmetric; openssl cms -encrypt -pwri_password):
  // the structure is checked, so fixtures must be the genuine article.
  const std::string armored =
      "-----BEGIN PGP MESSAGE-----\r\n\r\n"
      "jA0ECQMCJPk6FFDN+O//0jwBEVCiDnFTsDoqZgzJsr5f7xsPaLC0kriDP4jN4rLI\r\n"
      "7ykMphjw/0A8whsXPrSp3aeJ60os7IcLP3fZB00=\r\n=PUJe\r\n-----END PGP MESSAGE-----\r\n";
  const std::string cms_b64 =
      "MIHYBgkqhkiG9w0BBwOggcowgccCAQMxgYOjgYACAQCgGwYJKoZIhvcNAQUMMA4ECK6Ha+AHNaR5\r\n"
      "AgIIADAsBgsqhkiG9w0BCRADCTAdBglghkgBZQMEASoEEDEzY6mhgZUbtRuQ+CHUAcUEMFIGonjS\r\n"
      "Uavdbgt49I+cPxGMk9fAgL2yQ3xirgwnb1rGSw4wp2WKKy2RCcj/cOEfxTA8BgkqhkiG9w0BBwEw\r\n"
      "HQYJYIZIAWUDBAEqBBCaU9m/u/C7yuNAOFhH+kmMgBANymg4+lL6/4YLYhYsWVtp\r\n";
  // gpg --store: a literal-data packet, armored like a message but plaintext.
  const std::string literal =
      "-----BEGIN PGP MESSAGE-----\r\n\r\nyw1iAGsTJGtCZWZ1bmQK\r\n=fQnT\r\n"
      "-----END PGP MESSAGE-----\r\n";
  auto pgp_mime = [](const std::string& protocol, const std::string& control,
                     const std::string& data) {
    return "Content-Type: multipart/encrypted; protocol=\"" + protocol +
           "\"; boundary=x\r\n\r\n--x\r\nContent-Type: application/pgp-encrypted\r\n\r\n" +
           control + "\r\n--x\r\nContent-Type: application/octet-stream\r\n\r\n" + data +
           "\r\n--x--\r\n";
  };
  CHECK(facts(pgp_mime("application/pgp-encrypted", "Version: 1", armored)).already_encrypted);
  CHECK(facts(pgp_mime("Application/PGP-Encrypted", "Version: 1", armored)).already_encrypted);
  CHECK(facts("Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n" +
              cms_b64)
            .already_encrypted);
  CHECK(facts("Content-Type: text/plain\r\n\r\n" + armored).already_encrypted);

  // Labels without ciphertext behind them: each would otherwise leave as
  // plaintext, since already-encrypted mail passes unchanged.
  CHECK_FALSE(facts(pgp_mime("application/pgp-encrypted", "Version: 1", "Befund: positiv"))
                  .already_encrypted);
  CHECK_FALSE(
      facts(pgp_mime("application/pgp-encrypted", "Version: 1", literal)).already_encrypted);
  CHECK_FALSE(facts(pgp_mime("application/x-unknown", "Version: 1", armored)).already_encrypted);
  CHECK_FALSE(
      facts(pgp_mime("application/pgp-encrypted", "Version: 2", armored)).already_encrypted);
  CHECK_FALSE(facts("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
                    "boundary=x\r\n\r\n--x\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
                    "Version: 1\r\n--x--\r\n")
                  .already_encrypted);
  CHECK_FALSE(facts("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\n"
                    "Befund: positiv\r\n")
                  .already_encrypted);
  // id-data (openssl cms -data_create) labelled as enveloped: plaintext inside.
  CHECK_FALSE(
      facts("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nMBcGCSqGSIb3DQEHAaAKBAhCZWZ1bmQNCg==\r\n")
          .already_encrypted);
  CHECK_FALSE(facts("Content-Type: text/plain\r\n\r\n" + literal).already_encrypted);
  CHECK_FALSE(facts("Content-Type: text/plain\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQ\r\n"
                    "-----END PGP MESSAGE-----\r\n")
                  .already_encrypted);
  const auto signed_data =
      facts("Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\nAAAA\r\n");
  CHECK_FALSE(signed_data.already_encrypted);
  CHECK(signed_data.already_signed);
  // A quoted ciphertext inside a normal mail is not "already encrypted".
  CHECK_FALSE(facts("Content-Type: text/plain\r\n\r\nSee below:\r\n" + armored).already_encrypted);
  const auto f = facts(
      "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n"
      "hi\r\n--x\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
      "filename=a.pdf\r\n\r\nJVBERi0=\r\n--x--\r\n");
  CHECK(f.has_attachments);
  CHECK(f.subject == "s");
  CHECK(f.headers.count("from") == 1);
}
