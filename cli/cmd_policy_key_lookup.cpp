// TEMPORARY key lookup for `sealpost policy explain`: reports "no keys" for
// everyone and says so in the reasons, until the lead wires the keystore
// (keystore/) in here. The file name starts with cmd_ only so that
// cli/CMakeLists.txt's cmd_*.cpp glob builds it.
#include "policy/key_lookup.h"

namespace sealpost::policy {
namespace {

class KeystoreNotWired : public KeyAvailabilityLookup {
 public:
  KeyAvailability lookup(const std::string&) override {
    KeyAvailability k;
    k.note = "keystore not consulted by this build (no keys assumed)";
    return k;
  }
};

}  // namespace

std::unique_ptr<KeyAvailabilityLookup> make_key_lookup(const Config&) {
  return std::make_unique<KeystoreNotWired>();
}

}  // namespace sealpost::policy
