#include "policy/decide.h"

#include "policy/subject_tag.h"

namespace sealpost::policy {
namespace {

// Per-message facts prepared once, so the per-recipient loop only compares.
struct Prepared {
  const MessageFacts& message;
  std::string sender;
  std::string auth_user;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool header_matches(const MessageFacts& message, const std::string& name, const Pattern& value) {
  auto [begin, end] = message.headers.equal_range(name);
  for (auto it = begin; it != end; ++it)
    if (value.matches(to_lower(trim(it->second)))) return true;
  return false;
}

bool holds(const Match& m, const Prepared& facts, std::string_view rcpt, std::string_view domain) {
  if (m.recipient && !m.recipient->matches(rcpt)) return false;
  if (m.recipient_domain && !m.recipient_domain->matches(domain)) return false;
  if (m.sender && !m.sender->matches(facts.sender)) return false;
  if (m.auth_user && !m.auth_user->matches(facts.auth_user)) return false;
  if (m.has_attachments && *m.has_attachments != facts.message.has_attachments) return false;
  if (m.already_encrypted && *m.already_encrypted != facts.message.already_encrypted) return false;
  if (!m.subject_tag.empty() &&
      find_subject_tag(facts.message.subject, m.subject_tag) == std::string_view::npos)
    return false;
  for (const auto& [name, value] : m.headers)
    if (!header_matches(facts.message, name, value)) return false;
  return true;
}

template <class V>
const V* find_fact(const std::map<std::string, V>& facts, const std::string& address,
                   const std::string& lower) {
  auto it = facts.find(address);
  if (it == facts.end() && lower != address) it = facts.find(lower);
  return it == facts.end() ? nullptr : &it->second;
}

// Settings of the chosen rule with the defaults filled in.
RecipientPlan start_plan(const std::string& address, const Rule* rule, const Defaults& d) {
  RecipientPlan rp;
  rp.address = address;
  rp.rule = rule ? rule->name : "defaults";
  rp.rule_location = rule ? rule->location : d.location;
  const Actions* a = rule ? &rule->actions : nullptr;
  rp.sign = a && a->sign ? *a->sign : d.sign;
  rp.smime_cipher = a && a->smime_cipher ? *a->smime_cipher : d.smime_cipher;
  rp.scrub_profile = a && a->scrub ? *a->scrub : d.scrub;
  rp.pickup.auth = a && a->pickup_auth ? *a->pickup_auth : d.pickup.auth;
  rp.pickup.expires = a && a->pickup_expires ? *a->pickup_expires : d.pickup.expires;
  return rp;
}

// Walks the method list; the first usable method wins.
void choose_method(RecipientPlan& rp, const std::vector<Method>& methods,
                   const KeyAvailability& keys, const EnvelopeFacts& envelope,
                   const MessageFacts& message, const std::string& reject_text) {
  const bool sealed = message.already_encrypted;
  for (Method m : methods) {
    switch (m) {
      case Method::Pgp:
      case Method::Smime: {
        const bool pgp = m == Method::Pgp;
        if (sealed) {
          // Encrypted by the sender already: encrypting again would only hide
          // it from the recipient, so it passes unchanged (docs/policy.md).
          rp.method = Method::Plain;
          rp.reasons.push_back(std::string("message is already encrypted by the sender; sent "
                                           "unchanged instead of ") +
                               method_name(m));
          return;
        }
        if (pgp ? keys.pgp : keys.smime) {
          rp.method = m;
          rp.reasons.push_back(pgp ? "pgp: usable OpenPGP key found"
                                   : "smime: valid S/MIME certificate found");
          return;
        }
        rp.reasons.push_back(pgp ? "pgp skipped: no usable OpenPGP key"
                                 : "smime skipped: no valid S/MIME certificate");
        break;
      }
      case Method::Pickup:
        if (envelope.pickup_available) {
          rp.method = Method::Pickup;
          rp.reasons.push_back("pickup: message stored on the portal, recipient gets a link");
          return;
        }
        rp.reasons.push_back("pickup skipped: no pickup portal configured");
        break;
      case Method::Plain:
        rp.method = Method::Plain;
        rp.reasons.push_back("plain: allowed by rule '" + rp.rule + "'");
        return;
      case Method::Reject:
        rp.method = Method::Reject;
        rp.reject_text = reject_text.empty() ? "Versand abgelehnt durch Regel '" + rp.rule +
                                                   "' / rejected by policy rule '" + rp.rule + "'"
                                             : reject_text;
        rp.reasons.push_back("reject: listed by rule '" + rp.rule + "'");
        return;
      case Method::Hold:
        rp.method = Method::Hold;
        rp.reasons.push_back("hold: rule '" + rp.rule + "' holds mail for review");
        return;
      case Method::Defer:
        break;
    }
  }
  rp.method = Method::Defer;
  rp.reasons.push_back("no method of rule '" + rp.rule +
                       "' is usable; deferred (retried until one is, never sent unprotected)");
}

}  // namespace

Plan decide(const Policy& policy, const EnvelopeFacts& envelope, const MessageFacts& message,
            const std::map<std::string, KeyAvailability>& keys,
            const std::map<std::string, Consent>& consent) {
  Plan plan;
  plan.recipients.reserve(envelope.recipients.size());
  Prepared facts{message, to_lower(envelope.sender), to_lower(envelope.auth_user)};
  static const KeyAvailability kNoKeys;
  const Defaults& d = policy.defaults;

  for (const std::string& address : envelope.recipients) {
    const std::string lower = to_lower(address);
    const std::string_view domain = domain_of(lower);
    const Rule* rule = nullptr;
    for (const Rule& r : policy.rules) {
      if (holds(r.match, facts, lower, domain)) {
        rule = &r;
        break;
      }
    }
    RecipientPlan rp = start_plan(address, rule, d);
    if (rule && !rule->match.subject_tag.empty() && plan.subject_tag_removed.empty()) {
      if (auto rewritten = remove_subject_tag(message.subject, rule->match.subject_tag)) {
        plan.subject_tag_removed = rule->match.subject_tag;
        plan.subject_without_tag = std::move(*rewritten);
      }
    }
    rp.reasons.push_back(rule ? "matched rule '" + rule->name + "' (" + rule->location + ")"
                              : std::string("no rule matched; using defaults"));

    const KeyAvailability* k = find_fact(keys, address, lower);
    if (!k) k = &kNoKeys;
    if (!k->note.empty()) rp.reasons.push_back("keys: " + k->note);

    const Actions* a = rule ? &rule->actions : nullptr;
    const bool need_consent = a && a->require_consent ? *a->require_consent : d.require_consent;
    const Consent* c = find_fact(consent, address, lower);
    if (need_consent && (!c || *c != Consent::Granted)) {
      const bool revoked = c && *c == Consent::Revoked;
      rp.method = Method::Reject;
      rp.reject_text = revoked ? kConsentRevokedText : kNoConsentText;
      rp.reasons.push_back(std::string("consent required by rule '") + rp.rule +
                           "': " + (revoked ? "revoked" : "none on record"));
    } else {
      const auto& methods = a && a->methods ? *a->methods : d.methods;
      const std::string& reject_text = a && a->reject_text ? *a->reject_text : d.reject_text;
      choose_method(rp, methods, *k, envelope, message, reject_text);
    }
    plan.recipients.push_back(std::move(rp));
  }
  return plan;
}

}  // namespace sealpost::policy
