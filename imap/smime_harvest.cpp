// KeyHarvester::harvest_smime: the signer certificate of a valid S/MIME
// signature becomes the sender's recipient certificate. Same order as for
// OpenPGP keys: every check first, provenance before the certificate is
// stored, read back afterwards, undone when anything is off.
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "imap/key_harvest.h"
#include "imap/smime_signed.h"
#include "keystore/address_match.h"

namespace sealpost::imap {
namespace {

HarvestOutcome refused(std::string reason, std::string id = {}) {
  return HarvestOutcome::make(HarvestOutcome::Kind::Refused, std::move(id), std::move(reason));
}

// The leaf and the intermediates of the verified chain, not the anchor: the
// intermediates are untrusted chain material in certs/intermediates, needed to
// validate the certificate again at lookup time.
std::string chain_pem(STACK_OF(X509) * chain) {
  std::string out;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (i > 0 && X509_check_issued(c, c) == X509_V_OK) continue;  // self-signed: the anchor
    out += ossl::pem_of(c);
  }
  return out;
}

// Why the certificate may not be taken for `from` ("" = it may).
std::string unfit(const keystore::SmimeCert& desc, const std::string& from) {
  if (desc.addresses.empty()) return "certificate names no e-mail address";
  // A certificate that also names lab@partner would become the lab's
  // recipient certificate: unlike an OpenPGP key it cannot be trimmed.
  for (const auto& a : desc.addresses)
    if (!keystore::address_matches(a, from))
      return "certificate also names " + a + ", not only the From address";
  X509* x = desc.cert.get();
  const uint32_t flags = X509_get_extension_flags(x);
  // An absent EKU would allow everything; harvesting wants the explicit purpose.
  if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(x) & XKU_SMIME))
    return "certificate has no emailProtection extended key usage";
  if (auto why = keystore::SmimeStore::usage_problem(x); !why.empty())
    return "certificate cannot be encrypted to: " + why;
  return {};
}

}  // namespace

HarvestOutcome KeyHarvester::harvest_smime(const SmimeVerified& signature, const std::string& from,
                                           const std::string& message_id, HarvestRules rules) {
  if (rules.harvest == HarvestPolicy::Never) return refused("harvesting is off for this account");
  if (!signature.valid()) return refused("signature is not valid for the From address");
  const keystore::SmimeCert desc = keystore::SmimeStore::describe(signature.signer);
  std::lock_guard lock(mu_);
  if (auto why = unfit(desc, from); !why.empty()) return refused(why, desc.id);

  auto known = keystore_.lookup(from);
  if (!known) return refused("keystore lookup: " + known.error().what(), desc.id);
  for (const auto& c : known->smime)
    if (c.id == desc.id) return HarvestOutcome::make(HarvestOutcome::Kind::Known, desc.id);
  auto stored = keystore_.smime().list_all();
  if (!stored) return refused("certificate store: " + stored.error().what(), desc.id);
  for (const auto& c : *stored)  // pending, or not valid right now: nothing to do either
    if (c.id == desc.id) return HarvestOutcome::make(HarvestOutcome::Kind::Known, desc.id);
  auto prov = provenance();
  if (!prov) return refused("provenance store: " + prov.error().what(), desc.id);
  PriorKeys prior;
  if (auto why = admin_precedence(from, *known, **prov, "smime", prior); !why.empty())
    return refused(why, desc.id);

  std::string origin = std::string(harvest_source_name(HarvestSource::Signature)) + " from " + from;
  if (!message_id.empty()) origin += " in " + message_id;
  std::string change;
  const keystore::Provenance record =
      harvested_record(desc.id, "smime", std::move(origin), prior, rules, change);
  auto recorded = (*prov)->record(record);
  if (!recorded) return refused("provenance not recorded: " + recorded.error().what(), desc.id);
  auto imported = keystore_.smime().import(chain_pem(signature.chain.get()));
  const bool only_leaf = imported && imported->size() == 1 && imported->front().id == desc.id;
  const auto kept = (*prov)->find(desc.id);
  if (!only_leaf || !kept || kept->source != "harvested") {
    std::string why = imported ? "store did not take exactly this certificate"
                               : "import: " + imported.error().what();
    if (imported && !kept) why = "provenance missing after import";
    if (imported) {
      if (auto removed = keystore_.smime().remove(desc.id); !removed)
        why += "; removing it again failed: " + removed.error().what();
    }
    (void)(*prov)->forget(desc.id);
    return refused(why, desc.id);
  }
  auto out = HarvestOutcome::make(HarvestOutcome::Kind::Imported, desc.id, change, record.pending);
  out.retired = retire_earlier(**prov, record);
  return out;
}

}  // namespace sealpost::imap
