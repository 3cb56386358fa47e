// Keystore::pgp_signer_for / smime_signer_for: which of the practice's
// signing identities may sign mail from a given address. A signature by an
// identity that does not carry the From address makes recipients' clients
// warn (or, worse, teaches them to ignore the mismatch), and an expired or
// revoked identity makes a signature nobody can verify; so the identity is
// tied to the sender, and a domain-wide practice identity
// (keystore.domain_signers) is used only where configured.
#include <openssl/x509v3.h>

#include <cctype>
#include <ctime>

#include "keystore/address_match.h"
#include "keystore/keystore.h"

namespace sealpost::keystore {
namespace {

std::string domain_of(const std::string& address) {
  const auto at = address.rfind('@');
  if (at == std::string::npos) return {};
  std::string d = address.substr(at + 1);
  for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return d;
}

std::string none_for(const std::vector<std::string>& identities) {
  std::string out = "no usable signing identity for " + identities.front();
  for (std::size_t i = 1; i < identities.size(); ++i)
    out += (i == 1 ? " or its domain signer " : ", ") + identities[i];
  return out;
}

// The certificate alone, before the chain: clearer reasons than the
// verifier's for the common cases.
std::string smime_signing_problem(X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) return "certificate has expired";
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) return "certificate is not valid yet";
  const uint32_t flags = X509_get_extension_flags(cert);
  if (flags & EXFLAG_INVALID) return "certificate has invalid extensions";
  if (flags & EXFLAG_CA) return "a CA certificate, not a signing identity";
  if ((flags & EXFLAG_KUSAGE) &&
      !(X509_get_key_usage(cert) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
    return "keyUsage lacks digitalSignature";
  if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(cert) & (XKU_SMIME | XKU_ANYEKU)))
    return "extendedKeyUsage lacks emailProtection";
  return {};
}

}  // namespace

std::vector<std::string> Keystore::signing_identities(const std::string& from) const {
  std::vector<std::string> out{normalise_address(from)};
  const std::string domain = domain_of(from);
  for (const auto& s : domain_signers_)
    if (!domain.empty() && domain_of(s) == domain && !address_matches(s, from))
      out.push_back(normalise_address(s));
  return out;
}

Result<PgpSignerChoice> Keystore::pgp_signer_for(const std::string& from) {
  PgpSignerChoice out;
  const auto identities = signing_identities(from);
  for (const auto& identity : identities) {
    auto fpr = pgp_->signer_for_identity(identity, out.refused);
    if (!fpr) return fpr.error();
    if (!fpr->empty()) {
      out.fingerprint = *fpr;
      out.identity = identity;
      return out;
    }
  }
  out.reason = none_for(identities);
  for (const auto& r : out.refused) out.reason += "; key " + r.id + ": " + r.reason;
  return out;
}

Result<SmimeSignerChoice> Keystore::smime_signer_for(const std::string& from) {
  SmimeSignerChoice out;
  auto signer = smime_signer();
  if (!signer) return signer.error();
  const auto identities = signing_identities(from);
  if (!*signer) {
    out.reason = none_for(identities) + " (no S/MIME signing identity is imported)";
    return out;
  }
  const SmimeCert desc = SmimeStore::describe((*signer)->cert);
  std::string matched;
  for (const auto& identity : identities) {
    for (const auto& a : desc.addresses)
      if (matched.empty() && address_matches(a, identity)) matched = identity;
    if (!matched.empty()) break;
  }
  if (matched.empty()) {
    std::string names;
    for (const auto& a : desc.addresses) names += (names.empty() ? "" : ", ") + a;
    out.reason = none_for(identities) + " (the S/MIME identity " + desc.id + " is for " +
                 (names.empty() ? "no address" : names) + ")";
    return out;
  }
  std::string problem = smime_signing_problem(desc.cert.get());
  if (problem.empty()) {
    // Chain to the trust anchors, S/MIME signing purpose, and CRLs: a revoked
    // practice certificate must not sign.
    ossl::X509StackPtr chain(sk_X509_new_null());
    for (const auto& c : (*signer)->chain) {
      X509_up_ref(c.get());
      sk_X509_push(chain.get(), c.get());
    }
    problem = smime_->verify_signer(desc.cert.get(), chain.get());
  }
  if (!problem.empty()) {
    out.reason = "S/MIME identity " + desc.id + " for " + matched + " cannot sign: " + problem;
    return out;
  }
  out.signer = *signer;
  out.identity = matched;
  return out;
}

}  // namespace sealpost::keystore
