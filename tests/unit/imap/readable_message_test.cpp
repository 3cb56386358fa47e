#include "imap/readable_message.h"

#include <catch2/catch.hpp>

#include "imap/inbound_processor.h"
#include "imap/pgp_packets.h"
#include "seal/message_parser.h"

using namespace sealpost;
using namespace sealpost::imap;

namespace {
const char* kEncrypted =
    "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\r\n"
    "\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
    "--e\r\nContent-Type: application/octet-stream\r\n\r\nCIPHERTEXT\r\n--e--\r\n";
}

TEST_CASE("find_encrypted: top level and nested between other parts") {
  seal::ensure_gmime();
  auto top = seal::parse_message(
      std::string("From: a@b.example\r\nMIME-Version: 1.0\r\n") + kEncrypted, {});
  REQUIRE(top);
  auto e = find_encrypted(top->get());
  REQUIRE(e);
  CHECK_FALSE(e->nested);
  CHECK(e->ciphertext.find("CIPHERTEXT") != std::string::npos);

  auto nested = seal::parse_message(
      std::string("From: a@b.example\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
                  "--o\r\nContent-Type: text/html\r\n\r\n<img src=\"http://x/\r\n--o\r\n") +
          kEncrypted + "\r\n--o--\r\n",
      {});
  REQUIRE(nested);
  auto n = find_encrypted(nested->get());
  REQUIRE(n);
  CHECK(n->nested);
}

TEST_CASE("find_encrypted: other protocols and plain mail are not PGP/MIME") {
  seal::ensure_gmime();
  auto plain = seal::parse_message("From: a@b.example\r\n\r\nhello\r\n", {});
  REQUIRE(plain);
  CHECK_FALSE(find_encrypted(plain->get()));
}

TEST_CASE("drop_remote_html removes remote images from HTML parts only") {
  int removed = 0;
  const std::string msg =
      "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n"
      "<p>hi<img src=\"https://t.example/p.gif\" alt=\"x\"></p>\r\n";
  const std::string out = drop_remote_html(msg, removed);
  CHECK(removed == 1);
  CHECK(out.find("t.example") == std::string::npos);
  const std::string text = "From: a@b.example\r\n\r\nhttps://t.example/p.gif\r\n";
  CHECK(drop_remote_html(text, removed) == text);
  CHECK(removed == 0);
}

TEST_CASE("from_address: exactly one mailbox") {
  CHECK(from_address("Patientin <Pat@Example.ORG>") == "Pat@example.org");
  CHECK(from_address("a@b.example, c@d.example").empty());
  CHECK(from_address("").empty());
}

TEST_CASE("find_encrypted: S/MIME enveloped data, but not signed-data") {
  seal::ensure_gmime();
  auto env = seal::parse_message(
      "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; "
      "smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "QUJD\r\n",
      {});
  REQUIRE(env);
  auto e = find_encrypted(env->get());
  REQUIRE(e);
  CHECK(e->kind == EncryptionKind::Smime);
  CHECK(e->ciphertext == "ABC");
  auto signed_only = seal::parse_message(
      "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; "
      "smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n",
      {});
  REQUIRE(signed_only);
  CHECK_FALSE(find_encrypted(signed_only->get()));
}

TEST_CASE("drop_remote_html reaches into forwarded messages (message/rfc822)") {
  int removed = 0;
  const std::string msg =
      "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=o\r\n"
      "\r\n--o\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
      "--o\r\nContent-Type: message/rfc822\r\n\r\n"
      "From: c@d.example\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=i\r\n\r\n"
      "--i\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
      "--i\r\nContent-Type: text/html\r\n\r\n<p>x<img src=\"https://evil.example/leak\"></p>\r\n"
      "--i--\r\n"
      "--o--\r\n";
  const std::string out = drop_remote_html(msg, removed);
  CHECK(removed == 1);
  CHECK(out.find("evil.example") == std::string::npos);
  CHECK(out.find("see below") != std::string::npos);
  CHECK(out.find("Subject: fwd") != std::string::npos);
}

TEST_CASE("drop_remote_html fails closed when the copy cannot be checked") {
  int removed = 0;
  // Nested deeper than the parser allows: previously returned unchanged.
  std::string deep = "From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n";
  for (int i = 0; i < 20; ++i)
    deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
            std::to_string(i) + "\r\n";
  deep += "Content-Type: text/html\r\n\r\n<img src=\"https://evil.example/leak\">\r\n";
  for (int i = 19; i >= 0; --i) deep += "--b" + std::to_string(i) + "--\r\n";
  const std::string out = drop_remote_html(deep, removed);
  CHECK(removed == 1);
  CHECK(out.find("evil.example") == std::string::npos);
  CHECK(out.find("could not be checked") != std::string::npos);
  CHECK(out.find("Subject: s\r\n") != std::string::npos);  // headers kept
  CHECK(out.find("multipart/mixed") == std::string::npos);
  auto reparsed = seal::parse_message(out, {});
  CHECK(reparsed);
}

TEST_CASE("header protection is recognised by its Content-Type parameter") {
  CHECK(is_header_protected("multipart/mixed; boundary=x; hp=\"cipher\""));
  CHECK(is_header_protected("text/plain; hp=clear"));
  CHECK(is_header_protected("multipart/mixed; protected-headers=\"v1\"; boundary=b"));
  CHECK_FALSE(is_header_protected("multipart/mixed; boundary=\"hp=cipher\""));
  CHECK_FALSE(is_header_protected("text/plain; hp=other"));
  CHECK_FALSE(is_header_protected(""));
}

TEST_CASE("encrypted_data_tag reads the OpenPGP packet framing, bounded") {
  // PKESK (new format, 3-byte body), then SED (old format tag 9, 2-byte body).
  const std::string sed = std::string("\xc1\x03\x03\x00\x00", 5) + "\xa4\x02xy";
  CHECK(encrypted_data_tag(sed) == 9);
  // Marker, PKESK, then SEIPD (new format tag 18) with a partial body length.
  const std::string seipd = std::string("\xca\x03PGP", 5) + std::string("\xc1\x01\x03", 3) +
                            std::string("\xd2\xe1", 2) + std::string(2, '\x01');
  CHECK(encrypted_data_tag(seipd) == 18);
  CHECK_FALSE(encrypted_data_tag(std::string("\xc1\x05\x03", 3)));  // length past the end
  CHECK_FALSE(encrypted_data_tag("not openpgp"));
  CHECK_FALSE(encrypted_data_tag(""));
  // Empty marker packets: a thousand are looked at, not more.
  std::string markers;
  for (int i = 0; i < 999; ++i) markers += std::string("\xca\x00", 2);
  CHECK(encrypted_data_tag(markers + std::string("\xd2\x01\x01", 3)) == 18);
  CHECK_FALSE(encrypted_data_tag(markers + std::string("\xca\x00\xd2\x01\x01", 5)));
}
