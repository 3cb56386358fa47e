// The OpenPGP keyring in Sealpost's own GNUPGHOME (<state_dir>/gnupg, never the
// user's): lookups that return only keys fit to encrypt to, imports, removal,
// and the practice's signing key. Safe to call from several delivery workers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "keystore/gpgme_ptr.h"
#include "keystore/provenance.h"
#include "keystore/rnp_encryptor.h"

namespace sealpost::keystore {

struct PgpKey {
  std::string fingerprint;
  std::string uid;           // the user id whose address matched (or the first one)
  std::int64_t expires = 0;  // unix seconds of the encryption subkey; 0 = never
  bool secret = false;
  bool usable = true;   // list(): false for revoked/expired/... keys
  std::string problem;  // list(): why it is not usable
  Provenance source;    // filled by Keystore
};

struct Rejection {
  std::string kind;  // pgp | smime
  std::string id;    // fingerprint or certificate serial
  std::string reason;
};

struct PgpImport {
  std::vector<std::string> fingerprints;  // keys added or updated
  bool secret = false;                    // a secret key came with it
};

class PgpKeyring {
 public:
  // Creates the home (0700) if needed and writes the managed gpg.conf
  // settings (keystore/gpg_conf.h).
  static Result<std::unique_ptr<PgpKeyring>> open(const std::string& gnupg_home);

  // Keys usable for encryption to `address` (not expired/revoked/disabled/invalid,
  // an encryption-capable subkey, a user id with exactly this address);
  // every other candidate lands in `rejected` with its reason.
  Result<void> lookup(const std::string& address, std::vector<PgpKey>& keys,
                      std::vector<Rejection>& rejected);
  Result<PgpImport> import(const std::string& data);
  Result<std::vector<PgpKey>> list_all();
  Result<void> remove(const std::string& fingerprint);
  // Fingerprint of the practice's signing key: the first secret key that can sign.
  // Empty when none is imported. (Kept for callers that do not know the
  // sender; Keystore::pgp_signer_for ties the choice to the From address.)
  Result<std::string> signing_fingerprint();
  // The secret key to sign as `identity`: one with a valid user id for exactly
  // that address (local part exact, domain case-insensitive) that can sign
  // now, the newest if several; "" when none. Secret keys for the address that
  // cannot sign land in `refused` with the reason.
  Result<std::string> signer_for_identity(const std::string& identity,
                                          std::vector<Rejection>& refused);

  // A fresh context bound to this home (armor, loopback pinentry). Contexts are
  // not shared between threads; one per operation keeps workers independent.
  Result<gpg::CtxPtr> new_context() const;
  // Looks up keys by fingerprint for an encryption operation.
  // Keys seen by lookup()/signing_fingerprint() are reused (gpgme keys are
  // immutable and ref-counted), which saves one gpg process per key and message.
  Result<std::vector<gpg::KeyPtr>> keys_for(gpgme_ctx_t ctx,
                                            const std::vector<std::string>& fingerprints,
                                            bool secret);
  const std::string& home() const { return home_; }
  // The keyring state now (generation + pubring.kbx stamp), so caches built
  // from the keybox outside GPGME (the RNP key store) know when to reload.
  KeyringVersion version();
  // In-process encryption over this home's public keys (GPGME fallback is the
  // caller's: see seal/pgp_mime.cpp).
  RnpEncryptor& rnp() { return rnp_; }

 private:
  explicit PgpKeyring(std::string home) : home_(std::move(home)) {}
  std::int64_t keyring_stamp() const;

  // Every key of the keyring, listed once per change: a lookup is then a map
  // search instead of a gpg process (which, serialised behind one context,
  // capped delivery at ~30 messages/s for addresses without a key). gpgme keys
  // are immutable and ref-counted, so a snapshot is shared read-only.
  struct Snapshot {
    std::uint64_t generation = 0;
    std::int64_t stamp = 0;
    std::int64_t fetched = 0;
    std::map<std::string, gpg::KeyPtr> public_keys;  // by fingerprint
    std::map<std::string, gpg::KeyPtr> secret_keys;  // by fingerprint
    // Lower-cased user-id address -> keys carrying it (owned by public_keys).
    std::multimap<std::string, gpgme_key_t> by_address;
    std::string signer;  // first secret key able to sign now; "" = none
  };
  Result<std::shared_ptr<const Snapshot>> snapshot();
  Result<std::shared_ptr<const Snapshot>> list_snapshot(std::uint64_t generation,
                                                        std::int64_t stamp) const;

  std::string home_;
  std::mutex mu_;  // guards ctx_, generation_, snapshot_
  gpg::CtxPtr ctx_;
  std::uint64_t generation_ = 1;
  std::shared_ptr<const Snapshot> snapshot_;
  std::mutex rebuild_mu_;  // one listing at a time
  RnpEncryptor rnp_{home_};
};

// Why secret `key` cannot sign as `address` ("" = it can): revoked, expired,
// no valid user id with exactly this address, no signing subkey with its
// secret part that is valid now.
std::string pgp_signing_unusable_reason(gpgme_key_t key, const std::string& address);

// Why `key` cannot be used to encrypt to `address` ("" = usable); on success
// `uid` and `expires` describe the matching user id and encryption subkey.
std::string pgp_key_unusable_reason(gpgme_key_t key, const std::string& address, std::string& uid,
                                    std::int64_t& expires);

}  // namespace sealpost::keystore
