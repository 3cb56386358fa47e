// The pickup store under <state_dir>/pickup/: encrypted blobs in blobs/ and the
// index in index.db. Everything needed to read a pickup is wrapped under a key
// derived from the link secret (portal/pickup_crypto.h); expiry and revocation
// delete the blob and the wrapped key (crypto-shredding).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "portal/pickup_crypto.h"
#include "portal/pickup_index.h"
#include "portal/pickup_service.h"

namespace sealpost::pickup {

inline constexpr std::size_t kMaxPickupBytes = 64u << 20;
inline constexpr std::int64_t kMaxLifetimeSeconds = 366LL * 24 * 3600;

// What only the link holder can unwrap.
struct KeyMaterial {
  SecretBytes content_key;
  std::string sms_number;
  std::string passphrase_hash;
};

enum class LinkStatus {
  Ok,
  Invalid,  // unknown id or wrong secret: deliberately indistinguishable
  Gone,     // expired or revoked (only said to a holder of the right secret)
  Locked,   // too many failed second-factor attempts
};

struct Unlocked {
  LinkStatus status = LinkStatus::Invalid;
  PickupRecord record;
  KeyMaterial keys;  // filled only for Ok
};

struct Deposited {
  std::string id;
  SecretBytes secret;
  std::int64_t expires = 0;
};

bool valid_pickup_id(std::string_view id);

class PickupStore {
 public:
  // Opens (creating with mode 0700) `dir` and its index.
  static Result<std::unique_ptr<PickupStore>> open(const std::filesystem::path& dir);

  Result<Deposited> deposit(const PickupRequest& req, std::string_view mime, std::int64_t now);
  Result<Unlocked> unlock(std::string_view id, const SecretBytes& secret, std::int64_t now);
  Result<std::string> read_message(const Unlocked& u);
  // Revokes and shreds; unknown ids are an error.
  Result<void> revoke(const std::string& id);
  // Shreds every pickup whose time is up; returns how many.
  // `on_expired` hears of each pickup that expired here (not of ones revoked
  // earlier), after its key material is gone: the portal audits it.
  Result<int> purge_expired(std::int64_t now,
                            const std::function<void(const PickupRecord&)>& on_expired = {});
  // Deletes index rows of shredded pickups whose expiry is more than
  // `retention` ago (portal.index_retention); returns how many.
  Result<int> forget_old(std::int64_t now, std::chrono::seconds retention);
  PickupIndex& index() { return *index_; }

 private:
  PickupStore(std::filesystem::path dir, std::unique_ptr<PickupIndex> index, int file_mode)
      : dir_(std::move(dir)), index_(std::move(index)), file_mode_(file_mode) {}
  std::filesystem::path blob_path(std::string_view id) const;
  Result<void> shred(const std::string& id, State final_state);

  std::filesystem::path dir_;
  std::unique_ptr<PickupIndex> index_;
  int file_mode_;  // 0600, or 0660 when the directory is group-shared
};

// PickupService for sealpostd: deposits into a store and builds the link.
class StorePickupService final : public PickupService {
 public:
  StorePickupService(PickupStore& store, std::string public_url)
      : store_(store), public_url_(std::move(public_url)) {}
  Result<PickupDeposit> deposit(const PickupRequest& req, std::string_view mime) override;
  Result<void> withdraw(const std::string& pickup_id) override;

 private:
  PickupStore& store_;
  std::string public_url_;
};

// "<public_url>/p/<id>/<secret>" (the one place the secret is written down).
std::string pickup_link(std::string_view public_url, std::string_view id,
                        const SecretBytes& secret);

}  // namespace sealpost::pickup
