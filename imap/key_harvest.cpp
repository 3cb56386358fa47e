#include "imap/key_harvest.h"

#include <chrono>
#include <vector>

#include "imap/harvest_import.h"
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
  return HarvestOutcome::make(HarvestOutcome::Kind::Refused, std::move(fpr), std::move(reason));
}

struct Candidate {
  std::string fingerprint;
  bool secret = false;
  std::string problem;  // why it cannot be a key for the From address ("" = fine)
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
    // The same rule outgoing mail applies: not revoked/expired/disabled, an
    // encryption subkey valid now, a user id with exactly the From address.
    std::string uid;
    std::int64_t expires = 0;
    c.problem = keystore::pgp_key_unusable_reason(key.get(), from, uid, expires);
    out.push_back(std::move(c));
  }
  gpgme_op_keylist_end(ctx->get());
  return out;
}

}  // namespace

const char* harvest_source_name(HarvestSource s) {
  return s == HarvestSource::Signature ? "signature" : "autocrypt";
}

Result<keystore::ProvenanceStore*> KeyHarvester::provenance() {
  if (!provenance_) {
    auto opened = keystore::open_sqlite_provenance(state_dir_ + "/keystore.db");
    if (!opened) return opened.error();
    provenance_ = std::move(opened.value());
  }
  return provenance_.get();
}

std::string KeyHarvester::admin_precedence(const std::string& from,
                                           const keystore::LookupResult& known,
                                           keystore::ProvenanceStore& prov, const std::string& kind,
                                           PriorKeys& prior) {
  // What the admin vetted for this address wins, usable or not: a harvested
  // key must not slip in beside an expired admin key or an S/MIME certificate.
  // Earlier harvested keys that a key change retired already do not count.
  // Any other key still in use for the address, of either type or with no
  // (or a garbled) provenance record, makes the new one a key change: a
  // forged From must not add an S/MIME certificate beside a trusted OpenPGP
  // key (or the reverse) without approval.
  enum class Origin { Admin, InUse, Retired };
  auto origin_of = [&](const std::string& id) {
    auto p = prov.find(id);
    if (p && p->source == "imported") return Origin::Admin;
    if (p && p->source == "harvested" && !p->retired.empty()) return Origin::Retired;
    return Origin::InUse;  // harvested, or unvouched (no record / unknown source)
  };
  auto note = [&](const std::string& id, const std::string& id_kind) {
    auto p = prov.find(id);
    if (id_kind == kind && p && p->source == "harvested")
      prior.replaced.push_back(id);
    else
      prior.beside.push_back(id);
  };
  for (const auto& k : known.pgp) {
    const Origin o = origin_of(k.fingerprint);
    if (o == Origin::Admin) return "the admin imported a key for this address";
    if (o == Origin::InUse) note(k.fingerprint, "pgp");
  }
  for (const auto& r : known.rejected) {
    if (r.kind != "pgp") continue;
    const Origin o = origin_of(r.id);
    if (o == Origin::Admin) return "the admin imported a key for this address (" + r.reason + ")";
    if (o == Origin::InUse) note(r.id, "pgp");
  }
  // Certificates are matched on every address they name, usable or not
  // (lookup() reports refused ones by serial only, so list them all).
  auto certs = keystore_.smime().list_all();
  if (!certs) return "certificate store: " + certs.error().what();
  for (const auto& c : *certs) {
    bool for_from = false;
    for (const auto& a : c.addresses) for_from = for_from || keystore::address_matches(a, from);
    if (!for_from) continue;
    const Origin o = origin_of(c.id);
    if (o == Origin::Admin) return "the admin imported an S/MIME certificate for this address";
    if (o == Origin::InUse) note(c.id, "smime");
  }
  return {};
}

keystore::Provenance KeyHarvester::harvested_record(const std::string& id, const std::string& kind,
                                                    std::string origin, const PriorKeys& prior,
                                                    const HarvestRules& rules,
                                                    std::string& change) const {
  keystore::Provenance p;
  p.id = id;
  p.kind = kind;
  p.source = "harvested";
  p.added = now_seconds();
  p.origin = std::move(origin);
  p.pending = rules.harvest == HarvestPolicy::Approve;
  change.clear();
  for (const auto& e : prior.replaced) {
    p.replaces += (p.replaces.empty() ? "" : ",") + e;
    change += (change.empty() ? "key change: address already had harvested " +
                                    std::string(kind == "pgp" ? "key " : "certificate ")
                              : ", ") +
              e;
  }
  for (const auto& e : prior.beside)
    change += (change.empty() ? "key change: address already has " : ", ") + e;
  // A changed key is what an attacker with a forged From would send: it waits
  // for the admin unless the account says otherwise.
  if (!change.empty() && rules.key_change == KeyChangePolicy::Approve) p.pending = true;
  if (!change.empty())
    change += p.pending            ? "; waits for sealpost keys approve " + id
              : p.replaces.empty() ? "; used beside it"
                                   : "; the earlier one is retired";
  return p;
}

std::vector<std::string> KeyHarvester::retire_earlier(keystore::ProvenanceStore& prov,
                                                      const keystore::Provenance& now_used) {
  std::vector<std::string> out;
  if (now_used.pending) return out;  // retired when `keys approve` releases it
  for (const auto& old : keystore::replaced_ids(now_used)) {
    auto r = keystore::retire(
        prov, old, "replaced by " + now_used.id + " (key change from " + now_used.origin + ")");
    if (r && *r) out.push_back(old);
  }
  return out;
}

HarvestOutcome KeyHarvester::harvest_pgp(const std::string& keydata, const std::string& from,
                                         const std::string& message_id, HarvestSource source,
                                         HarvestRules rules) {
  gpg::ensure_initialised();
  std::lock_guard lock(mu_);
  if (rules.harvest == HarvestPolicy::Never) return refused("harvesting is off for this account");
  if (!harvestable_address(from)) return refused("From address not harvestable");
  auto found = inspect(keystore_.pgp(), keydata, from);
  if (!found) return refused(found.error().what());
  if (found->size() != 1)
    return refused("keydata holds " + std::to_string(found->size()) + " keys");
  const Candidate& c = found->front();
  if (c.secret) return refused("keydata holds secret key material", c.fingerprint);
  if (!c.problem.empty()) return refused("not a usable key for the From address: " + c.problem);

  auto known = keystore_.lookup(from);
  if (!known) return refused("keystore lookup: " + known.error().what(), c.fingerprint);
  for (const auto& k : known->pgp)
    if (k.fingerprint == c.fingerprint)
      return HarvestOutcome::make(HarvestOutcome::Kind::Known, c.fingerprint);
  // Stored but not usable now (waiting for approval, retired): mailing it again changes nothing.
  for (const auto& r : known->rejected)
    if (r.kind == "pgp" && r.id == c.fingerprint)
      return HarvestOutcome::make(HarvestOutcome::Kind::Known, c.fingerprint);
  auto prov = provenance();
  if (!prov) return refused("provenance store: " + prov.error().what(), c.fingerprint);

  PriorKeys prior;
  if (auto why = admin_precedence(from, *known, **prov, "pgp", prior); !why.empty())
    return refused(why, c.fingerprint);
  // Already in the keyring, but not for this address: importing would merge
  // this user id into that key (the admin's or another sender's).
  auto present = keyring_has(keystore_.pgp(), c.fingerprint);
  if (!present) return refused("keyring: " + present.error().what(), c.fingerprint);
  if (*present) return refused("key is already in the keyring for another address", c.fingerprint);

  // Provenance first: a key without it would list as "unknown" (unvouched:
  // never "valid key", and in the next harvest a key change). Written before the import so no
  // moment exists where the key is usable without it; read back afterwards,
  // and the key is taken out again when it is not there. A key change (a
  // second harvested key for the address) is said out loud and, under
  // key_change: approve, waits like a harvest under approve.
  std::string origin = std::string(harvest_source_name(source)) + " from " + from;
  if (!message_id.empty()) origin += " in " + message_id;
  std::string change;
  const keystore::Provenance record =
      harvested_record(c.fingerprint, "pgp", std::move(origin), prior, rules, change);
  auto recorded = (*prov)->record(record);
  if (!recorded)
    return refused("provenance not recorded: " + recorded.error().what(), c.fingerprint);
  auto imported = import_for_address(keystore_.pgp(), keydata, from);
  if (!imported) {
    (void)(*prov)->forget(c.fingerprint);
    return refused("import: " + imported.error().what(), c.fingerprint);
  }
  const auto kept = (*prov)->find(*imported);
  if (*imported != c.fingerprint || !kept || kept->source != "harvested") {
    auto removed = keystore_.pgp().remove(*imported);
    (void)(*prov)->forget(c.fingerprint);
    return refused(std::string("provenance missing after import; key ") +
                       (removed ? "removed again" : "NOT removed: " + removed.error().what()),
                   c.fingerprint);
  }
  auto out =
      HarvestOutcome::make(HarvestOutcome::Kind::Imported, c.fingerprint, change, record.pending);
  out.retired = retire_earlier(**prov, record);
  return out;
}

}  // namespace sealpost::imap
