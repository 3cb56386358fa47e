// Recipient X.509 certificates (<state_dir>/certs/) validated against the
// configured trust anchors and optional CRLs. A certificate is only ever
// returned by lookup() after a full chain check for the moment of the lookup;
// every refused candidate comes back with the reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "keystore/openssl_ptr.h"
#include "keystore/pgp_keyring.h"

namespace sealpost::keystore {

struct SmimeCert {
  std::string id;       // "x509:" + SHA-256 of the DER (stable file name and provenance key)
  std::string serial;   // hex
  std::string subject;  // RFC 2253
  std::vector<std::string> addresses;
  std::int64_t not_after = 0;
  bool usable = true;   // list(): validation outcome now
  std::string problem;  // list(): why not
  Provenance source;    // filled by Keystore
  ossl::SharedX509 cert;
};

struct SmimeStoreOptions {
  std::string certs_dir;                   // <state_dir>/certs
  std::vector<std::string> trust_anchors;  // PEM files or directories of PEM files
  std::string crl_dir;                     // "" = no CRL checking
  // How often the anchor and CRL files are stat()ed for changes (a fresh CRL
  // is taken without a restart); 0 = before every verification.
  std::chrono::seconds trust_check_interval{5};
};

class SmimeStore {
 public:
  static Result<std::unique_ptr<SmimeStore>> open(SmimeStoreOptions options);

  Result<void> lookup(const std::string& address, std::vector<SmimeCert>& certs,
                      std::vector<Rejection>& rejected);
  // Adds the certificates in `data` (PEM, one or several, or DER): end-entity
  // certificates become recipient certificates, CA certificates intermediates.
  Result<std::vector<SmimeCert>> import(const std::string& data);
  Result<std::vector<SmimeCert>> list_all();
  Result<void> remove(const std::string& id);
  // "" when `cert` is valid now for encryption; else the reason.
  std::string validate(X509* cert);
  // The part of validate() that looks at the certificate alone (key type,
  // CA flag, keyUsage/extendedKeyUsage for encryption), without the chain.
  static std::string usage_problem(X509* cert);
  // "" when `cert` is fit to have signed mail now: S/MIME signing purpose
  // (keyUsage digitalSignature/nonRepudiation, emailProtection if an EKU is
  // present) and a chain to a trust anchor through the imported intermediates
  // and `untrusted` (the certificates a signature carried); else the reason.
  // On success `chain` (when given) holds the verified chain, leaf first.
  std::string verify_signer(X509* cert, STACK_OF(X509) * untrusted,
                            ossl::X509StackPtr* chain = nullptr);
  // Untrusted intermediates, for building signer chains too.
  ossl::X509StackPtr intermediates();

  static SmimeCert describe(ossl::SharedX509 cert);

 private:
  // The anchors and CRLs as one X509_STORE, replaced as a whole when their
  // files change (X509_STORE cannot drop a CRL); verifications in flight keep
  // the one they started with.
  struct Trust {
    std::shared_ptr<X509_STORE> store;
    bool crl_check = false;
    struct Crl {
      std::string file;
      std::string issuer;
      std::int64_t next_update = 0;  // unix seconds; 0 = none given
    };
    std::vector<Crl> crls;
  };

  explicit SmimeStore(SmimeStoreOptions o) : opt_(std::move(o)) {}
  Result<void> reload_if_changed();  // caller holds mu_
  std::string verify_chain(X509* cert, STACK_OF(X509) * untrusted, int purpose,
                           ossl::X509StackPtr* chain);
  std::int64_t dir_stamp() const;
  Result<std::shared_ptr<const Trust>> load_trust() const;
  std::string trust_stamp() const;  // names, sizes and mtimes of anchor and CRL files
  std::shared_ptr<const Trust> current_trust();
  void warn_stale_crls(const Trust& t);  // caller holds trust_mu_

  SmimeStoreOptions opt_;
  std::mutex trust_mu_;
  std::shared_ptr<const Trust> trust_;
  std::string trust_stamp_;
  std::chrono::steady_clock::time_point trust_checked_{};
  std::set<std::string> stale_warned_;  // CRL files already reported as past nextUpdate
  std::mutex mu_;
  std::int64_t loaded_stamp_ = -1;
  std::vector<SmimeCert> certs_;
  std::vector<ossl::SharedX509> intermediates_;
};

// PEM (several) or DER certificates from bytes; empty when none parse.
std::vector<ossl::X509Ptr> parse_certificates(const std::string& data);

}  // namespace sealpost::keystore
