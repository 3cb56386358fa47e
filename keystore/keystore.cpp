#include "keystore/keystore.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>

#include "common/durable_file.h"
#include "common/log.h"
#include "keystore/address_match.h"

namespace sealpost::keystore {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxImportFile = 16u << 20;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string signer_path(const std::string& state_dir) {
  return state_dir + "/private/smime-signer.pem";
}

bool looks_like_pkcs12(const std::string& data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(data.size()));
  ERR_clear_error();
  if (!p12) return false;
  PKCS12_free(p12);
  return true;
}

// What `keys locate` and `keys list` say about a key held back for approval.
std::string pending_reason(const std::string& id) {
  return "harvested from mail, awaiting approval (sealpost keys approve " + id + ")";
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Provenance is keyed by the upper-case fingerprint gpg reports (or x509:<hex>).
std::string key_id(const std::string& id) {
  return id.rfind("x509:", 0) == 0 ? id : upper(id);
}

std::string retired_reason(const std::string& why) {
  return "retired: " + why;
}

std::string utc_day(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm) == 0) return "?";
  return buf;
}

}  // namespace

Result<std::unique_ptr<Keystore>> Keystore::open(const Config& config) {
  KeystoreOptions o(config.state_dir, config.keystore.trust_anchors, config.keystore.crl_dir);
  o.domain_signers = config.keystore.domain_signers;
  return open(o);
}

Result<std::unique_ptr<Keystore>> Keystore::open(const KeystoreOptions& options) {
  std::unique_ptr<Keystore> ks(new Keystore());
  ks->state_dir_ = options.state_dir;
  ks->domain_signers_ = options.domain_signers;
  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  if (ec) return Error::plain("cannot create " + options.state_dir + ": " + ec.message());
  auto pgp = PgpKeyring::open(options.state_dir + "/gnupg");
  if (!pgp) return pgp.error();
  ks->pgp_ = std::move(pgp.value());
  auto smime =
      SmimeStore::open(SmimeStoreOptions{options.state_dir + "/certs", options.trust_anchors,
                                         options.crl_dir, options.trust_check_interval});
  if (!smime) return smime.error();
  ks->smime_ = std::move(smime.value());
  auto prov = open_sqlite_provenance(options.state_dir + "/keystore.db");
  if (!prov) return prov.error();
  ks->provenance_ = std::move(prov.value());
  return ks;
}

Provenance Keystore::provenance_of(const std::string& id) {
  if (auto p = provenance_->find(id)) return *p;
  // Keys that reached the keyring without us (e.g. gpg run by hand) say so.
  Provenance unknown;
  unknown.id = id;
  unknown.source = "unknown";
  return unknown;
}

void Keystore::record(const std::string& id, const std::string& kind, const std::string& origin) {
  Provenance p;
  p.id = id;
  p.kind = kind;
  p.source = "imported";
  p.added = now_seconds();
  p.origin = origin;
  auto r = provenance_->record(p);
  if (!r) log::warn("keystore.provenance_failed", {{"id", id}, {"reason", r.error().what()}});
}

Result<LookupResult> Keystore::lookup(const std::string& address) {
  LookupResult out;
  if (auto r = pgp_->lookup(address, out.pgp, out.rejected); !r) return r.error();
  if (auto r = smime_->lookup(address, out.smime, out.rejected); !r) return r.error();
  for (auto& k : out.pgp) k.source = provenance_of(k.fingerprint);
  for (auto& c : out.smime) c.source = provenance_of(c.id);
  // A harvested key waiting for the admin, or one a newer harvested key
  // replaced, is stored but not used: it is a refusal with the reason, so
  // `keys locate` shows what to approve or what happened.
  const auto held_back = [](const Provenance& p, const std::string& id) -> std::string {
    if (!p.retired.empty()) return retired_reason(p.retired);
    if (p.pending) return pending_reason(id);
    return {};
  };
  std::erase_if(out.pgp, [&](const PgpKey& k) {
    const std::string why = held_back(k.source, k.fingerprint);
    if (why.empty()) return false;
    out.rejected.push_back({"pgp", k.fingerprint, why});
    return true;
  });
  std::erase_if(out.smime, [&](const SmimeCert& c) {
    const std::string why = held_back(c.source, c.id);
    if (why.empty()) return false;
    out.rejected.push_back({"smime", c.serial, why});
    return true;
  });
  if (auto r = supersede_harvested(address, out); !r) return r.error();
  return out;
}

Result<std::string> Keystore::admin_key_for(const std::string& address, const LookupResult& found) {
  for (const auto& k : found.pgp)
    if (k.source.source == "imported") return k.fingerprint;
  for (const auto& c : found.smime)
    if (c.source.source == "imported") return c.id;
  // Unusable ones count too (expired, revoked): the admin overrode the
  // harvested key, and an older key must not come back when theirs lapses.
  for (const auto& r : found.rejected)
    if (r.kind == "pgp" && provenance_of(r.id).source == "imported") return r.id;
  auto certs = smime_->list_all();  // refusals name certificates by serial only
  if (!certs) return certs.error();
  for (const auto& c : *certs) {
    bool for_address = false;
    for (const auto& a : c.addresses) for_address = for_address || address_matches(a, address);
    if (for_address && provenance_of(c.id).source == "imported") return c.id;
  }
  return std::string();
}

Result<void> Keystore::supersede_harvested(const std::string& address, LookupResult& found) {
  const auto harvested = [](const Provenance& p) { return p.source == "harvested"; };
  const bool any = std::any_of(found.pgp.begin(), found.pgp.end(),
                               [&](const PgpKey& k) { return harvested(k.source); }) ||
                   std::any_of(found.smime.begin(), found.smime.end(),
                               [&](const SmimeCert& c) { return harvested(c.source); });
  if (!any) return {};
  auto admin = admin_key_for(address, found);
  if (!admin) return admin.error();
  if (admin->empty()) return {};
  const std::string why = "superseded by the admin-imported " + *admin;
  std::erase_if(found.pgp, [&](const PgpKey& k) {
    if (!harvested(k.source)) return false;
    found.rejected.push_back({"pgp", k.fingerprint, why});
    return true;
  });
  std::erase_if(found.smime, [&](const SmimeCert& c) {
    if (!harvested(c.source)) return false;
    found.rejected.push_back({"smime", c.serial, why});
    return true;
  });
  return {};
}

Result<std::vector<ImportedItem>> Keystore::import_file(const std::string& path,
                                                        const std::string& p12_passphrase) {
  auto data = read_file(path, kMaxImportFile);
  if (!data) return data.error();
  return import_data(*data, fs::path(path).filename().string(), p12_passphrase);
}

Result<std::vector<ImportedItem>> Keystore::import_data(const std::string& data,
                                                        const std::string& origin,
                                                        const std::string& p12_passphrase) {
  std::vector<ImportedItem> out;
  const bool pem_cert = data.find("-----BEGIN CERTIFICATE-----") != std::string::npos;
  const bool armored_pgp = data.find("-----BEGIN PGP") != std::string::npos;
  if (!pem_cert && !armored_pgp && looks_like_pkcs12(data))
    return import_pkcs12(data, origin, p12_passphrase);
  if (pem_cert || (!armored_pgp && !parse_certificates(data).empty())) {
    auto certs = smime_->import(data);
    if (!certs) return certs.error();
    for (const auto& c : *certs) {
      record(c.id, "smime", origin);
      out.push_back({"smime", c.id, c.subject});
    }
    return out;
  }
  auto imp = pgp_->import(data);
  if (!imp) return imp.error();
  for (const auto& fpr : imp->fingerprints) {
    const std::string kind = imp->secret ? "pgp-secret" : "pgp";
    record(fpr, kind, origin);
    out.push_back({kind, fpr, ""});
  }
  return out;
}

Result<std::vector<ImportedItem>> Keystore::import_pkcs12(const std::string& data,
                                                          const std::string& origin,
                                                          const std::string& passphrase) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  ossl::Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(data.size())));
  if (!p12) return Error::plain("not a PKCS#12 file");
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  if (PKCS12_parse(p12.get(), passphrase.c_str(), &key, &cert, &ca) != 1)
    return Error::plain("cannot open PKCS#12 (wrong passphrase?): " + ossl::last_error());
  ossl::PkeyPtr owned_key(key);
  ossl::X509Ptr owned_cert(cert);
  ossl::X509StackPtr owned_ca(ca);
  if (!key || !cert) return Error::plain("PKCS#12 lacks a private key or certificate");
  if (X509_check_private_key(cert, key) != 1)
    return Error::plain("PKCS#12 key does not match its certificate");
  // Unencrypted PEM in a 0600 file in a 0700 dir: the daemon must sign unattended,
  // so a passphrase would have to sit next to it anyway.
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* kp = nullptr;
  const long kn = BIO_get_mem_data(bio.get(), &kp);
  std::string pem(kp, static_cast<std::size_t>(kn));
  pem += ossl::pem_of(cert);
  for (int i = 0; owned_ca && i < sk_X509_num(owned_ca.get()); ++i)
    pem += ossl::pem_of(sk_X509_value(owned_ca.get(), i));
  const fs::path dir = fs::path(state_dir_) / "private";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) return Error::plain("cannot create " + dir.string());
  auto w = write_file_durable(signer_path(state_dir_), pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!w) return w.error();
  SmimeCert desc = SmimeStore::describe(ossl::share(std::move(owned_cert)));
  record(desc.id, "smime-signer", origin);
  {
    std::lock_guard lock(signer_mu_);
    signer_stamp_ = -1;
  }
  return std::vector<ImportedItem>{{"smime-signer", desc.id, desc.subject}};
}

Result<std::shared_ptr<const SmimeSigner>> Keystore::smime_signer() {
  const std::string path = signer_path(state_dir_);
  struct stat st {};
  std::lock_guard lock(signer_mu_);
  if (::stat(path.c_str(), &st) != 0) {
    signer_.reset();
    signer_stamp_ = 0;
    return std::shared_ptr<const SmimeSigner>();
  }
  const std::int64_t stamp =
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (stamp == signer_stamp_) return signer_;
  auto data = read_file(path, kMaxImportFile);
  if (!data) return data.error();
  auto bio = ossl::mem_bio(*data);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  auto certs = parse_certificates(*data);
  OPENSSL_cleanse(data->data(), data->size());  // the key stays only in EVP_PKEY
  if (!key) return Error::temp("4.7.0", "signing key unavailable", "cannot read " + path);
  auto signer = std::make_shared<SmimeSigner>();
  signer->key = std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
  if (certs.empty()) return Error::temp("4.7.0", "signing key unavailable", "no cert in " + path);
  signer->cert = ossl::share(std::move(certs.front()));
  for (std::size_t i = 1; i < certs.size(); ++i)
    signer->chain.push_back(ossl::share(std::move(certs[i])));
  signer_ = signer;
  signer_stamp_ = stamp;
  return signer_;
}

Result<std::vector<ListedKey>> Keystore::list() {
  std::vector<ListedKey> out;
  auto keys = pgp_->list_all();
  if (!keys) return keys.error();
  for (const auto& k : *keys) {
    ListedKey l{"pgp",     k.fingerprint, k.uid,    {},        {},
                k.expires, k.secret,      k.usable, k.problem, provenance_of(k.fingerprint)};
    hold_back_pending(l);
    out.push_back(std::move(l));
  }
  auto certs = smime_->list_all();
  if (!certs) return certs.error();
  for (const auto& c : *certs) {
    ListedKey l{"smime",     c.id,  c.subject, c.addresses, c.serial,
                c.not_after, false, c.usable,  c.problem,   provenance_of(c.id)};
    hold_back_pending(l);
    out.push_back(std::move(l));
  }
  auto signer = smime_signer();
  if (signer && *signer) {
    SmimeCert c = SmimeStore::describe((*signer)->cert);
    out.push_back(ListedKey{"smime-signer", c.id, c.subject, c.addresses, c.serial, c.not_after,
                            true, true, "", provenance_of(c.id)});
  }
  return out;
}

void Keystore::hold_back_pending(ListedKey& l) {
  std::string why;
  if (!l.source.retired.empty())
    why = retired_reason(l.source.retired);
  else if (l.source.pending)
    why = pending_reason(l.id);
  if (why.empty()) return;
  l.problem = why + (l.usable ? "" : "; also: " + l.problem);
  l.usable = false;
}

Result<Approval> Keystore::approve(const std::string& id) {
  const std::string key = key_id(id);
  auto p = provenance_->find(key);
  if (!p) return Error::plain("no key or certificate " + id + " in the keystore");
  if (p->source != "harvested")
    return Error::plain(id + " was not harvested (source " + p->source + "); nothing to approve");
  if (!p->retired.empty())
    return Error::plain(id + " is " + retired_reason(p->retired) +
                        "; remove it (sealpost keys remove) if it should be learnt again");
  Approval out;
  if (p->pending || !p->approved) {  // approving twice is harmless
    p->pending = false;
    p->approved = true;
    if (auto r = provenance_->record(*p); !r) return r.error();
  }
  // The key change is accepted: the earlier harvested keys are no longer used.
  for (const auto& old : replaced_ids(*p)) {
    auto r =
        retire(*provenance_, old,
               "replaced by " + p->id + " (key change approved " + utc_day(now_seconds()) + ")");
    if (!r) return r.error();
    if (*r) out.retired.push_back(old);
  }
  out.key = *p;
  return out;
}

Result<void> Keystore::remove(const std::string& id) {
  if (id.rfind("x509:", 0) == 0) {
    if (auto r = smime_->remove(id); !r) return r;
  } else {
    if (id.size() < 16 || id.find_first_not_of("0123456789ABCDEFabcdef") != std::string::npos)
      return Error::plain("not a key id (fingerprint or x509:...): " + id);
    if (auto r = pgp_->remove(id); !r) return r;
  }
  // gpg takes the fingerprint in any case; provenance rows are upper-case.
  return provenance_->forget(key_id(id));
}

Result<Provenance> Keystore::remove_smime_signer() {
  auto signer = smime_signer();
  if (!signer) return signer.error();
  if (!*signer) return Error::plain("no S/MIME signing identity is imported");
  const SmimeCert c = SmimeStore::describe((*signer)->cert);
  Provenance p = provenance_of(c.id);
  const std::string path = signer_path(state_dir_);
  std::error_code ec;
  if (!fs::remove(path, ec) || ec)
    return Error::plain("cannot remove " + path + (ec ? ": " + ec.message() : ""));
  if (auto r = fsync_dir(fs::path(path).parent_path().string()); !r) return r.error();
  {
    std::lock_guard lock(signer_mu_);
    signer_.reset();
    signer_stamp_ = -1;
  }
  if (auto r = provenance_->forget(c.id); !r) return r.error();
  p.id = c.id;
  return p;
}

}  // namespace sealpost::keystore
