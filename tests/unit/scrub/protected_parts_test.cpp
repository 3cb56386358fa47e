#include "seal/scrub/protected_parts.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "seal/ciphertext_shape.h"

using sealpost::scrub::is_cms_signed;
using sealpost::scrub::is_openpgp_signature;

namespace {

std::string base64(const std::string& bin) {
  std::string out(4 * ((bin.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bin.data()),
                                static_cast<int>(bin.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// A v4 signature packet, new format: the fields the check reads are real,
// the MPI is a placeholder (no key is involved in a shape check).
std::string signature_packet() {
  std::string body = {4, 0x00, 1, 8, 0, 0, 0, 0, '\x12', '\x34', 0, 8, '\x55'};
  return std::string(1, '\xC2') + static_cast<char>(body.size()) + body;
}

struct Freer {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(CMS_ContentInfo* p) const { CMS_ContentInfo_free(p); }
};

// A real CMS SignedData from OpenSSL with a throw-away key and certificate.
std::string cms_signature(bool detached) {
  std::unique_ptr<EVP_PKEY, Freer> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, Freer> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("anna"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_sign(cert.get(), key.get(), EVP_sha256());
  std::unique_ptr<BIO, Freer> data(BIO_new_mem_buf("signed text\r\n", -1));
  std::unique_ptr<CMS_ContentInfo, Freer> cms(CMS_sign(cert.get(), key.get(), nullptr, data.get(),
                                                       CMS_BINARY | (detached ? CMS_DETACHED : 0)));
  REQUIRE(cms);
  unsigned char* der = nullptr;
  const int n = i2d_CMS_ContentInfo(cms.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace

TEST_CASE("OpenPGP signatures are recognised by their packets, binary or armored") {
  const std::string sig = signature_packet();
  CHECK(is_openpgp_signature(sig));
  CHECK(is_openpgp_signature(sig + sig));  // several signers
  const std::string armored =
      "-----BEGIN PGP SIGNATURE-----\r\n\r\n" + base64(sig) + "\r\n-----END PGP SIGNATURE-----\r\n";
  CHECK(is_openpgp_signature(armored));
  // Junk, a truncated packet, another packet type, or text after the armor are not.
  CHECK_FALSE(
      is_openpgp_signature("-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----"));
  CHECK_FALSE(is_openpgp_signature(sig.substr(0, sig.size() - 1)));
  std::string literal = sig;
  literal[0] = '\xCB';  // tag 11: literal data
  CHECK_FALSE(is_openpgp_signature(literal));
  std::string v2 = sig;
  v2[2] = 2;
  CHECK_FALSE(is_openpgp_signature(v2));
  CHECK_FALSE(is_openpgp_signature(armored + "trailing text"));
  CHECK_FALSE(is_openpgp_signature(""));
  // A partial body length is not allowed for a signature packet.
  CHECK_FALSE(is_openpgp_signature(std::string("\xC2\xE1", 2) + std::string(2, 'x')));
}

TEST_CASE("CMS SignedData is recognised, detached or with its content inside") {
  const std::string detached = cms_signature(true);
  const std::string opaque = cms_signature(false);
  CHECK(is_cms_signed(detached, true));
  CHECK_FALSE(is_cms_signed(detached, false));
  CHECK(is_cms_signed(opaque, false));
  CHECK_FALSE(is_cms_signed(opaque, true));
  CHECK_FALSE(is_cms_signed(detached.substr(0, detached.size() - 3), true));
  CHECK_FALSE(is_cms_signed(detached + "x", true));
  CHECK_FALSE(is_cms_signed("xx", true));
  CHECK_FALSE(sealpost::seal::is_cms_enveloped(detached));
}
