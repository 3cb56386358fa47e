// Where each key or certificate came from (imported by an admin, harvested
// from incoming mail, WKD), so `keys list` and the audit can say why Sealpost
// trusts it. Behind an interface so a shared database can replace SQLite.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace sealpost::keystore {

struct Provenance {
  std::string id;          // PGP fingerprint or "x509:" + SHA-256 of the certificate
  std::string kind;        // pgp | pgp-secret | smime | smime-signer
  std::string source;      // imported | harvested | wkd
  std::int64_t added = 0;  // unix seconds
  std::string origin;      // file name or message id it came from
  // Harvested under `imap[].harvest: approve` (or a key change under
  // `imap[].key_change: approve`): stored, but Keystore::lookup does not
  // return it until `sealpost keys approve` clears this.
  bool pending = false;
  // An admin ran `sealpost keys approve` on this harvested key: somebody
  // vouched for it, so its signatures read "valid key", not "harvested".
  bool approved = false;
  // A harvested key change: the ids (comma-separated) of the earlier
  // harvested keys for the address that retire once this one is in use.
  std::string replaces;
  // "" while in use; otherwise why it no longer is (replaced by a newer
  // harvested key). Keystore::lookup refuses retired keys with this reason.
  std::string retired;
};

class ProvenanceStore {
 public:
  virtual ~ProvenanceStore() = default;
  virtual Result<void> record(const Provenance& p) = 0;
  virtual std::optional<Provenance> find(const std::string& id) = 0;
  virtual Result<void> forget(const std::string& id) = 0;
};

// Marks the harvested key `id` as retired with `reason` (no-op when it is not
// harvested or retired already); returns whether it changed.
Result<bool> retire(ProvenanceStore& store, const std::string& id, const std::string& reason);

// The ids in Provenance::replaces.
std::vector<std::string> replaced_ids(const Provenance& p);

// SQLite file (created 0600 if missing).
Result<std::unique_ptr<ProvenanceStore>> open_sqlite_provenance(const std::string& path);

}  // namespace sealpost::keystore
