// In-process OpenPGP encryption with librnp, over the public keys of
// Sealpost's GnuPG home (<home>/pubring.kbx, read-only).
//
// GPGME spawns one gpg process per encryption (~26-40 ms CPU per message);
// librnp encrypts in the calling thread in a few ms. Key selection and
// validity stay with PgpKeyring::lookup(): this class only encrypts to the
// fingerprints it is given, and any failure is returned so the caller can fall
// back to GPGME. Signing, decryption, imports and listing stay with GPGME.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/body.h"
#include "common/result.h"

namespace sealpost::keystore {

// The keyring state a derived cache (here: a loaded RNP key store) was built
// from. Imports/removals in this process bump `generation`; imports by the CLI
// change `stamp` (pubring.kbx mtime in ns, 0 = no keybox yet).
struct KeyringVersion {
  std::uint64_t generation = 0;
  std::int64_t stamp = 0;
  bool operator==(const KeyringVersion&) const = default;
};

class RnpEncryptor {
 public:
  explicit RnpEncryptor(std::string gnupg_home);
  ~RnpEncryptor();
  RnpEncryptor(const RnpEncryptor&) = delete;
  RnpEncryptor& operator=(const RnpEncryptor&) = delete;

  // The armored OpenPGP message for `payload`, handed to `out` in pieces as it
  // is produced (a big payload is read in pieces too): one PKESK per recipient
  // to its newest valid encryption subkey, SEIPD v1 with MDC, AES-256, no AEAD
  // (what gpg 2.2 writes, so every GnuPG and Sequoia reads it), uncompressed
  // (every implementation must read that; compressing base64 attachments cost
  // more CPU than the encryption, and compression next to secrets is a known
  // side channel). `version` is the keyring state the fingerprints were looked
  // up in; a store loaded from another state is never used. When `out` returns
  // false the operation fails. Safe to call from several threads.
  using Sink = std::function<bool(std::string_view)>;
  Result<void> encrypt(const KeyringVersion& version, const Body& payload,
                       const std::vector<std::string>& fingerprints, const Sink& out);

  // How often pubring.kbx was loaded (tests: a keyring change is picked up).
  std::uint64_t loads() const { return loads_.load(); }

 private:
  struct Store;  // one rnp_ffi_t with the keybox loaded, and its version
  Result<std::unique_ptr<Store>> acquire(const KeyringVersion& version);
  void release(std::unique_ptr<Store> store);
  Result<std::unique_ptr<Store>> load(const KeyringVersion& version);

  std::string home_;
  // rnp_ffi_t is not thread-safe: each Store is used by one thread at a time,
  // taken from and returned to this pool (one per concurrent worker at most).
  std::mutex mu_;  // guards idle_, latest_
  std::vector<std::unique_ptr<Store>> idle_;
  KeyringVersion latest_;
  std::atomic<std::uint64_t> loads_{0};
};

}  // namespace sealpost::keystore
