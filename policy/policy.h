// The model of policy.yaml (DESIGN.md §3.1b, man sealpost-policy(5)): defaults,
// ordered rules (first match wins) and named scrub profiles. Loading validates
// everything with FILE:LINE errors; a policy that fails to load is never used
// (a reload keeps the previous one).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "policy/pattern.h"
#include "policy/plan.h"
#include "seal/scrub/scrub_profile.h"

namespace sealpost::policy {

// Conditions of one rule; all present ones must hold. Empty = matches everything.
struct Match {
  std::optional<Pattern> recipient;         // address, exact or glob
  std::optional<Pattern> recipient_domain;  // domain, exact or glob; "*" = any
  std::optional<Pattern> sender;            // MAIL FROM
  std::optional<Pattern> auth_user;         // authenticated staff account
  std::string subject_tag;                  // as written, e.g. "[secure]"
  // Lower-case header name -> value pattern; the header must be present with a
  // matching value (any of its occurrences).
  std::vector<std::pair<std::string, Pattern>> headers;
  std::optional<bool> has_attachments;
  std::optional<bool> already_encrypted;

  bool empty() const;
  // True when the match holds for every recipient of every message.
  bool matches_everything() const;
};

// What a rule sets; anything unset comes from `defaults`.
struct Actions {
  std::optional<std::vector<Method>> methods;
  std::optional<bool> sign;
  std::optional<std::string> smime_cipher;
  std::optional<std::string> scrub;
  std::optional<std::string> pickup_auth;
  std::optional<std::chrono::seconds> pickup_expires;
  std::optional<bool> require_consent;
  std::optional<std::string> reject_text;
};

struct Rule {
  std::string name;
  std::string location;  // "policy.yaml:12"
  Match match;
  Actions actions;
};

struct Defaults {
  std::vector<Method> methods{Method::Pgp, Method::Smime, Method::Pickup};
  bool sign = true;
  std::string smime_cipher = "aes256-cbc";
  std::string scrub = "standard";
  PickupOptions pickup;
  bool require_consent = false;
  std::string reject_text;  // empty: a built-in text naming the rule
  std::string location;     // where `defaults:` is, or the file name
};

struct Policy {
  std::string source;  // file name as given to the loader
  Defaults defaults;
  std::vector<Rule> rules;
  std::map<std::string, ScrubProfile> scrub_profiles;  // always holds "standard"
};

Result<Policy> load_policy(const std::string& path);
// From text (tests, fuzzing); `name` stands in for the file name in messages.
Result<Policy> parse_policy(const std::string& text, const std::string& name);

// The method words of policy.yaml ("pgp", ...). Defer is not a word.
std::optional<Method> parse_method(std::string_view word);

}  // namespace sealpost::policy
