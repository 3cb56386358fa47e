// Learns patients' OpenPGP keys from incoming mail (Autocrypt header) so the
// next outgoing mail to them is encrypted directly. Mail is easy to send, so a
// harvested key is trusted for exactly one thing, the From address it came with:
//  - imported only when it is a single, usable public key with a user id for
//    exactly that address; every other user id is stripped on import;
//  - never when the admin imported a key or certificate for that address
//    (the vetted one takes precedence), and never onto a key already in the
//    keyring (that would add user ids to somebody else's key);
//  - provenance "harvested" (origin: how and from where) is recorded before the
//    import counts; if that fails the key is removed again.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "audit/audit_sink.h"
#include "keystore/keystore.h"

namespace sealpost::imap {

struct HarvestOutcome {
  enum class Kind { Imported, Known, Refused } kind = Kind::Refused;
  std::string fingerprint;
  std::string reason;  // why refused, or the key change an import made (log and audit)
};

enum class HarvestSource { Autocrypt, Signature };
const char* harvest_source_name(HarvestSource s);  // "autocrypt" | "signature"

class KeyHarvester {
 public:
  KeyHarvester(keystore::Keystore& keystore, std::string state_dir)
      : keystore_(keystore), state_dir_(std::move(state_dir)) {}

  HarvestOutcome harvest_pgp(const std::string& keydata, const std::string& from,
                             const std::string& message_id,
                             HarvestSource source = HarvestSource::Autocrypt);

  // Tests only: make the provenance store fail, to see the import undone.
  void set_provenance_for_testing(std::unique_ptr<keystore::ProvenanceStore> p) {
    provenance_ = std::move(p);
  }

 private:
  Result<keystore::ProvenanceStore*> provenance();

  keystore::Keystore& keystore_;
  std::string state_dir_;
  std::mutex mu_;  // one harvest at a time: check-then-import must not interleave
  std::unique_ptr<keystore::ProvenanceStore> provenance_;
};

}  // namespace sealpost::imap
