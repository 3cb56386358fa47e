#include "seal/smime_envelope.h"

#include "seal/crlf.h"

namespace sealpost::seal {

namespace {

Error crypto_error(std::string reason) {
  return Error::temp("4.7.0", "encryption failed, will retry", std::move(reason));
}

std::string bio_contents(BIO* bio) {
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  return n > 0 ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

Result<SmimeCipher> parse_smime_cipher(const std::string& name) {
  if (name.empty() || name == "aes256-cbc") return SmimeCipher::Aes256Cbc;
  if (name == "aes256-gcm") return SmimeCipher::Aes256Gcm;
  return Error::temp("4.7.0", "encryption failed, will retry", "unknown smime_cipher " + name);
}

Result<std::string> smime_sign(const keystore::SmimeSigner& signer, const std::string& payload) {
  ossl::X509StackPtr chain(sk_X509_new_null());
  for (const auto& c : signer.chain) {
    X509_up_ref(c.get());
    sk_X509_push(chain.get(), c.get());
  }
  auto in = ossl::mem_bio(payload);
  // CMS_BINARY: `payload` is already canonical CRLF; no further translation.
  ossl::CmsPtr cms(
      CMS_sign(signer.cert.get(), signer.key.get(), chain.get(), in.get(), CMS_BINARY));
  if (!cms) return crypto_error("CMS_sign: " + ossl::last_error());
  ossl::BioPtr out(BIO_new(BIO_s_mem()));
  if (i2d_CMS_bio(out.get(), cms.get()) != 1) return crypto_error("i2d_CMS: " + ossl::last_error());
  std::string entity =
      "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n";
  entity += base64_lines(bio_contents(out.get()));
  return entity;
}

Result<std::string> smime_encrypt(const std::vector<ossl::SharedX509>& recipients,
                                  const std::string& entity, SmimeCipher cipher) {
  if (recipients.empty()) return crypto_error("no S/MIME recipients");
  ossl::X509StackPtr certs(sk_X509_new_null());
  for (const auto& c : recipients) {
    X509_up_ref(c.get());
    sk_X509_push(certs.get(), c.get());
  }
  auto in = ossl::mem_bio(entity);
  // An AEAD cipher makes CMS_encrypt produce AuthEnvelopedData (RFC 5083).
  const EVP_CIPHER* evp = cipher == SmimeCipher::Aes256Gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
  ossl::CmsPtr cms(CMS_encrypt(certs.get(), in.get(), evp, CMS_BINARY));
  if (!cms) return crypto_error("CMS_encrypt: " + ossl::last_error());
  ossl::BioPtr out(BIO_new(BIO_s_mem()));
  if (i2d_CMS_bio(out.get(), cms.get()) != 1) return crypto_error("i2d_CMS: " + ossl::last_error());
  return bio_contents(out.get());
}

std::string build_smime_message(const std::string& outer_headers, const std::string& der,
                                SmimeCipher cipher) {
  const char* type = cipher == SmimeCipher::Aes256Gcm ? "authEnveloped-data" : "enveloped-data";
  std::string m;
  m.reserve(outer_headers.size() + der.size() * 4 / 3 + der.size() / 38 + 512);
  m += outer_headers;
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: application/pkcs7-mime; smime-type=";
  m += type;
  m += "; name=smime.p7m\r\n"
       "Content-Transfer-Encoding: base64\r\n"
       "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n";
  m += base64_lines(der);
  return m;
}

}  // namespace sealpost::seal
