#include "imap/pgp_decrypt.h"

#include <algorithm>

#include "imap/pgp_packets.h"
#include "keystore/address_match.h"
#include "keystore/gpgme_ptr.h"

namespace sealpost::imap {
namespace {

constexpr std::size_t kMaxPlaintext = 64u << 20;

Error refusal(const char* kind, std::string reason) {
  Error e = Error::plain(std::move(reason));
  e.enhanced = kind;
  return e;
}

SignatureFacts evaluate(gpgme_ctx_t ctx, gpgme_verify_result_t vr, const std::string& from) {
  SignatureFacts f;
  f.sender = from;
  if (!vr || !vr->signatures) return f;
  gpgme_signature_t sig = vr->signatures;  // the first one decides; PGP/MIME has one signer
  f.fingerprint = sig->fpr ? sig->fpr : "";
  const auto code = gpgme_err_code(sig->status);
  if (code == GPG_ERR_NO_PUBKEY) {
    f.kind = SignatureFacts::Kind::NoPublicKey;
    return f;
  }
  if (code == GPG_ERR_KEY_EXPIRED || code == GPG_ERR_CERT_REVOKED || code == GPG_ERR_SIG_EXPIRED ||
      (sig->summary & (GPGME_SIGSUM_KEY_REVOKED | GPGME_SIGSUM_KEY_EXPIRED))) {
    f.kind = SignatureFacts::Kind::Expired;
    return f;
  }
  if (code != GPG_ERR_NO_ERROR) {
    f.kind = SignatureFacts::Kind::Bad;
    return f;
  }
  f.kind = SignatureFacts::Kind::Good;
  gpgme_key_t raw = nullptr;
  if (!f.fingerprint.empty() && gpgme_get_key(ctx, f.fingerprint.c_str(), &raw, 0) == 0 && raw) {
    gpg::KeyPtr key(raw);
    if (key->fpr) f.fingerprint = key->fpr;  // report the primary key, not the signing subkey
    for (gpgme_user_id_t uid = key->uids; uid; uid = uid->next) {
      if (uid->revoked || uid->invalid || !uid->uid) continue;
      if (keystore::address_matches(keystore::address_from_uid(uid->uid), from))
        f.belongs_to_sender = true;
    }
  }
  return f;
}

}  // namespace

Result<PgpDecrypted> pgp_decrypt(keystore::PgpKeyring& keyring, const std::string& ciphertext,
                                 const std::string& from_address) {
  gpg::ensure_initialised();
  auto ctx = keyring.new_context();
  if (!ctx) return ctx.error();
  // No MDC, no integrity: refused before gpg is asked (it would only say
  // "decryption failed"), so the outcome says why.
  if (encrypted_data_tag(ciphertext) == 9)
    return refusal("no-integrity", "symmetrically encrypted data without MDC (tag 9)");
  gpgme_data_t in_raw = nullptr;
  gpgme_data_t out_raw = nullptr;
  if (gpgme_data_new_from_mem(&in_raw, ciphertext.data(), ciphertext.size(), 0) != 0)
    return Error::plain("gpgme_data_new_from_mem failed");
  gpg::DataPtr in(in_raw);
  if (gpgme_data_new(&out_raw) != 0) return Error::plain("gpgme_data_new failed");
  gpg::DataPtr out(out_raw);

  const gpgme_error_t err = gpgme_op_decrypt_verify(ctx->get(), in.get(), out.get());
  gpgme_decrypt_result_t dr = gpgme_op_decrypt_result(ctx->get());
  // Checked before the error: GnuPG may decrypt a no-MDC message and only warn.
  if (dr && dr->legacy_cipher_nomdc)
    return refusal("no-integrity", "ciphertext has no integrity protection (no MDC/AEAD)");
  if (err) {
    const auto code = gpgme_err_code(err);
    if (code == GPG_ERR_NO_SECKEY) return refusal("not-for-us", gpg::describe("decrypt", err));
    if (dr && dr->recipients) {
      bool any_key = false;
      for (gpgme_recipient_t r = dr->recipients; r; r = r->next)
        any_key = any_key || gpgme_err_code(r->status) != GPG_ERR_NO_SECKEY;
      if (!any_key) return refusal("not-for-us", gpg::describe("decrypt", err));
    }
    // GnuPG 2.2+ fails with a decryption error on a missing MDC or a modified
    // ciphertext: both mean "not authentic".
    return refusal("damaged", gpg::describe("decrypt", err));
  }
  std::size_t len = 0;
  char* buf = gpgme_data_release_and_get_mem(out.release(), &len);
  PgpDecrypted result;
  if (buf) {
    if (len <= kMaxPlaintext) result.plaintext.assign(buf, len);
    gpgme_free(buf);
  }
  if (len > kMaxPlaintext) return refusal("damaged", "decrypted content over the size limit");
  result.signature = evaluate(ctx->get(), gpgme_op_verify_result(ctx->get()), from_address);
  return result;
}

}  // namespace sealpost::imap
