#include "imap/key_harvest.h"

#include <chrono>
#include <vector>

#include "keystore/address_match.h"
#include "keystore/gpgme_ptr.h"

namespace sealpost::imap {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HarvestOutcome refused(std::string reason, std::string fpr = {}) {
  return {HarvestOutcome::Kind::Refused, std::move(fpr), std::move(reason)};
}

struct Candidate {
  std::string fingerprint;
  bool secret = false;
  bool uid_matches = false;
  bool unusable = false;
};

// Lists the keys in `keydata` without importing them (gpg --import-options show-only).
Result<std::vector<Candidate>> inspect(keystore::PgpKeyring& keyring, const std::string& keydata,
                                       const std::string& from) {
  auto ctx = keyring.new_context();
  if (!ctx) return ctx.error();
  gpgme_data_t raw = nullptr;
  if (gpgme_data_new_from_mem(&raw, keydata.data(), keydata.size(), 0) != 0)
    return Error::plain("gpgme_data_new_from_mem failed");
  gpg::DataPtr data(raw);
  if (auto err = gpgme_op_keylist_from_data_start(ctx->get(), data.get(), 0))
    return Error::plain(gpg::describe("keylist_from_data", err));
  std::vector<Candidate> out;
  gpgme_key_t k = nullptr;
  while (gpgme_op_keylist_next(ctx->get(), &k) == 0) {
    gpg::KeyPtr key(k);
    Candidate c;
    c.fingerprint = key->fpr ? key->fpr : "";
    c.secret = key->secret;
    c.unusable = key->revoked || key->expired || key->disabled || key->invalid;
    for (gpgme_user_id_t uid = key->uids; uid; uid = uid->next) {
      if (uid->revoked || uid->invalid || !uid->uid) continue;
      if (keystore::address_matches(keystore::address_from_uid(uid->uid), from))
        c.uid_matches = true;
    }
    out.push_back(std::move(c));
  }
  gpgme_op_keylist_end(ctx->get());
  return out;
}

}  // namespace

HarvestOutcome KeyHarvester::harvest_pgp(const std::string& keydata, const std::string& from,
                                         const std::string& message_id) {
  gpg::ensure_initialised();
  auto found = inspect(keystore_.pgp(), keydata, from);
  if (!found) return refused(found.error().what());
  if (found->size() != 1)
    return refused("keydata holds " + std::to_string(found->size()) + " keys");
  const Candidate& c = found->front();
  if (c.secret) return refused("keydata holds secret key material", c.fingerprint);
  if (c.unusable) return refused("key revoked, expired or invalid", c.fingerprint);
  if (!c.uid_matches) return refused("no user id matches the From address", c.fingerprint);

  auto known = keystore_.lookup(from);
  if (!known) return refused("keystore lookup: " + known.error().what(), c.fingerprint);
  for (const auto& k : known->pgp)
    if (k.fingerprint == c.fingerprint) return {HarvestOutcome::Kind::Known, c.fingerprint, ""};
  for (const auto& k : known->pgp)
    if (k.source.source != "harvested")
      return refused("a different key for this address was imported by the admin", c.fingerprint);

  // A second harvested key for an address is allowed (patients re-key) but
  // said out loud: log and audit carry the earlier fingerprints.
  std::string change;
  for (const auto& k : known->pgp)
    change +=
        (change.empty() ? "key change: address already had harvested key " : ", ") + k.fingerprint;
  auto imported = keystore_.import_data(keydata, message_id);
  if (!imported) return refused("import: " + imported.error().what(), c.fingerprint);
  // import_data records "imported"; correct the source so `keys list` shows
  // that nobody vetted this key.
  auto prov = keystore::open_sqlite_provenance(state_dir_ + "/keystore.db");
  if (prov) {
    for (const auto& item : *imported)
      (void)(*prov)->record(
          keystore::Provenance{item.id, item.kind, "harvested", now_seconds(), message_id});
  }
  return {HarvestOutcome::Kind::Imported, c.fingerprint, change};
}

}  // namespace sealpost::imap
