#include "portal/pickup_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include "common/durable_file.h"
#include "common/log.h"
#include "common/secure_random.h"
#include "portal/second_factor.h"
#include "portal/sqlite_pickup_index.h"

namespace sealpost::pickup {
namespace {

constexpr std::string_view kBlobMagic = "SPPK1\n";
constexpr std::size_t kMaxFieldBytes = 4096;

// Key material layout: key(32) | u16 len | sms number | u16 len | passphrase hash.
void put_field(std::string& out, std::string_view v) {
  out += static_cast<char>((v.size() >> 8) & 0xff);
  out += static_cast<char>(v.size() & 0xff);
  out.append(v);
}

bool get_field(std::string_view& in, std::string& out) {
  if (in.size() < 2) return false;
  std::size_t n = (static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]);
  if (in.size() < 2 + n) return false;
  out.assign(in.substr(2, n));
  in.remove_prefix(2 + n);
  return true;
}

std::string wrap_context(std::string_view id) {
  return "sealpost-pickup-keys|" + std::string(id);
}
std::string blob_context(std::string_view id) {
  return "sealpost-pickup-blob|" + std::string(id);
}

Error bad_request(std::string reason) {
  return Error::perm("5.6.0", "pickup request refused", std::move(reason));
}

}  // namespace

bool valid_pickup_id(std::string_view id) {
  if (id.size() != 26) return false;  // random_token(16): 128 bits in base32
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  return true;
}

std::string pickup_link(std::string_view public_url, std::string_view id,
                        const SecretBytes& secret) {
  std::string base(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/p/" + std::string(id) + "/" + encode_link_secret(secret);
}

Result<std::unique_ptr<PickupStore>> PickupStore::open(const std::filesystem::path& dir) {
  // The directory says whether the store is shared: the packaged layout
  // (tmpfiles.d) makes pickup/ 2770 for the relay and the portal users of
  // group "sealpost"; a store we create ourselves is private (0700).
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return io_error(errno, "mkdir", dir);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_error(errno, "stat", dir);
  const bool shared = (st.st_mode & 0070) == 0070;
  const auto blobs = dir / "blobs";
  if (::mkdir(blobs.c_str(), 0700) == 0) {
    // Exact mode, whatever the umask: the other user must create and unlink here.
    if (shared && ::chmod(blobs.c_str(), 02770) != 0) return io_error(errno, "chmod", blobs);
  } else if (errno != EEXIST) {
    return io_error(errno, "mkdir", blobs);
  }
  auto index = SqlitePickupIndex::open((dir / "index.db").string(), shared);
  if (!index) return index.error();
  return std::unique_ptr<PickupStore>(
      new PickupStore(dir, std::move(index).value(), shared ? 0660 : 0600));
}

std::filesystem::path PickupStore::blob_path(std::string_view id) const {
  return dir_ / "blobs" / (std::string(id) + ".sealed");
}

Result<Deposited> PickupStore::deposit(const PickupRequest& req, std::string_view mime,
                                       std::int64_t now) {
  if (mime.size() > kMaxPickupBytes) return bad_request("pickup: message too large");
  if (req.recipient.empty() || req.sender.empty()) return bad_request("pickup: missing address");
  if (req.auth_method != "sms" && req.auth_method != "passphrase" &&
      req.auth_method != "code-to-sender")
    return bad_request("pickup: unknown auth method");
  // A second factor that cannot be delivered would strand the patient: fail closed now.
  if (req.auth_method == "sms" && !valid_phone_number(req.sms_number))
    return bad_request("pickup: sms auth without a valid number");
  if (req.auth_method == "passphrase" && req.passphrase_hash.rfind("$argon2id$", 0) != 0)
    return bad_request("pickup: passphrase auth without an argon2id hash");
  if (req.sms_number.size() > kMaxFieldBytes || req.passphrase_hash.size() > kMaxFieldBytes)
    return bad_request("pickup: oversized key material");
  const std::int64_t lifetime = req.expires.count();
  if (lifetime <= 0 || lifetime > kMaxLifetimeSeconds)
    return bad_request("pickup: expiry out of range");

  Deposited d;
  d.id = random_token(16);
  d.secret = new_link_secret();
  d.expires = now + lifetime;

  SecretBytes content_key = new_content_key();
  std::string blob(kBlobMagic);
  blob += seal(content_key, mime, blob_context(d.id));
  if (auto w = write_file_durable(blob_path(d.id), blob, file_mode_); !w) return w.error();

  std::string material = content_key.bytes();
  put_field(material, req.sms_number);
  put_field(material, req.passphrase_hash);
  SecretBytes material_secret(std::move(material));

  PickupRecord r;
  r.id = d.id;
  r.recipient = req.recipient;
  r.sender = req.sender;
  r.created = now;
  r.expires = d.expires;
  r.auth_method = req.auth_method;
  r.verifier = derive_verifier(d.secret, d.id);
  r.wrapped_key = seal(derive_kek(d.secret, d.id), material_secret.bytes(), wrap_context(d.id));
  if (auto ins = index_->insert(r); !ins) {
    std::error_code ec;
    std::filesystem::remove(blob_path(d.id), ec);  // no orphan blob after a failed insert
    return ins.error();
  }
  return d;
}

Result<Unlocked> PickupStore::unlock(std::string_view id, const SecretBytes& secret,
                                     std::int64_t now) {
  Unlocked u;
  if (!valid_pickup_id(id) || secret.bytes().size() != kSecretBytes) return u;
  auto found = index_->find(std::string(id));
  if (!found) return found.error();
  // An unknown id costs the same derivation and comparison as a known one
  // with a wrong secret, so timing does not tell which ids exist.
  static const std::string dummy_verifier = random_bytes(32);
  const std::string candidate = derive_verifier(secret, id);
  const bool match =
      constant_time_equal(candidate, *found ? (**found).verifier : dummy_verifier) && *found;
  if (!match) return u;  // nothing about a row leaves with a wrong secret
  u.record = std::move(**found);
  if (u.record.state == State::Revoked || u.record.state == State::Expired ||
      u.record.expires <= now || u.record.wrapped_key.empty()) {
    u.status = LinkStatus::Gone;
    return u;
  }
  if (u.record.state == State::Locked) {
    u.status = LinkStatus::Locked;
    return u;
  }
  auto material = pickup::open(derive_kek(secret, id), u.record.wrapped_key, wrap_context(id));
  if (!material) return Error::plain("pickup: wrapped key failed to open for a valid verifier");
  SecretBytes plain(std::move(material).value());
  std::string_view rest(plain.bytes());
  if (rest.size() < kKeyBytes) return Error::plain("pickup: key material truncated");
  u.keys.content_key = SecretBytes(std::string(rest.substr(0, kKeyBytes)));
  rest.remove_prefix(kKeyBytes);
  if (!get_field(rest, u.keys.sms_number) || !get_field(rest, u.keys.passphrase_hash))
    return Error::plain("pickup: key material malformed");
  u.status = LinkStatus::Ok;
  return u;
}

Result<std::string> PickupStore::read_message(const Unlocked& u) {
  if (u.status != LinkStatus::Ok) return Error::plain("pickup: not unlocked");
  auto blob = read_file(blob_path(u.record.id), kMaxPickupBytes + 1024);
  if (!blob) return blob.error();
  std::string_view b(*blob);
  if (b.substr(0, kBlobMagic.size()) != kBlobMagic) return Error::plain("pickup: blob format");
  b.remove_prefix(kBlobMagic.size());
  return pickup::open(u.keys.content_key, b, blob_context(u.record.id));
}

Result<void> PickupStore::shred(const std::string& id, State final_state) {
  // Key material first: once it is gone the blob is noise even if unlink fails.
  if (auto r = index_->shred(id, final_state); !r) return r;
  std::error_code ec;
  std::filesystem::remove(blob_path(id), ec);
  if (ec) return Error::plain("pickup: cannot remove blob: " + ec.message());
  return fsync_dir(dir_ / "blobs");
}

Result<void> PickupStore::revoke(const std::string& id) {
  if (!valid_pickup_id(id)) return Error::plain("no such pickup: " + id);
  auto found = index_->find(id);
  if (!found) return found.error();
  if (!*found) return Error::plain("no such pickup: " + id);
  return shred(id, State::Revoked);
}

Result<int> PickupStore::purge_expired(std::int64_t now,
                                       const std::function<void(const PickupRecord&)>& on_expired) {
  auto ids = index_->expired_ids(now);
  if (!ids) return ids.error();
  int n = 0;
  for (const auto& id : *ids) {
    auto found = index_->find(id);
    if (!found) return found.error();
    // A revoked pickup stays "revoked" in the listing; everything else becomes "expired".
    State final_state =
        (*found && (**found).state == State::Revoked) ? State::Revoked : State::Expired;
    if (auto r = shred(id, final_state); !r) return r.error();
    if (on_expired && *found && final_state == State::Expired) on_expired(**found);
    ++n;
  }
  return n;
}

Result<int> PickupStore::forget_old(std::int64_t now, std::chrono::seconds retention) {
  return index_->forget_shredded(now - retention.count());
}

Result<PickupDeposit> StorePickupService::deposit(const PickupRequest& req, std::string_view mime) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto d = store_.deposit(req, mime, now);
  if (!d) return d.error();
  log::info("pickup.deposit", {{"queue_id", req.queue_id},
                               {"pickup", d->id},
                               {"auth", req.auth_method},
                               {"expires", d->expires}});
  return PickupDeposit{d->id, pickup_link(public_url_, d->id, d->secret), d->expires};
}

Result<void> StorePickupService::withdraw(const std::string& pickup_id) {
  log::info("pickup.withdrawn", {{"pickup", pickup_id}});
  return store_.revoke(pickup_id);
}

}  // namespace sealpost::pickup
