// The keystore facade: everything Sealpost knows about recipients' keys and its
// own signing identity, under <state_dir>. Lookups are thread-safe.
//
//   auto ks = Keystore::open(config);
//   auto found = (*ks)->lookup("patient@example.org");  // usable keys + refusals
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "keystore/pgp_keyring.h"
#include "keystore/provenance.h"
#include "keystore/smime_store.h"

namespace sealpost::keystore {

struct KeystoreOptions {
  KeystoreOptions() = default;
  KeystoreOptions(std::string state, std::vector<std::string> anchors = {}, std::string crls = {})
      : state_dir(std::move(state)), trust_anchors(std::move(anchors)), crl_dir(std::move(crls)) {}
  std::string state_dir;
  std::vector<std::string> trust_anchors;
  std::string crl_dir;
  // How often anchor/CRL files are checked for changes (SmimeStoreOptions).
  std::chrono::seconds trust_check_interval{5};
  // keystore.domain_signers: practice identities that may sign for their domain.
  std::vector<std::string> domain_signers;
};

struct LookupResult {
  std::vector<PgpKey> pgp;          // usable OpenPGP encryption keys
  std::vector<SmimeCert> smime;     // valid S/MIME certificates
  std::vector<Rejection> rejected;  // every other candidate, with the reason
};

struct ImportedItem {
  std::string kind;         // pgp | pgp-secret | smime | smime-signer
  std::string id;           // fingerprint or x509:<sha256>
  std::string description;  // user id or subject
};

struct ListedKey {
  std::string kind;  // pgp | smime | smime-signer
  std::string id;
  std::string description;
  std::vector<std::string> addresses;  // smime only
  std::string serial;                  // smime only
  std::int64_t expires = 0;
  bool secret = false;
  bool usable = true;
  std::string problem;
  Provenance source;
};

// What `sealpost keys approve` did: the key released, and the earlier
// harvested keys it replaces, now retired.
struct Approval {
  Provenance key;
  std::vector<std::string> retired;
};

// The practice's S/MIME identity (from PKCS#12), used to sign outgoing mail.
struct SmimeSigner {
  ossl::SharedX509 cert;
  std::shared_ptr<EVP_PKEY> key;
  std::vector<ossl::SharedX509> chain;
};

// The signing identity chosen for one From address (pgp_signer_for /
// smime_signer_for): the From address's own identity, else the configured
// domain signer of its domain (keystore.domain_signers). Nothing chosen is not
// an error: the caller sends unsigned and warns with `reason`.
struct PgpSignerChoice {
  std::string fingerprint;         // "" = no usable signing key
  std::string identity;            // the address its user id names
  std::string reason;              // why none was chosen
  std::vector<Rejection> refused;  // keys for the identities that cannot sign, with why
};

struct SmimeSignerChoice {
  std::shared_ptr<const SmimeSigner> signer;  // null = none usable
  std::string identity;                       // the certificate address that matched
  std::string reason;                         // why none was chosen
};

class Keystore {
 public:
  static Result<std::unique_ptr<Keystore>> open(const Config& config);
  static Result<std::unique_ptr<Keystore>> open(const KeystoreOptions& options);

  // Usable keys and certificates for `address`, the rest as refusals with the
  // reason: harvested ones awaiting approval or retired, and every harvested
  // one when the admin imported a key or certificate for the address.
  Result<LookupResult> lookup(const std::string& address);
  // Imports OpenPGP keys (public or secret), X.509 certificates (PEM/DER) or a
  // PKCS#12 signing identity; `origin` is recorded as provenance (file name).
  Result<std::vector<ImportedItem>> import_file(const std::string& path,
                                                const std::string& p12_passphrase = "");
  Result<std::vector<ImportedItem>> import_data(const std::string& data, const std::string& origin,
                                                const std::string& p12_passphrase = "");
  Result<std::vector<ListedKey>> list();
  // Removes a key or certificate and its provenance; `id` is a PGP
  // fingerprint (any case) or "x509:<sha256>".
  Result<void> remove(const std::string& id);
  // Removes the practice's S/MIME signing identity (private/smime-signer.pem);
  // returns its provenance (id x509:...). An error when none is imported.
  Result<Provenance> remove_smime_signer();
  // Vouches for a harvested key or certificate: releases it when it waits for
  // approval (imap[].harvest / key_change: approve) so lookup() returns it,
  // marks it approved (its signatures then read "valid key"), and retires the
  // earlier harvested keys it replaces. `id` is a PGP fingerprint (any case)
  // or "x509:<sha256>".
  Result<Approval> approve(const std::string& id);
  // Where a key or certificate came from (source "unknown" when not recorded).
  Provenance source_of(const std::string& id) { return provenance_of(id); }

  // Signing identities; empty / null when none is configured. These ignore
  // the sender: prefer pgp_signer_for / smime_signer_for.
  Result<std::string> pgp_signing_fingerprint() { return pgp_->signing_fingerprint(); }
  Result<std::shared_ptr<const SmimeSigner>> smime_signer();

  // The signing identity for mail From `from` (keystore/signer_choice.cpp):
  // a secret key / the S/MIME identity naming exactly `from`, else the
  // domain signer configured for its domain; expired, revoked, wrong-usage
  // or (S/MIME) untrusted identities are refused with the reason. An error
  // only when the keystore itself fails.
  Result<PgpSignerChoice> pgp_signer_for(const std::string& from);
  Result<SmimeSignerChoice> smime_signer_for(const std::string& from);

  PgpKeyring& pgp() { return *pgp_; }
  SmimeStore& smime() { return *smime_; }

 private:
  Keystore() = default;
  Result<std::vector<ImportedItem>> import_pkcs12(const std::string& data,
                                                  const std::string& origin,
                                                  const std::string& passphrase);
  void record(const std::string& id, const std::string& kind, const std::string& origin);
  Provenance provenance_of(const std::string& id);
  void hold_back_pending(ListedKey& l);  // list(): a pending key reads as not usable
  // lookup(): when the admin imported a key or certificate for the address
  // (either type, usable or not), harvested ones are refused as superseded.
  Result<void> supersede_harvested(const std::string& address, LookupResult& found);
  // The id of such an admin-imported key ("" = none).
  Result<std::string> admin_key_for(const std::string& address, const LookupResult& found);

  // From's own address, then the domain signers for its domain.
  std::vector<std::string> signing_identities(const std::string& from) const;

  std::string state_dir_;
  std::vector<std::string> domain_signers_;
  std::unique_ptr<PgpKeyring> pgp_;
  std::unique_ptr<SmimeStore> smime_;
  std::unique_ptr<ProvenanceStore> provenance_;
  std::mutex signer_mu_;
  std::shared_ptr<const SmimeSigner> signer_;
  std::int64_t signer_stamp_ = -1;
};

}  // namespace sealpost::keystore
