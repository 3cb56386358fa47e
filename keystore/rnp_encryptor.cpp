#include "keystore/rnp_encryptor.h"

#include <cstdint>
#include <utility>

#include "keystore/rnp_ptr.h"

namespace sealpost::keystore {

namespace {

// Idle stores kept for reuse; more concurrent encryptions than this load their
// own store and drop it afterwards (a load is one read of pubring.kbx).
constexpr std::size_t kMaxIdle = 8;

Error rnp_error(std::string reason) {
  return Error::temp("4.7.0", "encryption failed, will retry", std::move(reason));
}

bool flag(rnp_result_t (*query)(rnp_key_handle_t, bool*), rnp_key_handle_t key) {
  bool v = false;
  return query(key, &v) == RNP_SUCCESS && v;
}

// The subkey gpg would encrypt to and PgpKeyring::lookup() accepted: the newest
// one that may encrypt and is valid now (not revoked, not expired). Null when
// there is none; the caller then hands RNP the primary key and lets it decide
// (a primary key that itself carries the encryption flag).
rnp::KeyPtr newest_encryption_subkey(rnp_key_handle_t primary) {
  std::size_t count = 0;
  if (rnp_key_get_subkey_count(primary, &count) != RNP_SUCCESS) return nullptr;
  rnp::KeyPtr best;
  std::uint32_t best_created = 0;
  for (std::size_t i = 0; i < count; ++i) {
    rnp_key_handle_t raw = nullptr;
    if (rnp_key_get_subkey_at(primary, i, &raw) != RNP_SUCCESS || !raw) continue;
    rnp::KeyPtr sub(raw);
    bool can_encrypt = false;
    if (rnp_key_allows_usage(sub.get(), "encrypt", &can_encrypt) != RNP_SUCCESS || !can_encrypt)
      continue;
    if (!flag(rnp_key_is_valid, sub.get()) || flag(rnp_key_is_revoked, sub.get()) ||
        flag(rnp_key_is_expired, sub.get()))
      continue;
    std::uint32_t created = 0;
    if (rnp_key_get_creation(sub.get(), &created) != RNP_SUCCESS) continue;
    // Ties go to the earlier subkey, as in pgp_key_unusable_reason().
    if (!best || created > best_created) {
      best = std::move(sub);
      best_created = created;
    }
  }
  return best;
}

}  // namespace

struct RnpEncryptor::Store {
  KeyringVersion version;
  rnp::FfiPtr ffi;
};

RnpEncryptor::RnpEncryptor(std::string gnupg_home) : home_(std::move(gnupg_home)) {}

RnpEncryptor::~RnpEncryptor() = default;

Result<std::unique_ptr<RnpEncryptor::Store>> RnpEncryptor::load(const KeyringVersion& version) {
  rnp_ffi_t raw_ffi = nullptr;
  // Formats of gpg 2.1+ homes: the keybox for public keys, G10 (private-keys-v1.d)
  // for secret ones, which we never load: only public keys are needed to encrypt.
  if (auto r = rnp_ffi_create(&raw_ffi, "KBX", "G10"); r != RNP_SUCCESS)
    return rnp_error(rnp::describe("rnp_ffi_create", r));
  auto store = std::make_unique<Store>();
  store->version = version;
  store->ffi.reset(raw_ffi);

  const std::string kbx = home_ + "/pubring.kbx";
  rnp_input_t raw_in = nullptr;
  if (auto r = rnp_input_from_path(&raw_in, kbx.c_str()); r != RNP_SUCCESS)
    return rnp_error(rnp::describe(("open " + kbx).c_str(), r));
  rnp::InputPtr in(raw_in);
  if (auto r = rnp_load_keys(store->ffi.get(), "KBX", in.get(), RNP_LOAD_SAVE_PUBLIC_KEYS);
      r != RNP_SUCCESS)
    return rnp_error(rnp::describe(("load " + kbx).c_str(), r));
  loads_.fetch_add(1);
  return store;
}

Result<std::unique_ptr<RnpEncryptor::Store>> RnpEncryptor::acquire(const KeyringVersion& version) {
  {
    std::lock_guard lock(mu_);
    if (!(version == latest_)) {
      // The keyring changed: stores of the old state must never serve again.
      // (A caller with an older version than latest_ just loads its own.)
      latest_ = version;
      idle_.clear();
    }
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return s;
    }
  }
  // Loading reads the whole keybox: outside the lock, so other workers can
  // take idle stores meanwhile.
  return load(version);
}

void RnpEncryptor::release(std::unique_ptr<Store> store) {
  std::lock_guard lock(mu_);
  if (store->version == latest_ && idle_.size() < kMaxIdle) idle_.push_back(std::move(store));
  // else destroyed here: stale or surplus
}

namespace {

// rnp_input_from_callback: reads the payload in pieces from wherever it lives.
struct BodyReader {
  const Body* body;
  std::uint64_t pos = 0;
  bool failed = false;
};

bool read_body(void* ctx, void* buf, size_t len, size_t* read) {
  auto* r = static_cast<BodyReader*>(ctx);
  auto n = r->body->read_at(r->pos, static_cast<char*>(buf), len);
  if (!n) {
    r->failed = true;
    return false;
  }
  r->pos += *n;
  *read = *n;
  return true;
}

struct SinkWriter {
  const RnpEncryptor::Sink* sink;
  bool failed = false;
};

bool write_sink(void* ctx, const void* buf, size_t len) {
  auto* w = static_cast<SinkWriter*>(ctx);
  if (!w->failed && !(*w->sink)(std::string_view(static_cast<const char*>(buf), len)))
    w->failed = true;
  return !w->failed;
}

}  // namespace

Result<void> RnpEncryptor::encrypt(const KeyringVersion& version, const Body& payload,
                                   const std::vector<std::string>& fingerprints, const Sink& out) {
  if (fingerprints.empty()) return rnp_error("no OpenPGP recipients");
  if (version.stamp == 0) return rnp_error("no pubring.kbx");
  auto acquired = acquire(version);
  if (!acquired) return acquired.error();
  std::unique_ptr<Store> store = std::move(acquired.value());
  rnp_ffi_t ffi = store->ffi.get();

  // Recipient handles must outlive the operation; destroyed before the store
  // goes back to the pool (declared after `store`, so destroyed first).
  std::vector<rnp::KeyPtr> recipients;
  for (const auto& fpr : fingerprints) {
    rnp_key_handle_t raw = nullptr;
    if (auto r = rnp_locate_key(ffi, "fingerprint", fpr.c_str(), &raw); r != RNP_SUCCESS)
      return rnp_error(rnp::describe("locate key", r));
    if (!raw) return rnp_error("key " + fpr + " not in the RNP key store");
    rnp::KeyPtr primary(raw);
    rnp::KeyPtr sub = newest_encryption_subkey(primary.get());
    recipients.push_back(sub ? std::move(sub) : std::move(primary));
  }

  BodyReader reader{&payload};
  rnp_input_t raw_in = nullptr;
  const std::string* mem = payload.memory();
  // In memory: no copy, `payload` outlives the operation. Else read in pieces.
  const rnp_result_t in_r =
      mem ? rnp_input_from_memory(&raw_in, reinterpret_cast<const std::uint8_t*>(mem->data()),
                                  mem->size(), false)
          : rnp_input_from_callback(&raw_in, read_body, nullptr, &reader);
  if (in_r != RNP_SUCCESS) return rnp_error(rnp::describe("input", in_r));
  rnp::InputPtr in(raw_in);
  SinkWriter writer{&out};
  rnp_output_t raw_out = nullptr;
  if (auto r = rnp_output_to_callback(&raw_out, write_sink, nullptr, &writer); r != RNP_SUCCESS)
    return rnp_error(rnp::describe("output", r));
  rnp::OutputPtr sink(raw_out);

  {
    rnp_op_encrypt_t raw_op = nullptr;
    if (auto r = rnp_op_encrypt_create(&raw_op, ffi, in.get(), sink.get()); r != RNP_SUCCESS)
      return rnp_error(rnp::describe("encrypt create", r));
    rnp::EncryptPtr op(raw_op);
    for (auto& k : recipients)
      if (auto r = rnp_op_encrypt_add_recipient(op.get(), k.get()); r != RNP_SUCCESS)
        return rnp_error(rnp::describe("add recipient", r));
    // Pinned explicitly rather than relying on librnp's defaults: AES-256 in
    // SEIPD v1 with MDC and no AEAD (OCB/EAX packets, which gpg 2.2 and sq do
    // not read the same way), and no compression (see the header).
    if (auto r = rnp_op_encrypt_set_cipher(op.get(), "AES256"); r != RNP_SUCCESS)
      return rnp_error(rnp::describe("set cipher", r));
    if (auto r = rnp_op_encrypt_set_aead(op.get(), "None"); r != RNP_SUCCESS)
      return rnp_error(rnp::describe("disable AEAD", r));
    if (auto r = rnp_op_encrypt_set_compression(op.get(), "Uncompressed", 0); r != RNP_SUCCESS)
      return rnp_error(rnp::describe("set compression", r));
    if (auto r = rnp_op_encrypt_set_armor(op.get(), true); r != RNP_SUCCESS)
      return rnp_error(rnp::describe("set armor", r));
    if (auto r = rnp_op_encrypt_execute(op.get()); r != RNP_SUCCESS)
      return rnp_error(rnp::describe("encrypt", r) +
                       (reader.failed ? " (reading the payload failed)" : "") +
                       (writer.failed ? " (writing the output failed)" : ""));
  }
  // The armor trailer is written when the armoring layer is finished.
  if (auto r = rnp_output_finish(sink.get()); r != RNP_SUCCESS)
    return rnp_error(rnp::describe("finish output", r));
  if (writer.failed) return rnp_error("writing the output failed");
  if (reader.failed) return rnp_error("reading the payload failed");
  sink.reset();
  in.reset();
  recipients.clear();
  release(std::move(store));
  return {};
}

}  // namespace sealpost::keystore
