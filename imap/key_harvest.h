// Learns patients' OpenPGP keys from incoming mail (Autocrypt header) so the
// next outgoing mail to them is encrypted directly. A key is imported only
// when it is a single public key with a valid user id for the From address,
// and never when the admin already imported a different key for that address
// (a harvested key must not silently replace it). Provenance: "harvested",
// origin = the message's Message-ID.
#pragma once

#include <string>

#include "audit/audit_sink.h"
#include "keystore/keystore.h"

namespace sealpost::imap {

struct HarvestOutcome {
  enum class Kind { Imported, Known, Refused } kind = Kind::Refused;
  std::string fingerprint;
  std::string reason;  // why refused, or the key change an import made (log and audit)
};

class KeyHarvester {
 public:
  KeyHarvester(keystore::Keystore& keystore, std::string state_dir)
      : keystore_(keystore), state_dir_(std::move(state_dir)) {}

  HarvestOutcome harvest_pgp(const std::string& keydata, const std::string& from,
                             const std::string& message_id);

 private:
  keystore::Keystore& keystore_;
  std::string state_dir_;
};

}  // namespace sealpost::imap
