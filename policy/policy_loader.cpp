// policy.yaml -> Policy, with the checks that keep a policy from quietly doing
// something other than what it reads like: unknown keys and methods, rules
// that can never match, and `plain` anywhere it could reach unknown domains.
#include <filesystem>
#include <set>

#include "common/durable_file.h"
#include "config/yaml_reader.h"
#include "policy/policy.h"
#include "policy/policy_keys.h"
#include "policy/scrub_profile_reader.h"

namespace sealpost::policy {
namespace {

constexpr std::size_t kMaxPolicyBytes = 1u << 20;

bool printable_text(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

class PolicyLoader {
 public:
  explicit PolicyLoader(const YamlReader& r)
      : r_(r), label_(std::filesystem::path(r.file_name()).filename().string()) {}

  Policy load(const YAML::Node& root) {
    Policy p;
    p.source = r_.file_name();
    r_.check_map(root, "", policy_section_keys(""));
    p.scrub_profiles = read_scrub_profiles(r_, root["scrub_profiles"]);
    profiles_ = &p.scrub_profiles;
    p.defaults.location = label_;
    if (auto n = root["defaults"]) p.defaults = defaults(n);
    if (auto n = root["rules"]) {
      std::set<std::string> names;
      std::optional<std::pair<std::string, std::string>> catch_all;  // name, location
      for (const auto& item : r_.sequence(n, "rules")) {
        Rule rule = this->rule(item, p.defaults);
        if (!names.insert(rule.name).second)
          r_.fail(item["name"], "rules[].name: '" + rule.name + "' is used twice");
        if (catch_all)
          r_.fail(item, "rule '" + rule.name + "' can never match: rule '" + catch_all->first +
                            "' (" + catch_all->second + ") matches every recipient before it");
        if (rule.match.matches_everything()) catch_all.emplace(rule.name, rule.location);
        p.rules.push_back(std::move(rule));
      }
    }
    return p;
  }

 private:
  std::string location(const YAML::Node& n) const {
    int line = YamlReader::line_of(n);
    return line > 0 ? label_ + ":" + std::to_string(line) : label_;
  }

  Defaults defaults(const YAML::Node& n) {
    r_.check_map(n, "defaults", policy_section_keys("defaults"));
    Defaults d;
    d.location = location(n);
    if (auto v = n["methods"]) {
      d.methods = methods(v, "defaults.methods");
      for (Method m : d.methods)
        if (m == Method::Plain)
          r_.fail(v,
                  "defaults.methods: 'plain' is never a default; allow it per rule "
                  "for named domains");
    }
    if (auto v = n["sign"]) d.sign = r_.boolean(v, "defaults.sign");
    if (auto v = n["scrub"]) d.scrub = scrub(v, "defaults.scrub");
    if (auto v = n["smime_cipher"]) d.smime_cipher = cipher(v, "defaults.smime_cipher");
    if (auto v = n["pickup"]) {
      auto [auth, expires] = pickup(v, "defaults.pickup");
      if (auth) d.pickup.auth = *auth;
      if (expires) d.pickup.expires = *expires;
    }
    if (auto v = n["require_consent"])
      d.require_consent = r_.boolean(v, "defaults.require_consent");
    if (auto v = n["reject_text"]) d.reject_text = text(v, "defaults.reject_text");
    return d;
  }

  Rule rule(const YAML::Node& n, const Defaults& defaults) {
    r_.check_map(n, "rules[]", policy_section_keys("rules[]"));
    if (!n.IsMap()) r_.fail(n, "rules[]: expected a rule with name and match");
    Rule rule;
    rule.location = location(n);
    if (!n["name"]) r_.fail(n, "rules[]: missing 'name'");
    rule.name = text(n["name"], "rules[].name");
    if (rule.name.size() > 64) r_.fail(n["name"], "rules[].name: longer than 64 characters");
    // Audit events and `policy explain` name the defaults "defaults": a rule of
    // that name would make a plaintext send look like the safe default's doing.
    if (rule.name == "defaults")
      r_.fail(n["name"], "rules[].name: 'defaults' is reserved for the defaults section");
    // An explicit `match: {}` for a catch-all, so none is written by accident.
    if (!n["match"]) r_.fail(n, "rule '" + rule.name + "': missing 'match' (use {} to match all)");
    rule.match = match(n["match"]);
    Actions& a = rule.actions;
    if (auto v = n["methods"]) a.methods = methods(v, "rules[].methods");
    if (auto v = n["sign"]) a.sign = r_.boolean(v, "rules[].sign");
    if (auto v = n["scrub"]) a.scrub = scrub(v, "rules[].scrub");
    if (auto v = n["smime_cipher"]) a.smime_cipher = cipher(v, "rules[].smime_cipher");
    if (auto v = n["pickup"])
      std::tie(a.pickup_auth, a.pickup_expires) = pickup(v, "rules[].pickup");
    if (auto v = n["require_consent"]) a.require_consent = r_.boolean(v, "rules[].require_consent");
    if (auto v = n["reject_text"]) a.reject_text = text(v, "rules[].reject_text");

    const auto& list = a.methods ? *a.methods : defaults.methods;
    bool plain = std::find(list.begin(), list.end(), Method::Plain) != list.end();
    if (plain && !plain_is_bounded(rule.match))
      r_.fail(n["methods"],
              "rule '" + rule.name +
                  "': 'plain' needs an exact recipient or recipient_domain "
                  "(a wildcard could send unencrypted mail to domains nobody listed), unless the "
                  "rule matches already_encrypted: true");
    return rule;
  }

  // `plain` may only reach recipients the admin named, or mail that the sender
  // already encrypted (then nothing readable leaves).
  static bool plain_is_bounded(const Match& m) {
    if (m.already_encrypted == true) return true;
    if (m.recipient && !m.recipient->is_glob()) return true;
    return m.recipient_domain && !m.recipient_domain->is_glob();
  }

  Match match(const YAML::Node& n) {
    r_.check_map(n, "match", policy_section_keys("rules[].match"));
    Match m;
    if (auto v = n["recipient"]) m.recipient = address(v, "match.recipient");
    if (auto v = n["recipient_domain"]) m.recipient_domain = domain(v, "match.recipient_domain");
    if (auto v = n["sender"]) m.sender = address(v, "match.sender");
    if (auto v = n["auth_user"])
      m.auth_user = Pattern(text(v, "match.auth_user"), Pattern::Kind::Text);
    if (auto v = n["subject_tag"]) {
      m.subject_tag = text(v, "match.subject_tag");
      if (m.subject_tag.size() > 64) r_.fail(v, "match.subject_tag: longer than 64 characters");
    }
    if (auto v = n["header"]) {
      if (!v.IsMap()) r_.fail(v, "match.header: expected {Name: value}");
      for (auto it = v.begin(); it != v.end(); ++it) {
        std::string name = text(it->first, "match.header");
        for (char c : name)
          if (c <= 0x20 || c >= 0x7f || c == ':')
            r_.fail(it->first,
                    "match.header: '" + YamlReader::shorten(name) + "' is not a header name");
        m.headers.emplace_back(
            to_lower(name), Pattern(text(it->second, "match.header." + name), Pattern::Kind::Text));
      }
    }
    if (auto v = n["has_attachments"]) m.has_attachments = r_.boolean(v, "match.has_attachments");
    if (auto v = n["already_encrypted"])
      m.already_encrypted = r_.boolean(v, "match.already_encrypted");
    return m;
  }

  Pattern address(const YAML::Node& n, const std::string& what) {
    std::string s = text(n, what);
    bool ok = s == "*" || (s.find('@') != std::string::npos && s.find('@') == s.rfind('@') &&
                           s.front() != '@' && s.back() != '@');
    for (char c : s) ok = ok && c != ' ';
    if (!ok)
      r_.fail(n, what + ": '" + YamlReader::shorten(s) +
                     "' is not an address pattern like name@domain or *@domain");
    return Pattern(s, Pattern::Kind::Address);
  }

  Pattern domain(const YAML::Node& n, const std::string& what) {
    std::string s = text(n, what);
    bool ok = s.find('@') == std::string::npos && s.find(' ') == std::string::npos &&
              s.front() != '.' && s.back() != '.';
    if (!ok) r_.fail(n, what + ": '" + YamlReader::shorten(s) + "' is not a domain pattern");
    return Pattern(s, Pattern::Kind::Domain);
  }

  std::string text(const YAML::Node& n, const std::string& what) {
    std::string s = r_.string(n, what);
    if (!printable_text(s)) r_.fail(n, what + ": contains control characters");
    return s;
  }

  std::vector<Method> methods(const YAML::Node& n, const std::string& what) {
    if (!n.IsSequence()) r_.fail(n, what + ": expected a list like [pgp, smime, pickup]");
    if (n.size() == 0) r_.fail(n, what + ": list at least one method");
    std::vector<Method> out;
    for (const auto& item : n) {
      std::string word = r_.string(item, what);
      auto m = parse_method(word);
      if (!m)
        r_.fail(item, what + ": unknown method '" + YamlReader::shorten(word) +
                          "' (pgp, smime, pickup, plain, reject, hold)");
      if (std::find(out.begin(), out.end(), *m) != out.end())
        r_.fail(item, what + ": '" + YamlReader::shorten(word) + "' is listed twice");
      if (!out.empty() && (out.back() == Method::Reject || out.back() == Method::Hold))
        r_.fail(item, what + ": nothing after '" + std::string(method_name(out.back())) +
                          "' is ever used");
      out.push_back(*m);
    }
    // "encrypt if you can, else plain" would silently downgrade: plain stands alone.
    if (out.size() > 1 && std::find(out.begin(), out.end(), Method::Plain) != out.end())
      r_.fail(n, what + ": 'plain' cannot be combined with other methods");
    return out;
  }

  std::string scrub(const YAML::Node& n, const std::string& what) {
    std::string name = r_.string(n, what);
    if (!profiles_->count(name))
      r_.fail(n, what + ": unknown scrub profile '" + YamlReader::shorten(name) +
                     "' (define it under scrub_profiles)");
    return name;
  }

  std::string cipher(const YAML::Node& n, const std::string& what) {
    return r_.choice<std::string>(n, what,
                                  {{"aes256-cbc", "aes256-cbc"}, {"aes256-gcm", "aes256-gcm"}});
  }

  std::pair<std::optional<std::string>, std::optional<std::chrono::seconds>> pickup(
      const YAML::Node& n, const std::string& what) {
    r_.check_map(n, what, policy_section_keys("rules[].pickup"));
    std::optional<std::string> auth;
    std::optional<std::chrono::seconds> expires;
    if (auto v = n["auth"])
      auth = r_.choice<std::string>(
          v, what + ".auth",
          {{"sms", "sms"}, {"passphrase", "passphrase"}, {"code-to-sender", "code-to-sender"}});
    if (auto v = n["expires"]) {
      expires = r_.duration(v, what + ".expires");
      if (*expires < std::chrono::hours(1) || *expires > std::chrono::hours(24 * 365))
        r_.fail(v, what + ".expires: must be 1h to 365d");
    }
    return {auth, expires};
  }

  const YamlReader& r_;
  std::string label_;
  const std::map<std::string, ScrubProfile>* profiles_ = nullptr;
};

}  // namespace

bool Match::empty() const {
  return !recipient && !recipient_domain && !sender && !auth_user && subject_tag.empty() &&
         headers.empty() && !has_attachments && !already_encrypted;
}

bool Match::matches_everything() const {
  auto all = [](const std::optional<Pattern>& p) { return !p || p->matches_everything(); };
  return all(recipient) && all(recipient_domain) && all(sender) && all(auth_user) &&
         subject_tag.empty() && headers.empty() && !has_attachments && !already_encrypted;
}

Result<Policy> parse_policy(const std::string& text, const std::string& name) {
  return run_yaml_loader<Policy>([&] {
    YamlReader reader(name, std::filesystem::path(name).parent_path());
    YamlLimits limits;
    limits.max_bytes = kMaxPolicyBytes;
    YAML::Node root = reader.parse(text, limits);
    if (root.IsNull())
      reader.fail_file("the policy is empty (it needs at least 'defaults' or 'rules')");
    return PolicyLoader(reader).load(root);
  });
}

Result<Policy> load_policy(const std::string& path) {
  auto text = read_file(path, kMaxPolicyBytes + 1);
  if (!text) return Error::plain(path + ": cannot read: " + text.error().what());
  return parse_policy(*text, path);
}

}  // namespace sealpost::policy
