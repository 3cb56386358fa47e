// The keystore-backed KeyAvailabilityLookup for `sealpost policy explain`, so
// that an explanation matches what sealpostd would decide for the same
// recipients. (Named cmd_* so that the cmd_*.cpp glob in CMakeLists builds it.)
#include "keystore/keystore.h"
#include "policy/key_lookup.h"

namespace sealpost::policy {
namespace {

class KeystoreLookup final : public KeyAvailabilityLookup {
 public:
  explicit KeystoreLookup(const Config& config) {
    auto ks = keystore::Keystore::open(config);
    if (ks)
      keystore_ = std::move(ks).value();
    else
      open_error_ = ks.error().what();
  }

  KeyAvailability lookup(const std::string& address) override {
    KeyAvailability k;
    if (!keystore_) {
      k.note = "keystore error: " + open_error_;
      k.failed = true;
      return k;
    }
    auto found = keystore_->lookup(address);
    if (!found) {
      k.note = "keystore error: " + std::string(found.error().what());
      k.failed = true;
      return k;
    }
    k.pgp = !found->pgp.empty();
    k.smime = !found->smime.empty();
    if (!k.pgp && !k.smime && !found->rejected.empty()) {
      // Say why the keys that exist are not used (expired, revoked, ...).
      for (const auto& r : found->rejected) {
        if (!k.note.empty()) k.note += "; ";
        k.note += r.kind + " " + r.id + " not usable: " + r.reason;
      }
    }
    return k;
  }

 private:
  std::unique_ptr<keystore::Keystore> keystore_;
  std::string open_error_;
};

}  // namespace

std::unique_ptr<KeyAvailabilityLookup> make_key_lookup(const Config& config) {
  return std::make_unique<KeystoreLookup>(config);
}

}  // namespace sealpost::policy
