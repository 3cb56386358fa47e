#include "seal/pgp_mime.h"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

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

// The armored ciphertext, whatever engine writes it, goes through this into
// the message: canonical CRLF lines, remembering the first write error.
class ArmorSink {
 public:
  explicit ArmorSink(BodyWriter& out) : out_(out) {}
  bool operator()(std::string_view piece) {
    if (error_) return false;
    if (head_.size() < kArmorBegin.size())
      head_.append(piece.substr(0, kArmorBegin.size() - head_.size()));
    if (piece.size() >= kTailBytes) {
      tail_.assign(piece.substr(piece.size() - kTailBytes));
    } else {
      tail_.append(piece);
      if (tail_.size() > kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
    }
    return crlf_.feed(piece, [this](std::string_view p) {
      if (auto r = out_.append(p); !r) error_ = r.error();
      return !error_;
    });
  }
  bool ends_with_crlf() const { return crlf_.ends_with_crlf(); }
  const std::optional<Error>& error() const { return error_; }
  // A whole armored message: an engine that stopped early (a crashed gpg, a
  // callback that failed quietly) leaves no END line, and nothing half-written
  // may go out as if it were the message.
  bool complete_armor() const {
    return head_ == kArmorBegin && tail_.find(kArmorEnd) != std::string::npos;
  }

 private:
  static constexpr std::string_view kArmorBegin = "-----BEGIN PGP MESSAGE-----";
  static constexpr std::string_view kArmorEnd = "-----END PGP MESSAGE-----";
  static constexpr std::size_t kTailBytes = 64;
  std::string head_, tail_;
  BodyWriter& out_;
  CrlfStream crlf_;
  std::optional<Error> error_;
};

// GPGME data callbacks over a Body (read) and an ArmorSink (write), so gpg
// streams through us instead of us holding its input and output whole.
struct GpgInput {
  const Body* body;
  std::uint64_t pos = 0;
};

ssize_t gpg_read(void* handle, void* buffer, size_t size) {
  auto* in = static_cast<GpgInput*>(handle);
  auto n = in->body->read_at(in->pos, static_cast<char*>(buffer), size);
  if (!n) {
    errno = EIO;
    return -1;
  }
  in->pos += *n;
  return static_cast<ssize_t>(*n);
}

off_t gpg_seek(void* handle, off_t offset, int whence) {
  auto* in = static_cast<GpgInput*>(handle);
  const auto size = static_cast<off_t>(in->body->size());
  off_t pos = whence == SEEK_SET   ? offset
              : whence == SEEK_CUR ? static_cast<off_t>(in->pos) + offset
                                   : size + offset;
  if (pos < 0 || pos > size) {
    errno = EINVAL;
    return -1;
  }
  in->pos = static_cast<std::uint64_t>(pos);
  return pos;
}

ssize_t gpg_write(void* handle, const void* buffer, size_t size) {
  auto* sink = static_cast<ArmorSink*>(handle);
  if (!(*sink)(std::string_view(static_cast<const char*>(buffer), size))) {
    errno = EIO;
    return -1;
  }
  return static_cast<ssize_t>(size);
}

// One gpg process per call (through GPGME): the path for signed messages and
// the fallback when the in-process engine cannot encrypt.
Result<void> gpgme_encrypt(keystore::PgpKeyring& ring, const Body& payload,
                           const std::vector<std::string>& recipient_fingerprints,
                           const std::string& signer_fingerprint, ArmorSink& sink) {
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

  GpgInput input{&payload};
  gpgme_data_cbs in_cbs{gpg_read, nullptr, gpg_seek, nullptr};
  gpgme_data_cbs out_cbs{nullptr, gpg_write, nullptr, nullptr};
  gpgme_data_t in_raw = nullptr;
  gpgme_data_t out_raw = nullptr;
  if (auto err = gpgme_data_new_from_cbs(&in_raw, &in_cbs, &input))
    return crypto_error(gpg::describe("data", err));
  gpg::DataPtr in(in_raw);
  if (auto err = gpgme_data_new_from_cbs(&out_raw, &out_cbs, &sink))
    return crypto_error(gpg::describe("data", err));
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
  if (sink.error()) return *sink.error();
  if (!signer.empty()) {
    gpgme_sign_result_t sr = gpgme_op_sign_result(c);
    if (!sr || sr->invalid_signers || !sr->signatures)
      return crypto_error("signing with the practice key failed");
  }
  return {};
}

using Engine = std::function<Result<void>(ArmorSink&)>;

// The whole message with one engine; a failed attempt leaves nothing behind.
Result<Body> build(const std::string& head, const Engine& encrypt, const SpillSettings& spill) {
  const std::string boundary = "=-sealpost-" + random_token(12);
  BodyWriter out(spill);
  std::string pre = head;
  pre += "MIME-Version: 1.0\r\n";
  pre +=
      "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n"
      " boundary=\"" +
      boundary + "\"\r\n\r\n";
  pre += "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n";
  pre += "--" + boundary + "\r\n";
  pre +=
      "Content-Type: application/pgp-encrypted\r\n"
      "Content-Description: PGP/MIME version identification\r\n\r\n"
      "Version: 1\r\n\r\n";
  pre += "--" + boundary + "\r\n";
  pre +=
      "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
      "Content-Description: OpenPGP encrypted message\r\n"
      "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n";
  if (auto r = out.append(pre); !r) return r.error();
  const std::uint64_t before = out.size();
  ArmorSink sink(out);
  if (auto r = encrypt(sink); !r) return r.error();
  if (sink.error()) return *sink.error();
  if (out.size() == before) return crypto_error("no encrypted output");
  if (!sink.complete_armor()) return crypto_error("incomplete armored output");
  std::string post = sink.ends_with_crlf() ? "" : "\r\n";
  post += "--" + boundary + "--\r\n";
  if (auto r = out.append(post); !r) return r.error();
  return out.finish();
}

}  // namespace

Result<Body> pgp_mime_message(keystore::PgpKeyring& ring, const std::string& head,
                              const Body& payload,
                              const std::vector<std::string>& recipient_fingerprints,
                              const std::string& signer_fingerprint, const SpillSettings& spill) {
  if (recipient_fingerprints.empty()) return crypto_error("no OpenPGP recipients");
  // Unsigned: librnp in this thread (a few ms, no process). The recipients are
  // exactly the fingerprints the GPGME keystore found usable; RNP only reads
  // their public keys from the same keybox. Signed messages keep using gpg,
  // which holds the practice's secret key (and its agent).
  if (signer_fingerprint.empty()) {
    const auto version = ring.version();
    auto sealed = build(
        head,
        [&](ArmorSink& sink) {
          return ring.rnp().encrypt(version, payload, recipient_fingerprints,
                                    [&sink](std::string_view p) { return sink(p); });
        },
        spill);
    if (sealed) return sealed;
    // Never plaintext: the only alternative to RNP's ciphertext is gpg's.
    log_fallback_once(sealed.error().reason);
  }
  return build(
      head,
      [&](ArmorSink& sink) {
        return gpgme_encrypt(ring, payload, recipient_fingerprints, signer_fingerprint, sink);
      },
      spill);
}

}  // namespace sealpost::seal
