#include "seal/pgp_mime.h"

#include <mutex>
#include <set>

#include "common/log.h"
#include "common/secure_random.h"
#include "seal/crlf.h"

namespace sealpost::seal {

namespace {

Error crypto_error(std::string reason) {
  return Error::temp("4.7.0", "encryption failed, will retry", std::move(reason));
}

// A failing RNP path falls back to GPGME for every message; say why once per
// distinct reason (bounded), not once per message.
void log_fallback_once(const std::string& reason) {
  static std::mutex mu;
  static std::set<std::string> seen;
  {
    std::lock_guard lock(mu);
    if (seen.size() >= 32 || !seen.insert(reason).second) return;
  }
  log::warn("pgp.rnp_fallback", {{"reason", reason}, {"engine", "gpgme"}});
}

// One gpg process per call (through GPGME): the path for signed messages and
// the fallback when the in-process engine cannot encrypt.
Result<std::string> gpgme_encrypt(keystore::PgpKeyring& ring, const std::string& payload,
                                  const std::vector<std::string>& recipient_fingerprints,
                                  const std::string& signer_fingerprint) {
  auto ctx = ring.new_context();
  if (!ctx) return ctx.error();
  gpgme_ctx_t c = ctx->get();
  auto keys = ring.keys_for(c, recipient_fingerprints, false);
  if (!keys) return keys.error();
  std::vector<gpgme_key_t> key_array;
  for (auto& k : *keys) key_array.push_back(k.get());
  key_array.push_back(nullptr);  // gpgme wants a NULL-terminated array

  std::vector<gpg::KeyPtr> signer;
  if (!signer_fingerprint.empty()) {
    auto s = ring.keys_for(c, {signer_fingerprint}, true);
    if (!s) return s.error();
    signer = std::move(s.value());
    if (auto err = gpgme_signers_add(c, signer.front().get()))
      return crypto_error(gpg::describe("add signer", err));
  }

  gpgme_data_t in_raw = nullptr;
  gpgme_data_t out_raw = nullptr;
  if (auto err = gpgme_data_new_from_mem(&in_raw, payload.data(), payload.size(), 0))
    return crypto_error(gpg::describe("data", err));
  gpg::DataPtr in(in_raw);
  if (auto err = gpgme_data_new(&out_raw)) return crypto_error(gpg::describe("data", err));
  gpg::DataPtr out(out_raw);

  // ALWAYS_TRUST: these keys were placed in Sealpost's dedicated keyring by the
  // admin (`keys import`), which is the trust decision; gpg's web of trust has
  // no owner-trust for them and would refuse. Validity (expiry, revocation,
  // usage, exact address) was already checked by the keystore lookup.
  const auto flags =
      static_cast<gpgme_encrypt_flags_t>(GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_ENCRYPT_TO);
  gpgme_error_t err = signer.empty()
                          ? gpgme_op_encrypt(c, key_array.data(), flags, in.get(), out.get())
                          : gpgme_op_encrypt_sign(c, key_array.data(), flags, in.get(), out.get());
  if (gpgme_encrypt_result_t er = gpgme_op_encrypt_result(c); er && er->invalid_recipients)
    return crypto_error("invalid recipient key " + std::string(er->invalid_recipients->fpr
                                                                   ? er->invalid_recipients->fpr
                                                                   : "?"));
  if (err) return crypto_error(gpg::describe("encrypt", err));
  if (!signer.empty()) {
    gpgme_sign_result_t sr = gpgme_op_sign_result(c);
    if (!sr || sr->invalid_signers || !sr->signatures)
      return crypto_error("signing with the practice key failed");
  }
  std::size_t len = 0;
  char* buf = gpgme_data_release_and_get_mem(out.release(), &len);
  if (!buf) return crypto_error("no encrypted output");
  std::string armored(buf, len);
  gpgme_free(buf);
  if (armored.rfind("-----BEGIN PGP MESSAGE-----", 0) != 0)
    return crypto_error("unexpected gpg output");
  return armored;
}

}  // namespace

Result<std::string> pgp_encrypt(keystore::PgpKeyring& ring, const std::string& payload,
                                const std::vector<std::string>& recipient_fingerprints,
                                const std::string& signer_fingerprint) {
  if (recipient_fingerprints.empty()) return crypto_error("no OpenPGP recipients");
  // Unsigned: librnp in this thread (a few ms, no process). The recipients are
  // exactly the fingerprints the GPGME keystore found usable; RNP only reads
  // their public keys from the same keybox. Signed messages keep using gpg,
  // which holds the practice's secret key (and its agent).
  if (signer_fingerprint.empty()) {
    auto armored = ring.rnp().encrypt(ring.version(), payload, recipient_fingerprints);
    if (armored) return armored;
    // Never plaintext: the only alternative to RNP's ciphertext is gpg's.
    log_fallback_once(armored.error().reason);
  }
  return gpgme_encrypt(ring, payload, recipient_fingerprints, signer_fingerprint);
}

std::string build_pgp_mime(const std::string& outer_headers, const std::string& armored) {
  const std::string boundary = "=-sealpost-" + random_token(12);
  std::string m;
  m.reserve(outer_headers.size() + armored.size() + armored.size() / 32 + 512);
  m += outer_headers;
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n"
       " boundary=\"" +
       boundary + "\"\r\n\r\n";
  m += "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: application/pgp-encrypted\r\n"
       "Content-Description: PGP/MIME version identification\r\n\r\n"
       "Version: 1\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
       "Content-Description: OpenPGP encrypted message\r\n"
       "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n";
  m += canonical_crlf(armored);
  if (m.size() < 2 || m.compare(m.size() - 2, 2, "\r\n") != 0) m += "\r\n";
  m += "--" + boundary + "--\r\n";
  return m;
}

}  // namespace sealpost::seal
