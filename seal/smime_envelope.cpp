#include "seal/smime_envelope.h"

#include <openssl/err.h>

#include "seal/body_bio.h"
#include "seal/crlf.h"

namespace sealpost::seal {

namespace {

// CMS_BINARY everywhere: the payload is canonical CRLF already (mime_writer.h),
// and OpenSSL's text translation would add a second CR.
constexpr unsigned kStreamFlags = CMS_BINARY | CMS_STREAM;

Error crypto_error(std::string reason) {
  return Error::temp("4.7.0", "encryption failed, will retry", std::move(reason));
}

std::string bio_contents(BIO* bio) {
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  return n > 0 ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::string pkcs7_headers(const char* smime_type) {
  return std::string("Content-Type: application/pkcs7-mime; smime-type=") + smime_type +
         "; name=smime.p7m\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n";
}

ossl::X509StackPtr stack_of(const std::vector<ossl::SharedX509>& certs) {
  ossl::X509StackPtr stack(sk_X509_new_null());
  for (const auto& c : certs) {
    X509_up_ref(c.get());
    sk_X509_push(stack.get(), c.get());
  }
  return stack;
}

ossl::X509StackPtr chain_of(const keystore::SmimeSigner& signer) {
  return stack_of(signer.chain);
}

// An AEAD cipher makes CMS_encrypt produce AuthEnvelopedData (RFC 5083).
const EVP_CIPHER* evp_of(SmimeCipher cipher) {
  return cipher == SmimeCipher::Aes256Gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
}

Result<std::string> der_of(CMS_ContentInfo* cms) {
  ossl::BioPtr out(BIO_new(BIO_s_mem()));
  if (i2d_CMS_bio(out.get(), cms) != 1) return crypto_error("i2d_CMS: " + ossl::last_error());
  return bio_contents(out.get());
}

// --- in memory: DER ---

Result<std::string> sign_der(const keystore::SmimeSigner& signer, std::string_view payload) {
  auto chain = chain_of(signer);
  ossl::BioPtr in(BIO_new_mem_buf(payload.data(), static_cast<int>(payload.size())));
  ossl::CmsPtr cms(
      CMS_sign(signer.cert.get(), signer.key.get(), chain.get(), in.get(), CMS_BINARY));
  if (!cms) return crypto_error("CMS_sign: " + ossl::last_error());
  return der_of(cms.get());
}

Result<std::string> encrypt_der(const std::vector<ossl::SharedX509>& recipients,
                                std::string_view entity, SmimeCipher cipher) {
  auto certs = stack_of(recipients);
  ossl::BioPtr in(BIO_new_mem_buf(entity.data(), static_cast<int>(entity.size())));
  ossl::CmsPtr cms(CMS_encrypt(certs.get(), in.get(), evp_of(cipher), CMS_BINARY));
  if (!cms) return crypto_error("CMS_encrypt: " + ossl::last_error());
  return der_of(cms.get());
}

// --- streaming: BER, base64 written as it comes ---

// Finishes a streaming CMS structure by reading `in` through it into `out`.
Result<void> stream_cms(CMS_ContentInfo* cms, const Body& in, BodyWriter& out, const char* what) {
  BodySourceBio source(in);
  Base64Sink sink(out);
  if (!source.bio() || !sink.bio()) return crypto_error("BIO_new failed");
  // A failure in the final step after the data has streamed (signing in
  // CMS_dataFinal) can still return 1 in OpenSSL 3.0 but leaves an error on
  // the queue. Failures of our own reader and writer are caught by
  // source.error() and sink.finish() below, not here.
  ERR_clear_error();
  if (i2d_CMS_bio_stream(sink.bio(), cms, source.bio(), kStreamFlags) != 1 || ERR_peek_error() != 0)
    return crypto_error(std::string(what) + ": " + ossl::last_error());
  if (source.error()) return *source.error();
  return sink.finish();
}

Result<Body> sign_stream(const keystore::SmimeSigner& signer, const Body& payload,
                         const SpillSettings& spill) {
  auto chain = chain_of(signer);
  ossl::CmsPtr cms(
      CMS_sign(signer.cert.get(), signer.key.get(), chain.get(), nullptr, kStreamFlags));
  if (!cms) return crypto_error("CMS_sign: " + ossl::last_error());
  BodyWriter entity(spill);
  if (auto r = entity.append(pkcs7_headers("signed-data")); !r) return r.error();
  if (auto r = stream_cms(cms.get(), payload, entity, "CMS_sign"); !r) return r.error();
  return entity.finish();
}

Result<void> encrypt_stream(const std::vector<ossl::SharedX509>& recipients, const Body& entity,
                            SmimeCipher cipher, BodyWriter& out) {
  auto certs = stack_of(recipients);
  ossl::CmsPtr cms(CMS_encrypt(certs.get(), nullptr, evp_of(cipher), kStreamFlags));
  if (!cms) return crypto_error("CMS_encrypt: " + ossl::last_error());
  return stream_cms(cms.get(), entity, out, "CMS_encrypt");
}

}  // namespace

Result<SmimeCipher> parse_smime_cipher(const std::string& name) {
  if (name.empty() || name == "aes256-cbc") return SmimeCipher::Aes256Cbc;
  if (name == "aes256-gcm") return SmimeCipher::Aes256Gcm;
  return Error::temp("4.7.0", "encryption failed, will retry", "unknown smime_cipher " + name);
}

Result<Body> smime_message(const std::string& head, const Body& payload,
                           const std::vector<ossl::SharedX509>& recipients,
                           const keystore::SmimeSigner* signer, SmimeCipher cipher,
                           const SpillSettings& spill) {
  if (recipients.empty()) return crypto_error("no S/MIME recipients");
  BodyWriter out(spill);
  const char* type = cipher == SmimeCipher::Aes256Gcm ? "authEnveloped-data" : "enveloped-data";
  if (auto r = out.append(head + "MIME-Version: 1.0\r\n" + pkcs7_headers(type)); !r)
    return r.error();

  if (const std::string* mem = payload.memory()) {
    std::string signed_entity;
    std::string_view entity = *mem;
    if (signer) {
      auto der = sign_der(*signer, *mem);
      if (!der) return der.error();
      signed_entity = pkcs7_headers("signed-data") + base64_lines(*der);
      entity = signed_entity;
    }
    auto der = encrypt_der(recipients, entity, cipher);
    if (!der) return der.error();
    if (auto r = out.append(base64_lines(*der)); !r) return r.error();
    return out.finish();
  }

  Body entity = payload;
  if (signer) {
    auto signed_entity = sign_stream(*signer, payload, spill);
    if (!signed_entity) return signed_entity.error();
    entity = std::move(signed_entity.value());
  }
  if (auto r = encrypt_stream(recipients, entity, cipher, out); !r) return r.error();
  return out.finish();
}

}  // namespace sealpost::seal
