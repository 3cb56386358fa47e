#include "seal/ciphertext_shape.h"

#include <catch2/catch.hpp>
#include <string>

using namespace sealpost::seal;

namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

// New-format packet with a one-octet length.
std::string packet(int tag, std::size_t len) {
  return bytes({0xc0 | tag, static_cast<int>(len)}) + std::string(len, '\x01');
}

}  // namespace

TEST_CASE("OpenPGP packet streams: session keys then one encrypted-data packet") {
  CHECK(is_openpgp_encrypted_message(packet(1, 12) + packet(18, 40)));
  CHECK(is_openpgp_encrypted_message(packet(1, 12) + packet(1, 12) + packet(20, 40)));
  CHECK(is_openpgp_encrypted_message(packet(10, 3) + packet(3, 13) + packet(18, 40)));
  CHECK(is_openpgp_encrypted_message(packet(1, 12) + packet(18, 40) + packet(21, 5)));
  // Old-format header (tag 1, two-octet length) as older PGP versions write.
  CHECK(is_openpgp_encrypted_message(bytes({0x85, 0x00, 0x03, 3, 0, 0}) + packet(18, 8)));
  // Partial body lengths on the data packet: 2^1 + 2^2 + final 3.
  CHECK(is_openpgp_encrypted_message(packet(1, 12) +
                                     bytes({0xd2, 0xe1, 1, 1, 0xe2, 1, 1, 1, 1, 0x03, 1, 1, 1})));

  CHECK_FALSE(is_openpgp_encrypted_message(""));
  CHECK_FALSE(is_openpgp_encrypted_message(packet(18, 40)));  // no session key
  CHECK_FALSE(is_openpgp_encrypted_message(packet(1, 12)));   // no data
  CHECK_FALSE(is_openpgp_encrypted_message(packet(11, 20)));  // literal data
  CHECK_FALSE(is_openpgp_encrypted_message(packet(8, 20)));   // compressed
  CHECK_FALSE(is_openpgp_encrypted_message(packet(1, 12) + packet(18, 40) + packet(11, 5)));
  CHECK_FALSE(is_openpgp_encrypted_message(packet(1, 12) + packet(18, 40) + packet(18, 4)));
  CHECK_FALSE(is_openpgp_encrypted_message(packet(1, 12) + packet(18, 40) + "x"));
  CHECK_FALSE(is_openpgp_encrypted_message("Befund: positiv, bitte Termin"));
  // Lengths that run past the buffer are refused, not read.
  CHECK_FALSE(is_openpgp_encrypted_message(packet(1, 12) + bytes({0xd2, 0xff, 0x7f, 0, 0, 0})));
  CHECK_FALSE(is_openpgp_encrypted_message(packet(1, 12) + bytes({0xd2, 0xdf, 0xff, 1, 2})));
  CHECK_FALSE(is_openpgp_encrypted_message(packet(1, 12) + bytes({0xd2, 0xee})));
}

TEST_CASE("armor must be one well-formed PGP MESSAGE block") {
  const std::string body = "hA==";  // 0x84: old-format tag 1
  CHECK(dearmor_pgp_message("-----BEGIN PGP MESSAGE-----\n\n" + body +
                            "\n=abcd\n-----END PGP MESSAGE-----\n") == bytes({0x84}));
  CHECK(dearmor_pgp_message("-----BEGIN PGP MESSAGE-----\r\nVersion: GnuPG\r\n\r\n" + body +
                            "\r\n-----END PGP MESSAGE-----") == bytes({0x84}));
  CHECK_FALSE(
      dearmor_pgp_message("-----BEGIN PGP MESSAGE-----\n\nh!==\n-----END PGP MESSAGE-----"));
  CHECK_FALSE(dearmor_pgp_message("-----BEGIN PGP MESSAGE-----\n\n" + body));  // no end line
  CHECK_FALSE(dearmor_pgp_message("-----BEGIN PGP MESSAGE-----\n\n" + body +
                                  "\n-----END PGP MESSAGE-----\nP.S. plaintext after"));
  CHECK_FALSE(dearmor_pgp_message("-----BEGIN PGP SIGNED MESSAGE-----\n\nhi\n"));
  CHECK_FALSE(dearmor_pgp_message("-----BEGIN PGP MESSAGE-----\nno header\n\n" + body +
                                  "\n-----END PGP MESSAGE-----"));
}

TEST_CASE("CMS: only complete EnvelopedData with recipients counts") {
  CHECK_FALSE(is_cms_enveloped(""));
  CHECK_FALSE(is_cms_enveloped("Befund: positiv"));
  CHECK_FALSE(is_cms_enveloped(bytes({0x30, 0x82, 0x7f, 0xff})));  // length beyond the buffer
}
