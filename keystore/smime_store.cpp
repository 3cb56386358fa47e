#include "keystore/smime_store.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "common/durable_file.h"
#include "common/log.h"
#include "keystore/address_match.h"

namespace sealpost::keystore {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxCertFile = 1u << 20;

Error store_error(std::string reason) {
  return Error::temp("4.7.0", "keystore temporarily unavailable", std::move(reason));
}

std::string sha256_hex(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string serial_hex(X509* cert) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), BN_free);
  if (!bn) return {};
  char* s = BN_bn2hex(bn.get());
  std::string out = s ? s : "";
  OPENSSL_free(s);
  return out;
}

std::string name_text(X509_NAME* name) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

std::int64_t asn1_time_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

bool is_ca(X509* cert) {
  return X509_check_ca(cert) != 0;
}

// Every *.pem / *.crt / *.crl file in a directory, or the file itself.
std::vector<fs::path> pem_files(const fs::path& p) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    for (const auto& e : fs::directory_iterator(p, ec))
      if (e.is_regular_file(ec)) out.push_back(e.path());
  } else {
    out.push_back(p);
  }
  return out;
}

std::vector<ossl::SharedX509> load_dir(const fs::path& dir) {
  std::vector<ossl::SharedX509> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec) || e.path().extension() != ".pem") continue;
    auto data = read_file(e.path(), kMaxCertFile);
    if (!data) continue;
    for (auto& c : parse_certificates(*data)) out.push_back(ossl::share(std::move(c)));
  }
  return out;
}

}  // namespace

std::vector<ossl::X509Ptr> parse_certificates(const std::string& data) {
  std::vector<ossl::X509Ptr> out;
  if (data.find("-----BEGIN") != std::string::npos) {
    auto bio = ossl::mem_bio(data);
    while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    if (X509* c = d2i_X509(nullptr, &p, static_cast<long>(data.size()))) out.emplace_back(c);
  }
  ERR_clear_error();  // PEM_read stops with an expected "no start line"
  return out;
}

SmimeCert SmimeStore::describe(ossl::SharedX509 cert) {
  SmimeCert c;
  X509* x = cert.get();
  c.id = "x509:" + sha256_hex(x);
  c.serial = serial_hex(x);
  c.subject = name_text(X509_get_subject_name(x));
  c.not_after = asn1_time_unix(X509_get0_notAfter(x));
  // X509_get1_email: subjectAltName rfc822Name entries plus legacy emailAddress in the DN.
  if (STACK_OF(OPENSSL_STRING)* emails = X509_get1_email(x)) {
    for (int i = 0; i < sk_OPENSSL_STRING_num(emails); ++i)
      c.addresses.emplace_back(sk_OPENSSL_STRING_value(emails, i));
    X509_email_free(emails);
  }
  c.cert = std::move(cert);
  return c;
}

Result<std::unique_ptr<SmimeStore>> SmimeStore::open(SmimeStoreOptions options) {
  std::error_code ec;
  fs::create_directories(fs::path(options.certs_dir) / "intermediates", ec);
  if (ec) return store_error("cannot create " + options.certs_dir + ": " + ec.message());
  std::unique_ptr<SmimeStore> s(new SmimeStore(std::move(options)));
  {
    std::lock_guard lock(s->trust_mu_);
    s->trust_stamp_ = s->trust_stamp();
    auto trust = s->load_trust();
    if (!trust) return trust.error();
    s->trust_ = std::move(*trust);
    s->trust_checked_ = std::chrono::steady_clock::now();
    if (!s->opt_.crl_dir.empty() && s->trust_->crls.empty())
      log::warn("keystore.crl_dir_empty",
                {{"dir", s->opt_.crl_dir},
                 {"effect", "every S/MIME certificate is refused until CRLs are there"}});
    s->warn_stale_crls(*s->trust_);
  }
  std::lock_guard lock(s->mu_);
  if (auto r = s->reload_if_changed(); !r) return r.error();
  return s;
}

Result<std::shared_ptr<const SmimeStore::Trust>> SmimeStore::load_trust() const {
  auto t = std::make_shared<Trust>();
  t->store.reset(X509_STORE_new(), X509_STORE_free);
  if (!t->store) return store_error("X509_STORE_new failed");
  std::error_code ec;
  for (const auto& anchor : opt_.trust_anchors) {
    if (!fs::exists(anchor, ec)) return Error::plain("trust anchor not found: " + anchor);
    for (const auto& f : pem_files(anchor)) {
      // Directories may hold non-PEM files (hash links, README); skip those quietly.
      if (X509_STORE_load_file(t->store.get(), f.c_str()) != 1 && !fs::is_directory(anchor))
        return Error::plain("cannot load trust anchor " + f.string() + ": " + ossl::last_error());
      ERR_clear_error();
    }
  }
  if (opt_.crl_dir.empty()) return std::shared_ptr<const Trust>(std::move(t));
  // With a CRL directory, revocation is always checked: an issuer without a
  // CRL (none there yet, or a file half-written by a fetch job) fails its
  // chains instead of being taken as "not revoked".
  t->crl_check = true;
  for (const auto& f : pem_files(opt_.crl_dir)) {
    auto data = read_file(f, 64u << 20);
    if (!data) continue;
    auto bio = ossl::mem_bio(*data);
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
      ossl::X509CrlPtr owned(crl);
      X509_STORE_add_crl(t->store.get(), crl);
      t->crls.push_back({f.filename().string(), name_text(X509_CRL_get_issuer(crl)),
                         asn1_time_unix(X509_CRL_get0_nextUpdate(crl))});
    }
    ERR_clear_error();
  }
  return std::shared_ptr<const Trust>(std::move(t));
}

std::string SmimeStore::trust_stamp() const {
  std::string stamp;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      stamp += p.string() + ":missing\n";
      return;
    }
    stamp += p.string() + ":" + std::to_string(st.st_size) + ":" +
             std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
  };
  std::vector<std::string> roots = opt_.trust_anchors;
  if (!opt_.crl_dir.empty()) roots.push_back(opt_.crl_dir);
  for (const auto& root : roots) {
    add(root);
    std::vector<fs::path> files = pem_files(root);
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
      if (f != fs::path(root)) add(f);
  }
  return stamp;
}

// Cheap enough for every verification: a clock read, and at most every
// trust_check_interval a stat() of the anchor and CRL files.
std::shared_ptr<const SmimeStore::Trust> SmimeStore::current_trust() {
  std::lock_guard lock(trust_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - trust_checked_ < opt_.trust_check_interval && trust_) return trust_;
  trust_checked_ = now;
  std::string stamp = trust_stamp();
  if (stamp != trust_stamp_) {
    auto fresh = load_trust();
    if (fresh) {
      trust_ = std::move(*fresh);
      trust_stamp_ = std::move(stamp);
      stale_warned_.clear();
      log::info(
          "keystore.trust_reloaded",
          {{"crls", static_cast<std::int64_t>(trust_->crls.size())}, {"crl_dir", opt_.crl_dir}});
      if (!opt_.crl_dir.empty() && trust_->crls.empty())
        log::warn("keystore.crl_dir_empty",
                  {{"dir", opt_.crl_dir},
                   {"effect", "every S/MIME certificate is refused until CRLs are there"}});
    } else {
      // Keep verifying with what was loaded before; try again next interval.
      log::warn("keystore.trust_reload_failed", {{"reason", fresh.error().what()}});
    }
  }
  warn_stale_crls(*trust_);
  return trust_;
}

void SmimeStore::warn_stale_crls(const Trust& t) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  for (const auto& c : t.crls) {
    if (c.next_update == 0 || c.next_update > now) continue;
    if (!stale_warned_.insert(c.file + "\n" + c.issuer).second) continue;
    // OpenSSL refuses every certificate of this issuer from now on.
    log::warn("keystore.crl_stale", {{"file", c.file},
                                     {"issuer", c.issuer},
                                     {"next_update", c.next_update},
                                     {"effect",
                                      "S/MIME certificates of this issuer are refused "
                                      "until a fresh CRL is in the CRL directory"}});
  }
}

std::int64_t SmimeStore::dir_stamp() const {
  std::int64_t stamp = 0;
  for (const auto& d : {opt_.certs_dir, opt_.certs_dir + "/intermediates"}) {
    struct stat st {};
    if (::stat(d.c_str(), &st) == 0)
      stamp += static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  return stamp;
}

Result<void> SmimeStore::reload_if_changed() {
  const std::int64_t stamp = dir_stamp();
  if (stamp == loaded_stamp_) return {};
  std::vector<SmimeCert> certs;
  for (auto& c : load_dir(opt_.certs_dir)) certs.push_back(describe(std::move(c)));
  intermediates_ = load_dir(fs::path(opt_.certs_dir) / "intermediates");
  certs_ = std::move(certs);
  loaded_stamp_ = stamp;
  return {};
}

ossl::X509StackPtr SmimeStore::intermediates() {
  ossl::X509StackPtr out(sk_X509_new_null());
  std::lock_guard lock(mu_);
  for (const auto& c : intermediates_) {
    X509_up_ref(c.get());
    sk_X509_push(out.get(), c.get());
  }
  return out;
}

std::string SmimeStore::validate(X509* cert) {
  if (auto why = usage_problem(cert); !why.empty()) return why;
  return verify_chain(cert, nullptr, -1, nullptr);
}

std::string SmimeStore::usage_problem(X509* cert) {
  EVP_PKEY* pk = X509_get0_pubkey(cert);
  const int type = pk ? EVP_PKEY_get_base_id(pk) : 0;
  if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) return "public key is neither RSA nor EC";
  const uint32_t flags = X509_get_extension_flags(cert);
  if (flags & EXFLAG_INVALID) return "certificate has invalid extensions";
  if (flags & EXFLAG_CA) return "a CA certificate, not a recipient certificate";
  // keyUsage, when present, must allow the way CMS will use this key.
  if (flags & EXFLAG_KUSAGE) {
    const uint32_t ku = X509_get_key_usage(cert);
    if (type == EVP_PKEY_RSA && !(ku & KU_KEY_ENCIPHERMENT))
      return "keyUsage lacks keyEncipherment";
    if (type == EVP_PKEY_EC && !(ku & KU_KEY_AGREEMENT)) return "keyUsage lacks keyAgreement";
  }
  if (flags & EXFLAG_XKUSAGE) {
    const uint32_t xku = X509_get_extended_key_usage(cert);
    if (!(xku & (XKU_SMIME | XKU_ANYEKU))) return "extendedKeyUsage lacks emailProtection";
  }
  return {};
}

std::string SmimeStore::verify_signer(X509* cert, STACK_OF(X509) * untrusted,
                                      ossl::X509StackPtr* chain) {
  if (!cert) return "no signer certificate";
  if (X509_get_extension_flags(cert) & EXFLAG_INVALID) return "certificate has invalid extensions";
  return verify_chain(cert, untrusted, X509_PURPOSE_SMIME_SIGN, chain);
}

std::string SmimeStore::verify_chain(X509* cert, STACK_OF(X509) * untrusted, int purpose,
                                     ossl::X509StackPtr* chain) {
  auto pool = intermediates();
  for (int i = 0; untrusted && i < sk_X509_num(untrusted); ++i) {
    X509* c = sk_X509_value(untrusted, i);
    X509_up_ref(c);
    sk_X509_push(pool.get(), c);
  }
  const std::shared_ptr<const Trust> trust = current_trust();  // kept alive until we are done
  ossl::StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), trust->store.get(), cert, pool.get()) != 1)
    return "cannot set up verification: " + ossl::last_error();
  if (trust->crl_check)
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  if (purpose > 0 && X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1)
    return "cannot set verification purpose: " + ossl::last_error();
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    std::string why =
        std::string("chain verification failed: ") + X509_verify_cert_error_string(err);
    // Say what the admin can do about the CRL cases.
    if (err == X509_V_ERR_CRL_HAS_EXPIRED)
      why += " (the issuer's CRL in " + opt_.crl_dir +
             " is past its nextUpdate; put a fresh one there)";
    else if (err == X509_V_ERR_UNABLE_TO_GET_CRL)
      why += " (no CRL for the issuer in " + opt_.crl_dir + ")";
    return why;
  }
  if (chain) chain->reset(X509_STORE_CTX_get1_chain(ctx.get()));
  return {};
}

Result<void> SmimeStore::lookup(const std::string& address, std::vector<SmimeCert>& certs,
                                std::vector<Rejection>& rejected) {
  std::vector<SmimeCert> candidates;
  {
    std::lock_guard lock(mu_);
    if (auto r = reload_if_changed(); !r) return r.error();
    for (const auto& c : certs_) {
      for (const auto& a : c.addresses) {
        if (address_matches(a, address)) {
          candidates.push_back(c);
          break;
        }
      }
    }
  }
  for (auto& c : candidates) {
    const std::string why = validate(c.cert.get());
    if (why.empty())
      certs.push_back(std::move(c));
    else
      rejected.push_back({"smime", c.serial, why});
  }
  return {};
}

Result<std::vector<SmimeCert>> SmimeStore::import(const std::string& data) {
  auto parsed = parse_certificates(data);
  if (parsed.empty()) return Error::plain("no X.509 certificates found in the file");
  std::vector<SmimeCert> added;
  std::lock_guard lock(mu_);
  for (auto& x : parsed) {
    SmimeCert c = describe(ossl::share(std::move(x)));
    const bool ca = is_ca(c.cert.get());
    const fs::path dir = ca ? fs::path(opt_.certs_dir) / "intermediates" : fs::path(opt_.certs_dir);
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), c.cert.get());
    char* p = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &p);
    const std::string file = c.id.substr(5) + ".pem";
    if (auto w =
            write_file_durable(dir / file, std::string_view(p, static_cast<std::size_t>(n)), 0644);
        !w)
      return w.error();
    if (!ca) added.push_back(std::move(c));
  }
  loaded_stamp_ = -1;  // force a reload on the next lookup
  return added;
}

Result<std::vector<SmimeCert>> SmimeStore::list_all() {
  std::vector<SmimeCert> all;
  {
    std::lock_guard lock(mu_);
    if (auto r = reload_if_changed(); !r) return r.error();
    all = certs_;
  }
  for (auto& c : all) {
    c.problem = validate(c.cert.get());
    c.usable = c.problem.empty();
  }
  return all;
}

Result<void> SmimeStore::remove(const std::string& id) {
  if (id.rfind("x509:", 0) != 0 || id.size() != 5 + 64 ||
      id.find_first_not_of("0123456789abcdef", 5) != std::string::npos)
    return Error::plain("not a certificate id: " + id);
  std::lock_guard lock(mu_);
  const fs::path file = fs::path(opt_.certs_dir) / (id.substr(5) + ".pem");
  std::error_code ec;
  if (!fs::remove(file, ec)) return Error::plain("no certificate " + id);
  if (auto r = fsync_dir(opt_.certs_dir); !r) return r.error();
  loaded_stamp_ = -1;
  return {};
}

}  // namespace sealpost::keystore
