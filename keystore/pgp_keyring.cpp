#include "keystore/pgp_keyring.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "common/durable_file.h"
#include "common/log.h"
#include "keystore/address_match.h"

namespace sealpost::keystore {

namespace fs = std::filesystem;

namespace {

// Cached lookups are re-checked at least this often: keys expire with time,
// not only when the keyring changes.
constexpr std::int64_t kCacheSeconds = 300;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool subkey_can_encrypt_now(gpgme_subkey_t sk, std::int64_t now) {
  return sk->can_encrypt && !sk->revoked && !sk->expired && !sk->disabled && !sk->invalid &&
         (sk->expires == 0 || sk->expires > now);
}

Error keystore_error(std::string reason) {
  return Error::temp("4.7.0", "keystore temporarily unavailable", std::move(reason));
}

}  // namespace

std::string pgp_key_unusable_reason(gpgme_key_t key, const std::string& address, std::string& uid,
                                    std::int64_t& expires) {
  if (key->revoked) return "key is revoked";
  if (key->expired) return "key has expired";
  if (key->disabled) return "key is disabled";
  if (key->invalid) return "key is invalid";
  const std::int64_t now = now_seconds();
  gpgme_subkey_t enc = nullptr;
  for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next) {
    if (subkey_can_encrypt_now(sk, now) && (!enc || sk->timestamp > enc->timestamp)) enc = sk;
  }
  if (!enc) return "no valid encryption-capable subkey";
  for (gpgme_user_id_t u = key->uids; u; u = u->next) {
    if (u->revoked || u->invalid || !u->email) continue;
    if (address_matches(u->email, address)) {
      uid = u->uid ? u->uid : u->email;
      expires = enc->expires;
      return {};
    }
  }
  return "no valid user id with exactly this address";
}

Result<std::unique_ptr<PgpKeyring>> PgpKeyring::open(const std::string& gnupg_home) {
  gpg::ensure_initialised();
  std::error_code ec;
  fs::create_directories(gnupg_home, ec);
  if (ec) return keystore_error("cannot create " + gnupg_home + ": " + ec.message());
  // gpg refuses (warns about) homes others can read; and it is our secret key store.
  if (::chmod(gnupg_home.c_str(), 0700) != 0)
    return keystore_error("cannot chmod 0700 " + gnupg_home);
  const fs::path conf = fs::path(gnupg_home) / "gpg.conf";
  if (!fs::exists(conf)) {
    // Several processes (daemon, CLI) share this home: no shared seed file.
    auto w = write_file_durable(conf, "no-random-seed-file\n", 0600);
    if (!w) return w.error();
  }
  std::unique_ptr<PgpKeyring> ring(new PgpKeyring(gnupg_home));
  auto ctx = ring->new_context();
  if (!ctx) return ctx.error();
  ring->ctx_ = std::move(ctx.value());
  return ring;
}

Result<gpg::CtxPtr> PgpKeyring::new_context() const {
  gpgme_ctx_t raw = nullptr;
  if (auto err = gpgme_new(&raw)) return keystore_error(gpg::describe("gpgme_new", err));
  gpg::CtxPtr ctx(raw);
  // Per-context engine info: never GNUPGHOME from the environment (no setenv races
  // between threads, never the invoking user's keyring).
  if (auto err =
          gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_OpenPGP, nullptr, home_.c_str()))
    return keystore_error(gpg::describe("gpgme_ctx_set_engine_info", err));
  if (auto err = gpgme_set_protocol(ctx.get(), GPGME_PROTOCOL_OpenPGP))
    return keystore_error(gpg::describe("gpgme_set_protocol", err));
  gpgme_set_armor(ctx.get(), 1);
  // No interactive pinentry ever: a protected secret key is an error, not a prompt.
  gpgme_set_pinentry_mode(ctx.get(), GPGME_PINENTRY_MODE_LOOPBACK);
  gpgme_set_offline(ctx.get(), 1);
  return ctx;
}

std::int64_t PgpKeyring::keyring_stamp() const {
  // The CLI imports from another process: the keybox's mtime tells the daemon.
  struct stat st {};
  const std::string kbx = home_ + "/pubring.kbx";
  if (::stat(kbx.c_str(), &st) != 0) return 0;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

Result<void> PgpKeyring::lookup(const std::string& address, std::vector<PgpKey>& keys,
                                std::vector<Rejection>& rejected) {
  const std::string wanted = normalise_address(address);
  if (wanted.find('@') == std::string::npos || wanted.find_first_of("<>\n\r") != std::string::npos)
    return Error::perm("5.1.3", "bad recipient address", "lookup of malformed address");
  const std::int64_t stamp = keyring_stamp();
  const std::int64_t now = now_seconds();
  std::lock_guard lock(mu_);
  if (auto it = cache_.find(wanted); it != cache_.end()) {
    const Cached& c = it->second;
    if (c.generation == generation_ && c.stamp == stamp && now - c.fetched < kCacheSeconds) {
      keys.insert(keys.end(), c.keys.begin(), c.keys.end());
      rejected.insert(rejected.end(), c.rejected.begin(), c.rejected.end());
      return {};
    }
  }
  Cached fresh;
  fresh.generation = generation_;
  fresh.stamp = stamp;
  fresh.fetched = now;
  // "<addr>" asks gpg for an exact (case-insensitive) mail match; we then apply
  // the stricter local-part rule ourselves.
  const std::string pattern = "<" + wanted + ">";
  if (auto err = gpgme_op_keylist_start(ctx_.get(), pattern.c_str(), 0))
    return keystore_error(gpg::describe("keylist", err));
  for (;;) {
    gpgme_key_t raw = nullptr;
    gpgme_error_t err = gpgme_op_keylist_next(ctx_.get(), &raw);
    if (gpgme_err_code(err) == GPG_ERR_EOF) break;
    if (err) {
      gpgme_op_keylist_end(ctx_.get());
      return keystore_error(gpg::describe("keylist", err));
    }
    gpg::KeyPtr key(raw);
    const std::string fpr = key->fpr ? key->fpr : "";
    PgpKey k;
    k.fingerprint = fpr;
    const std::string why = pgp_key_unusable_reason(key.get(), wanted, k.uid, k.expires);
    if (why.empty()) {
      remember_key(key.get(), false, stamp);
      fresh.keys.push_back(std::move(k));
    } else
      fresh.rejected.push_back({"pgp", fpr, why});
  }
  gpgme_op_keylist_end(ctx_.get());
  keys.insert(keys.end(), fresh.keys.begin(), fresh.keys.end());
  rejected.insert(rejected.end(), fresh.rejected.begin(), fresh.rejected.end());
  if (cache_.size() > 10000) cache_.clear();  // bounded memory under address churn
  cache_[wanted] = std::move(fresh);
  return {};
}

Result<PgpImport> PgpKeyring::import(const std::string& data) {
  gpgme_data_t raw = nullptr;
  if (auto err = gpgme_data_new_from_mem(&raw, data.data(), data.size(), 1))
    return keystore_error(gpg::describe("gpgme_data_new", err));
  gpg::DataPtr in(raw);
  std::lock_guard lock(mu_);
  if (auto err = gpgme_op_import(ctx_.get(), in.get()))
    return Error::plain(gpg::describe("OpenPGP import failed", err));
  gpgme_import_result_t res = gpgme_op_import_result(ctx_.get());
  if (!res || res->considered == 0) return Error::plain("no OpenPGP keys found in the file");
  PgpImport out;
  out.secret = res->secret_imported > 0 || res->secret_unchanged > 0;
  for (gpgme_import_status_t s = res->imports; s; s = s->next) {
    if (s->result != GPG_ERR_NO_ERROR || !s->fpr) continue;
    bool seen = false;
    for (const auto& f : out.fingerprints) seen = seen || f == s->fpr;
    if (!seen) out.fingerprints.emplace_back(s->fpr);
  }
  if (out.fingerprints.empty())
    return Error::plain("the file's OpenPGP keys could not be imported");
  ++generation_;
  return out;
}

Result<std::vector<PgpKey>> PgpKeyring::list_all() {
  std::lock_guard lock(mu_);
  std::vector<PgpKey> out;
  for (int secret = 0; secret <= 1; ++secret) {
    if (auto err = gpgme_op_keylist_start(ctx_.get(), nullptr, secret))
      return keystore_error(gpg::describe("keylist", err));
    for (;;) {
      gpgme_key_t raw = nullptr;
      gpgme_error_t err = gpgme_op_keylist_next(ctx_.get(), &raw);
      if (gpgme_err_code(err) == GPG_ERR_EOF) break;
      if (err) {
        gpgme_op_keylist_end(ctx_.get());
        return keystore_error(gpg::describe("keylist", err));
      }
      gpg::KeyPtr key(raw);
      const std::string fpr = key->fpr ? key->fpr : "";
      if (secret) {  // mark the public entry instead of listing twice
        for (auto& k : out)
          if (k.fingerprint == fpr) k.secret = true;
        continue;
      }
      PgpKey k;
      k.fingerprint = fpr;
      const std::string first_email =
          key->uids && key->uids->email ? key->uids->email : std::string();
      k.problem = pgp_key_unusable_reason(key.get(), first_email, k.uid, k.expires);
      k.usable = k.problem.empty();
      if (k.uid.empty() && key->uids && key->uids->uid) k.uid = key->uids->uid;
      out.push_back(std::move(k));
    }
    gpgme_op_keylist_end(ctx_.get());
  }
  return out;
}

Result<void> PgpKeyring::remove(const std::string& fingerprint) {
  std::lock_guard lock(mu_);
  gpgme_key_t raw = nullptr;
  if (gpgme_get_key(ctx_.get(), fingerprint.c_str(), &raw, 0) || !raw)
    return Error::plain("no OpenPGP key " + fingerprint);
  gpg::KeyPtr key(raw);
  if (auto err = gpgme_op_delete_ext(ctx_.get(), key.get(),
                                     GPGME_DELETE_ALLOW_SECRET | GPGME_DELETE_FORCE))
    return Error::plain(gpg::describe("delete", err));
  ++generation_;
  return {};
}

Result<std::string> PgpKeyring::signing_fingerprint() {
  const std::int64_t stamp = keyring_stamp();
  const std::int64_t now_s = now_seconds();
  std::lock_guard lock(mu_);
  // A secret keylist spawns gpg: cache like lookups (same invalidation rules).
  if (signer_.generation == generation_ && signer_.stamp == stamp &&
      now_s - signer_.fetched < kCacheSeconds)
    return signer_.fingerprint;
  if (auto err = gpgme_op_keylist_start(ctx_.get(), nullptr, 1))
    return keystore_error(gpg::describe("keylist", err));
  std::string found;
  const std::int64_t now = now_seconds();
  for (;;) {
    gpgme_key_t raw = nullptr;
    gpgme_error_t err = gpgme_op_keylist_next(ctx_.get(), &raw);
    if (gpgme_err_code(err) == GPG_ERR_EOF || err) break;
    gpg::KeyPtr key(raw);
    if (!found.empty() || key->revoked || key->expired || key->disabled || key->invalid) continue;
    for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next) {
      if (sk->can_sign && sk->secret && !sk->revoked && !sk->expired &&
          (sk->expires == 0 || sk->expires > now)) {
        found = key->fpr;
        remember_key(key.get(), true, stamp);
        break;
      }
    }
  }
  gpgme_op_keylist_end(ctx_.get());
  signer_ = CachedSigner{found, generation_, stamp, now_s};
  return found;
}

void PgpKeyring::remember_key(gpgme_key_t key, bool secret, std::int64_t stamp) {
  if (key_cache_generation_ != generation_ || key_cache_stamp_ != stamp) {
    key_cache_.clear();
    key_cache_generation_ = generation_;
    key_cache_stamp_ = stamp;
  }
  if (!key->fpr || key_cache_.size() > 10000) return;
  gpgme_key_ref(key);
  key_cache_[(secret ? "S" : "P") + std::string(key->fpr)] = gpg::KeyPtr(key);
}

Result<std::vector<gpg::KeyPtr>> PgpKeyring::keys_for(gpgme_ctx_t ctx,
                                                      const std::vector<std::string>& fingerprints,
                                                      bool secret) {
  std::vector<gpg::KeyPtr> out;
  const std::int64_t stamp = keyring_stamp();
  {
    std::lock_guard lock(mu_);
    const bool fresh = key_cache_generation_ == generation_ && key_cache_stamp_ == stamp;
    for (const auto& fpr : fingerprints) {
      auto it = fresh ? key_cache_.find((secret ? "S" : "P") + fpr) : key_cache_.end();
      if (it == key_cache_.end()) break;
      gpgme_key_ref(it->second.get());
      out.emplace_back(it->second.get());
    }
  }
  if (out.size() == fingerprints.size()) return out;
  out.clear();
  for (const auto& fpr : fingerprints) {
    gpgme_key_t raw = nullptr;
    if (auto err = gpgme_get_key(ctx, fpr.c_str(), &raw, secret ? 1 : 0))
      return keystore_error(gpg::describe("get key", err));
    out.emplace_back(raw);
  }
  return out;
}

}  // namespace sealpost::keystore
