#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>

#include "policy/policy.h"
#include "policy/policy_keys.h"

using namespace sealpost;
using namespace sealpost::policy;

namespace {

const std::string kPolicy = R"(defaults:
  methods: [pgp, smime, pickup]
  sign: true
  scrub: standard
  pickup: { auth: passphrase, expires: 14d }
scrub_profiles:
  lab:
    headers: allow
    keep_headers: [X-Lab-Order]
    image_metadata: false
rules:
  - name: internal
    match: { recipient_domain: praxis.example }
    methods: [plain]
  - name: labs
    match: { recipient: "*@labor-*.example" }
    methods: [smime]
    smime_cipher: aes256-gcm
    scrub: lab
  - name: tagged
    match: { subject_tag: "[secure]", header: { Sensitivity: private } }
    methods: [pgp, pickup, reject]
    reject_text: "Bitte Schluessel anfordern"
  - name: patients
    match: { recipient_domain: "*" }
    require_consent: true
    methods: [pgp, smime, pickup]
    pickup: { auth: sms, expires: 30d }
)";

Result<Policy> parse(const std::string& text) {
  return parse_policy(text, "/etc/sealpost/policy.yaml");
}

std::string error_of(const std::string& text) {
  auto r = parse(text);
  REQUIRE_FALSE(r.ok());
  return r.error().what();
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

}  // namespace

TEST_CASE("a full policy loads with rules in order, locations and profiles") {
  auto r = parse(kPolicy);
  INFO((r.ok() ? "" : r.error().what()));
  REQUIRE(r.ok());
  const Policy& p = *r;
  CHECK(p.defaults.pickup.auth == "passphrase");
  CHECK(p.defaults.pickup.expires == std::chrono::hours(14 * 24));
  CHECK(p.defaults.location == "policy.yaml:2");
  REQUIRE(p.rules.size() == 4);
  CHECK(p.rules[0].name == "internal");
  CHECK(p.rules[0].location == "policy.yaml:12");
  CHECK(p.rules[1].actions.smime_cipher == std::optional<std::string>("aes256-gcm"));
  CHECK(p.rules[1].actions.scrub == std::optional<std::string>("lab"));
  CHECK(p.rules[2].match.headers.size() == 1);
  CHECK(p.rules[2].match.headers[0].first == "sensitivity");
  CHECK(p.rules[3].actions.require_consent == std::optional<bool>(true));
  CHECK(p.rules[3].actions.pickup_auth == std::optional<std::string>("sms"));
  REQUIRE(p.scrub_profiles.count("standard") == 1);
  REQUIRE(p.scrub_profiles.count("lab") == 1);
  CHECK(p.scrub_profiles.at("lab").header_mode == ScrubProfile::HeaderMode::Allow);
  CHECK(p.scrub_profiles.at("lab").keep_headers == std::vector<std::string>{"X-Lab-Order"});
  CHECK_FALSE(p.scrub_profiles.at("lab").image_metadata);
  CHECK(p.scrub_profiles.at("lab").pdf_metadata);
}

TEST_CASE("policy mistakes are refused with file and line") {
  struct Case {
    const char* what;
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"unknown top-level key", kPolicy + "extra: 1\n",
       "policy.yaml:29: unknown key 'extra' at top level"},
      {"unknown rule key",
       replace(kPolicy, "    smime_cipher: aes256-gcm\n", "    cipher: aes256-gcm\n"),
       "policy.yaml:18: unknown key 'cipher' in 'rules[]'"},
      {"unknown match key",
       replace(kPolicy, "{ recipient_domain: praxis.example }", "{ domain: praxis.example }"),
       "policy.yaml:13: unknown key 'domain' in 'match'"},
      {"unknown method", replace(kPolicy, "methods: [smime]", "methods: [smime, carrier-pigeon]"),
       "policy.yaml:17: rules[].methods: unknown method 'carrier-pigeon'"},
      {"empty methods", replace(kPolicy, "methods: [smime]", "methods: []"),
       "policy.yaml:17: rules[].methods: list at least one method"},
      {"method twice", replace(kPolicy, "methods: [smime]", "methods: [smime, smime]"),
       "policy.yaml:17: rules[].methods: 'smime' is listed twice"},
      {"method after reject", replace(kPolicy, "[pgp, pickup, reject]", "[pgp, reject, pickup]"),
       "policy.yaml:22: rules[].methods: nothing after 'reject' is ever used"},
      {"plain combined", replace(kPolicy, "methods: [plain]", "methods: [pgp, plain]"),
       "policy.yaml:14: rules[].methods: 'plain' cannot be combined"},
      {"plain for a wildcard domain", replace(kPolicy, "methods: [smime]\n", "methods: [plain]\n"),
       "policy.yaml:17: rule 'labs': 'plain' needs an exact recipient or recipient_domain"},
      {"plain for any domain",
       replace(kPolicy, "{ recipient_domain: praxis.example }",
               "{ recipient_domain: \"*.example\" }"),
       "policy.yaml:14: rule 'internal': 'plain' needs an exact"},
      {"plain as default",
       replace(kPolicy, "  methods: [pgp, smime, pickup]\n  sign", "  methods: [plain]\n  sign"),
       "policy.yaml:2: defaults.methods: 'plain' is never a default"},
      {"unreachable rule", kPolicy + "  - name: late\n    match: { sender: boss@praxis.example }\n",
       "policy.yaml:29: rule 'late' can never match: rule 'patients' (policy.yaml:24)"},
      {"unreachable after empty match",
       replace(kPolicy, "{ subject_tag: \"[secure]\", header: { Sensitivity: private } }", "{}"),
       "policy.yaml:24: rule 'patients' can never match: rule 'tagged' (policy.yaml:20)"},
      {"duplicate rule name", replace(kPolicy, "name: tagged", "name: labs"),
       "policy.yaml:20: rules[].name: 'labs' is used twice"},
      {"rule named like the defaults", replace(kPolicy, "name: tagged", "name: defaults"),
       "policy.yaml:20: rules[].name: 'defaults' is reserved"},
      {"missing match", replace(kPolicy, "    match: { recipient: \"*@labor-*.example\" }\n", ""),
       "policy.yaml:15: rule 'labs': missing 'match'"},
      {"missing name", replace(kPolicy, "  - name: labs\n    match", "  - match"),
       "policy.yaml:15: rules[]: missing 'name'"},
      {"unknown scrub profile", replace(kPolicy, "scrub: lab\n", "scrub: paranoid\n"),
       "policy.yaml:19: rules[].scrub: unknown scrub profile 'paranoid'"},
      {"redefine standard", replace(kPolicy, "  lab:\n", "  standard:\n"),
       "policy.yaml:7: scrub_profiles: 'standard' is built in"},
      {"unknown profile key", replace(kPolicy, "image_metadata: false", "exif: false"),
       "policy.yaml:10: unknown key 'exif' in 'scrub_profiles.lab'"},
      {"keep_headers in strip mode", replace(kPolicy, "headers: allow", "headers: strip"),
       "policy.yaml:9: scrub_profiles.lab.keep_headers: only used with 'headers: allow'"},
      {"bad cipher", replace(kPolicy, "aes256-gcm", "des"),
       "policy.yaml:18: rules[].smime_cipher: 'des' is not one of: aes256-cbc, aes256-gcm"},
      {"bad pickup auth", replace(kPolicy, "auth: sms", "auth: carrier"),
       "policy.yaml:28: rules[].pickup.auth: 'carrier' is not one of"},
      {"bad expiry", replace(kPolicy, "expires: 30d", "expires: 10s"),
       "policy.yaml:28: rules[].pickup.expires: must be 1h to 365d"},
      {"bad bool", replace(kPolicy, "require_consent: true", "require_consent: sometimes"),
       "policy.yaml:26: rules[].require_consent: expected true or false"},
      {"bad recipient pattern", replace(kPolicy, "\"*@labor-*.example\"", "labor.example"),
       "policy.yaml:16: match.recipient: 'labor.example' is not an address pattern"},
      {"bad domain pattern",
       replace(kPolicy, "{ recipient_domain: praxis.example }",
               "{ recipient_domain: a@praxis.example }"),
       "policy.yaml:13: match.recipient_domain"},
      {"header not a map",
       replace(kPolicy, "header: { Sensitivity: private }", "header: Sensitivity"),
       "policy.yaml:21: match.header: expected {Name: value}"},
      {"wrong type for rules", "rules: nope\n", "policy.yaml:1: rules: expected a list"},
      {"syntax error", replace(kPolicy, "methods: [plain]", "methods: [plain"), "policy.yaml:"},
      {"empty file", "", "policy.yaml: the policy is empty"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    std::string err = error_of(c.text);
    INFO(err);
    CHECK(err.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("plain is allowed for an exact recipient and for already-encrypted mail") {
  CHECK(
      parse("rules:\n  - name: one\n    match: {recipient: dr@lab.example}\n    methods: [plain]\n")
          .ok());
  CHECK(
      parse(
          "rules:\n  - name: sealed\n    match: {already_encrypted: true}\n    methods: [plain]\n")
          .ok());
  CHECK_FALSE(
      parse("rules:\n  - name: open\n    match: {already_encrypted: false}\n    methods: [plain]\n")
          .ok());
}

TEST_CASE("the shipped example policies load") {
  for (const char* file : {"conf/policy.yaml", "conf/demo/policy-demo.yaml"}) {
    INFO(file);
    auto r = load_policy(std::string(SEALPOST_SOURCE_DIR) + "/" + file);
    INFO((r.ok() ? "" : r.error().what()));
    CHECK(r.ok());
  }
}

TEST_CASE("every policy key is listed once and documented in sealpost-policy(5)") {
  const auto& keys = policy_known_keys();
  CHECK(std::find(keys.begin(), keys.end(), "rules[].match.subject_tag") != keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "scrub_profiles.*.pass_unscrubbable") != keys.end());
  std::ifstream man(std::string(SEALPOST_SOURCE_DIR) + "/man/sealpost-policy.5");
  std::string text((std::istreambuf_iterator<char>(man)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(text.empty());
  for (const auto& k : keys) {
    std::string last = k.substr(k.rfind('.') + 1);
    INFO(k);
    CHECK(text.find(".It Ic " + last) != std::string::npos);
  }
}
