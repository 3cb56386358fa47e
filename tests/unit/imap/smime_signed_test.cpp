// Locating S/MIME signatures and inline PGP without any crypto (the real
// verification runs in imap_harvest_tests with openssl-made signatures).
#include "imap/smime_signed.h"

#include <catch2/catch.hpp>

#include "imap/inline_pgp.h"
#include "imap/readable_message.h"
#include "seal/message_parser.h"

using namespace sealpost;
using namespace sealpost::imap;

namespace {

// "DER" = base64 of the bytes D E R.
const std::string kSigned =
    "From: p@x.example\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;"
    " boundary=\"b\"\r\n\r\nThis is an S/MIME signed message\r\n\r\n"
    "--b\r\nContent-Type: text/plain\r\n\r\nHallo\r\n--b-not-a-boundary\r\n\r\n"
    "--b\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nREVS\r\n\r\n--b--\r\n";

}  // namespace

TEST_CASE("find_smime_signature: the signed part byte for byte, the signature decoded") {
  auto sig = find_smime_signature(kSigned);
  REQUIRE(sig);
  CHECK(sig->detached);
  // The CRLF before the delimiter belongs to it (RFC 2046); a line that only
  // starts with the boundary is content.
  CHECK(sig->content == "Content-Type: text/plain\r\n\r\nHallo\r\n--b-not-a-boundary\r\n");
  CHECK(sig->der == "DER");

  auto old_type = kSigned;
  old_type.replace(old_type.find("application/pkcs7-signature\""), 27,
                   "application/x-pkcs7-signature");
  CHECK(find_smime_signature(old_type));
}

TEST_CASE("find_smime_signature: opaque signed-data, and what is not a signature") {
  auto opaque = find_smime_signature(
      "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nRE\r\nVS\r\n");
  REQUIRE(opaque);
  CHECK_FALSE(opaque->detached);
  CHECK(opaque->der == "DER");

  CHECK_FALSE(find_smime_signature("Content-Type: text/plain\r\n\r\nhi\r\n"));
  CHECK_FALSE(find_smime_signature(
      "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nx\r\n"));
  std::string pgp = kSigned;
  pgp.replace(pgp.find("application/pkcs7-signature\""), 27, "application/pgp-signature");
  CHECK_FALSE(find_smime_signature(pgp));
  std::string unclosed = kSigned.substr(0, kSigned.rfind("--b--"));
  CHECK_FALSE(find_smime_signature(unclosed));
  std::string three = kSigned;
  three.insert(three.rfind("--b--"), "--b\r\nContent-Type: text/plain\r\n\r\nextra\r\n");
  CHECK_FALSE(find_smime_signature(three));
}

TEST_CASE("inline PGP: only a body that is one armored message") {
  const std::string block =
      "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA1234\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n";
  CHECK(is_inline_pgp_message(block));
  CHECK(is_inline_pgp_message("\r\n  " + block + "\r\n\r\n"));
  CHECK_FALSE(is_inline_pgp_message("Hi,\r\n" + block));  // quoted in other text
  CHECK_FALSE(is_inline_pgp_message(block + "Gruss\r\n"));
  CHECK_FALSE(is_inline_pgp_message(block + block));
  CHECK_FALSE(is_inline_pgp_message("-----BEGIN PGP SIGNED MESSAGE-----\r\n"));

  seal::ensure_gmime();
  auto msg = seal::parse_message(
      "From: a@b.example\r\nContent-Type: text/plain; charset=latin1\r\n"
      "\r\n" +
          block,
      {});
  REQUIRE(msg);
  auto e = find_encrypted(msg->get());
  REQUIRE(e);
  CHECK(e->kind == EncryptionKind::Pgp);
  CHECK(e->inline_text);
  CHECK(e->charset == "latin1");
  CHECK_FALSE(e->nested);
  auto attachment = seal::parse_message(
      "From: a@b.example\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\n" +
          block,
      {});
  REQUIRE(attachment);
  CHECK_FALSE(find_encrypted(attachment->get()));

  const std::string entity = inline_plaintext_entity(
      "Gr\xc3\xbc\xc3\x9f"
      "e\r\nZeile 2\n",
      "");
  CHECK(entity.find("Content-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
  CHECK(entity.find("quoted-printable") != std::string::npos);
  CHECK(entity.find("Gr=C3=BC=C3=9Fe\r\nZeile 2\r\n") != std::string::npos);
  CHECK(entity.find("=0D") == std::string::npos);
}
