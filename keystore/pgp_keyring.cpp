#include "keystore/pgp_keyring.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "common/log.h"
#include "keystore/address_match.h"
#include "keystore/gpg_conf.h"

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

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool secret_key_can_sign(gpgme_key_t key, std::int64_t now) {
  if (key->revoked || key->expired || key->disabled || key->invalid) return false;
  for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
    if (sk->can_sign && sk->secret && !sk->revoked && !sk->expired &&
        (sk->expires == 0 || sk->expires > now))
      return true;
  return false;
}

// GPGME runs `gpg --version` whenever engine info is set, also per context:
// that was one extra gpg process per operation. The first keyring opened in
// a process (the daemon's, the CLI's) becomes GPGME's global default, which
// new contexts copy without a spawn; any other home is still set per context.
std::mutex g_home_mu;
std::string g_home;  // "" = no global home set yet

void adopt_as_global_home(const std::string& home) {
  std::lock_guard lock(g_home_mu);
  if (!g_home.empty()) return;
  if (gpgme_set_engine_info(GPGME_PROTOCOL_OpenPGP, nullptr, home.c_str()) == 0) g_home = home;
}

bool is_global_home(const std::string& home) {
  std::lock_guard lock(g_home_mu);
  return !g_home.empty() && g_home == home;
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

std::string pgp_signing_unusable_reason(gpgme_key_t key, const std::string& address) {
  if (key->revoked) return "key is revoked";
  if (key->expired) return "key has expired";
  if (key->disabled) return "key is disabled";
  if (key->invalid) return "key is invalid";
  bool named = false;
  for (gpgme_user_id_t u = key->uids; u; u = u->next)
    if (!u->revoked && !u->invalid && u->email && address_matches(u->email, address)) named = true;
  if (!named) return "no valid user id with exactly this address";
  const std::int64_t now = now_seconds();
  for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
    if (sk->can_sign && sk->secret && !sk->revoked && !sk->expired && !sk->disabled &&
        !sk->invalid && (sk->expires == 0 || sk->expires > now))
      return {};
  return "no valid signing subkey with its secret part";
}

Result<std::unique_ptr<PgpKeyring>> PgpKeyring::open(const std::string& gnupg_home) {
  gpg::ensure_initialised();
  std::error_code ec;
  fs::create_directories(gnupg_home, ec);
  if (ec) return keystore_error("cannot create " + gnupg_home + ": " + ec.message());
  // gpg refuses (warns about) homes others can read; and it is our secret key store.
  if (::chmod(gnupg_home.c_str(), 0700) != 0)
    return keystore_error("cannot chmod 0700 " + gnupg_home);
  // Written or refreshed every time, keeping the admin's own lines: the
  // cipher gpg picks for signed mail must not depend on an old key's prefs.
  if (auto w = refresh_gpg_conf((fs::path(gnupg_home) / "gpg.conf").string()); !w)
    return keystore_error("gpg.conf: " + w.error().what());
  adopt_as_global_home(gnupg_home);
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
  // Engine info with an explicit home, never GNUPGHOME from the environment (no
  // setenv races between threads, never the invoking user's keyring).
  if (!is_global_home(home_)) {
    if (auto err =
            gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_OpenPGP, nullptr, home_.c_str()))
      return keystore_error(gpg::describe("gpgme_ctx_set_engine_info", err));
  }
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

KeyringVersion PgpKeyring::version() {
  const std::int64_t stamp = keyring_stamp();
  std::lock_guard lock(mu_);
  return KeyringVersion{generation_, stamp};
}

Result<std::shared_ptr<const PgpKeyring::Snapshot>> PgpKeyring::list_snapshot(
    std::uint64_t generation, std::int64_t stamp) const {
  auto ctx = new_context();
  if (!ctx) return ctx.error();
  auto snap = std::make_shared<Snapshot>();
  snap->generation = generation;
  snap->stamp = stamp;
  snap->fetched = now_seconds();
  for (int secret = 0; secret <= 1; ++secret) {
    if (auto err = gpgme_op_keylist_start(ctx->get(), nullptr, secret))
      return keystore_error(gpg::describe("keylist", err));
    for (;;) {
      gpgme_key_t raw = nullptr;
      gpgme_error_t err = gpgme_op_keylist_next(ctx->get(), &raw);
      if (gpgme_err_code(err) == GPG_ERR_EOF) break;
      if (err) {
        gpgme_op_keylist_end(ctx->get());
        return keystore_error(gpg::describe("keylist", err));
      }
      gpg::KeyPtr key(raw);
      if (!key->fpr) continue;
      if (secret) {
        if (snap->signer.empty() && secret_key_can_sign(key.get(), snap->fetched))
          snap->signer = key->fpr;
        snap->secret_keys.emplace(key->fpr, std::move(key));
        continue;
      }
      for (gpgme_user_id_t u = key->uids; u; u = u->next)
        if (u->email && *u->email) snap->by_address.emplace(lower(u->email), key.get());
      snap->public_keys.emplace(key->fpr, std::move(key));
    }
    gpgme_op_keylist_end(ctx->get());
  }
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Result<std::shared_ptr<const PgpKeyring::Snapshot>> PgpKeyring::snapshot() {
  const std::int64_t stamp = keyring_stamp();
  const auto current = [&]() -> std::shared_ptr<const Snapshot> {
    std::lock_guard lock(mu_);
    if (snapshot_ && snapshot_->generation == generation_ && snapshot_->stamp == stamp &&
        now_seconds() - snapshot_->fetched < kCacheSeconds)
      return snapshot_;
    return nullptr;
  };
  if (auto s = current()) return s;
  std::lock_guard rebuild(rebuild_mu_);
  if (auto s = current()) return s;  // another worker listed meanwhile
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
  }
  auto fresh = list_snapshot(generation, stamp);
  if (!fresh) return fresh.error();
  std::lock_guard lock(mu_);
  snapshot_ = *fresh;
  return fresh;
}

Result<void> PgpKeyring::lookup(const std::string& address, std::vector<PgpKey>& keys,
                                std::vector<Rejection>& rejected) {
  const std::string wanted = normalise_address(address);
  if (wanted.find('@') == std::string::npos || wanted.find_first_of("<>\n\r") != std::string::npos)
    return Error::perm("5.1.3", "bad recipient address", "lookup of malformed address");
  auto snap = snapshot();
  if (!snap) return snap.error();
  // Candidates match case-insensitively (as gpg's "<addr>" pattern would);
  // pgp_key_unusable_reason then applies the exact local-part rule, so a
  // near miss is reported as rejected rather than silently absent.
  const auto [first, last] = (*snap)->by_address.equal_range(lower(wanted));
  std::vector<gpgme_key_t> seen;
  for (auto it = first; it != last; ++it) {
    gpgme_key_t key = it->second;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;  // two matching uids
    seen.push_back(key);
    PgpKey k;
    k.fingerprint = key->fpr;
    const std::string why = pgp_key_unusable_reason(key, wanted, k.uid, k.expires);
    if (why.empty())
      keys.push_back(std::move(k));
    else
      rejected.push_back({"pgp", k.fingerprint, why});
  }
  return {};
}

Result<std::string> PgpKeyring::signer_for_identity(const std::string& identity,
                                                    std::vector<Rejection>& refused) {
  auto snap = snapshot();
  if (!snap) return snap.error();
  std::string best;
  long best_created = -1;
  for (const auto& [fpr, key] : (*snap)->secret_keys) {
    bool mentions = false;  // a user id for the address at all (revoked or not)
    for (gpgme_user_id_t u = key->uids; u; u = u->next)
      if (u->email && address_matches(u->email, identity)) mentions = true;
    if (!mentions) continue;
    const std::string why = pgp_signing_unusable_reason(key.get(), identity);
    if (!why.empty()) {
      refused.push_back({"pgp", fpr, why});
      continue;
    }
    const long created = key->subkeys ? key->subkeys->timestamp : 0;
    if (created > best_created) {
      best = fpr;
      best_created = created;
    }
  }
  return best;
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
  auto snap = snapshot();
  if (!snap) return snap.error();
  return (*snap)->signer;
}

Result<std::vector<gpg::KeyPtr>> PgpKeyring::keys_for(gpgme_ctx_t ctx,
                                                      const std::vector<std::string>& fingerprints,
                                                      bool secret) {
  auto snap = snapshot();
  if (!snap) return snap.error();
  const auto& known = secret ? (*snap)->secret_keys : (*snap)->public_keys;
  std::vector<gpg::KeyPtr> out;
  for (const auto& fpr : fingerprints) {
    if (auto it = known.find(fpr); it != known.end()) {
      gpgme_key_ref(it->second.get());
      out.emplace_back(it->second.get());
      continue;
    }
    // Not in the snapshot (added by hand since): ask gpg for this one.
    gpgme_key_t raw = nullptr;
    if (auto err = gpgme_get_key(ctx, fpr.c_str(), &raw, secret ? 1 : 0))
      return keystore_error(gpg::describe("get key", err));
    out.emplace_back(raw);
  }
  return out;
}

}  // namespace sealpost::keystore
