// Learns patients' OpenPGP keys from incoming mail (Autocrypt header) so the
// next outgoing mail to them is encrypted directly. Mail is easy to send, so a
// harvested key is trusted for exactly one thing, the From address it came with:
//  - imported only when it is a single, usable public key with a user id for
//    exactly that address; every other user id is stripped on import;
//  - never when the admin imported a key or certificate for that address
//    (the vetted one takes precedence), and never onto a key already in the
//    keyring (that would add user ids to somebody else's key);
//  - provenance "harvested" (origin: how and from where) is recorded before the
//    import counts; if that fails the key is removed again;
//  - under `imap[].harvest: approve` it is stored pending: Keystore::lookup
//    skips it until `sealpost keys approve`;
//  - a further key for an address that has a key in use (harvested, of either
//    type, or of unknown provenance) is a key change: under
//    `imap[].key_change: approve` it waits for approval, and once approved (or
//    at once under `auto`) the earlier harvested keys of its type retire.
// S/MIME certificates come from valid signatures (smime_harvest.cpp) under the
// same precedence rules.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "audit/audit_sink.h"
#include "config/config.h"
#include "keystore/keystore.h"

namespace sealpost::imap {

struct HarvestOutcome {
  enum class Kind { Imported, Known, Refused } kind = Kind::Refused;
  std::string fingerprint;  // PGP fingerprint or x509:<sha256>
  std::string reason;       // why refused, or the key change an import made (log and audit)
  bool pending = false;     // Imported, but waits for `sealpost keys approve`
  std::vector<std::string> retired;  // earlier harvested keys this import retired

  static HarvestOutcome make(Kind kind, std::string id, std::string reason = {},
                             bool pending = false) {
    HarvestOutcome o;
    o.kind = kind;
    o.fingerprint = std::move(id);
    o.reason = std::move(reason);
    o.pending = pending;
    return o;
  }
};

// The account's rules (imap[].harvest, imap[].key_change).
struct HarvestRules {
  HarvestPolicy harvest = HarvestPolicy::Approve;
  KeyChangePolicy key_change = KeyChangePolicy::Approve;
};

struct SmimeVerified;

enum class HarvestSource { Autocrypt, Signature };
const char* harvest_source_name(HarvestSource s);  // "autocrypt" | "signature"

class KeyHarvester {
 public:
  KeyHarvester(keystore::Keystore& keystore, std::string state_dir)
      : keystore_(keystore), state_dir_(std::move(state_dir)) {}

  HarvestOutcome harvest_pgp(const std::string& keydata, const std::string& from,
                             const std::string& message_id,
                             HarvestSource source = HarvestSource::Autocrypt,
                             HarvestRules rules = {});
  // The signer certificate of a verified S/MIME signature (SmimeVerified::valid()).
  // Taken only when every address it names is exactly `from` (a certificate
  // cannot be cut down to one address like an OpenPGP key), its EKU names
  // emailProtection and it can be encrypted to.
  HarvestOutcome harvest_smime(const SmimeVerified& signature, const std::string& from,
                               const std::string& message_id, HarvestRules rules = {});

  // Tests only: make the provenance store fail, to see the import undone.
  void set_provenance_for_testing(std::unique_ptr<keystore::ProvenanceStore> p) {
    provenance_ = std::move(p);
  }

 private:
  Result<keystore::ProvenanceStore*> provenance();
  // The keys an address already has in use (not retired) that a new harvested
  // one changes: harvested ones of the same kind it replaces, and every other
  // one (the other type, or unvouched) it would be used beside.
  struct PriorKeys {
    std::vector<std::string> replaced;
    std::vector<std::string> beside;
  };
  // Why the admin's keys for `from` forbid harvesting ("" = they do not);
  // collects the keys a new one of `kind` changes. Caller holds mu_.
  std::string admin_precedence(const std::string& from, const keystore::LookupResult& known,
                               keystore::ProvenanceStore& prov, const std::string& kind,
                               PriorKeys& prior);
  // The provenance a new harvested key is recorded with, and what the key
  // change means for it (pending, which keys it replaces).
  keystore::Provenance harvested_record(const std::string& id, const std::string& kind,
                                        std::string origin, const PriorKeys& prior,
                                        const HarvestRules& rules, std::string& change) const;
  // A key change that took effect at once (key_change: auto): the earlier
  // keys retire. Returns the ids retired.
  std::vector<std::string> retire_earlier(keystore::ProvenanceStore& prov,
                                          const keystore::Provenance& now_used);

  keystore::Keystore& keystore_;
  std::string state_dir_;
  std::mutex mu_;  // one harvest at a time: check-then-import must not interleave
  std::unique_ptr<keystore::ProvenanceStore> provenance_;
};

}  // namespace sealpost::imap
