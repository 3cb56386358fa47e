#include "imap/smime_decrypt.h"

#include <openssl/cms.h>
#include <openssl/err.h>

#include "keystore/openssl_ptr.h"

namespace sealpost::imap {
namespace {

constexpr std::size_t kMaxPlaintext = 64u << 20;

Error refusal(const char* kind, std::string reason) {
  ERR_clear_error();
  Error e = Error::plain(std::move(reason));
  e.enhanced = kind;
  return e;
}

}  // namespace

Result<SmimeDecrypted> smime_decrypt(const keystore::SmimeSigner& identity,
                                     const std::string& der) {
  auto in = ossl::mem_bio(der);
  ossl::CmsPtr cms(d2i_CMS_bio(in.get(), nullptr));
  if (!cms) return refusal("damaged", "not a CMS structure");
  const int type = OBJ_obj2nid(CMS_get0_type(cms.get()));
  if (type != NID_pkcs7_enveloped && type != NID_id_smime_ct_authEnvelopedData)
    return refusal("damaged", "CMS content is not enveloped data");
  ossl::BioPtr out(BIO_new(BIO_s_mem()));
  // Passing the certificate makes OpenSSL pick our RecipientInfo by issuer and
  // serial; a message for someone else then fails cleanly.
  if (CMS_decrypt(cms.get(), identity.key.get(), identity.cert.get(), nullptr, out.get(), 0) != 1) {
    const unsigned long err = ERR_peek_last_error();
    const bool no_recipient = ERR_GET_REASON(err) == CMS_R_NO_MATCHING_RECIPIENT;
    return refusal(no_recipient ? "not-for-us" : "damaged", "CMS_decrypt failed");
  }
  char* p = nullptr;
  const long n = BIO_get_mem_data(out.get(), &p);
  if (n < 0 || static_cast<std::size_t>(n) > kMaxPlaintext)
    return refusal("damaged", "decrypted content over the size limit");
  SmimeDecrypted result;
  result.plaintext.assign(p, static_cast<std::size_t>(n));
  result.authenticated = type == NID_id_smime_ct_authEnvelopedData;
  return result;
}

}  // namespace sealpost::imap
