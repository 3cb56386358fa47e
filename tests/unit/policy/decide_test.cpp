#include "policy/decide.h"

#include <catch2/catch.hpp>
#include <string>

using namespace sealpost;
using namespace sealpost::policy;

namespace {

// Each rule exercises one kind of match; order matters (first match wins).
const char* kPolicy = R"(defaults:
  methods: [pgp, smime, pickup]
  sign: false
rules:
  - name: internal
    match: { recipient_domain: praxis.example }
    methods: [plain]
  - name: sealed
    match: { already_encrypted: true, recipient_domain: partner.example }
    methods: [plain]
  - name: labs
    match: { recipient: "*@labor-*.example" }
    methods: [smime]
    smime_cipher: aes256-gcm
  - name: boss-to-kv
    match: { sender: chef@praxis.example, recipient_domain: kv.example }
    methods: [hold]
  - name: billing
    match: { auth_user: "abrechnung*", recipient_domain: kv.example }
    methods: [pgp, reject]
    reject_text: "KV braucht einen Schluessel"
  - name: private
    match: { header: { Sensitivity: private } }
    methods: [pickup]
    pickup: { auth: passphrase }
  - name: tagged
    match: { subject_tag: "[secure]" }
    methods: [pgp, pickup]
  - name: files
    match: { has_attachments: true, recipient_domain: "*.patients.example" }
    methods: [pickup]
  - name: patients
    match: { recipient_domain: patients.example }
    require_consent: true
    methods: [pgp, smime, pickup]
)";

const Policy& test_policy() {
  static const Policy p = [] {
    auto r = parse_policy(kPolicy, "policy.yaml");
    if (!r) FAIL(r.error().what());
    return *r;
  }();
  return p;
}

struct Case {
  const char* what;
  std::string to;
  Method method;
  std::string rule;
  // Facts (defaults describe a plain message from a staff member, no keys).
  bool pgp = false;
  bool smime = false;
  bool pickup = true;
  Consent consent = Consent::Unknown;
  std::string subject = "Befund";
  std::string sender = "mfa@praxis.example";
  std::string auth_user = "mfa";
  bool attachments = false;
  bool encrypted = false;
  std::pair<std::string, std::string> header{"x-mailer", "x"};
};

RecipientPlan run(const Case& c, Plan* whole = nullptr) {
  EnvelopeFacts env;
  env.sender = c.sender;
  env.auth_user = c.auth_user;
  env.recipients = {c.to};
  env.pickup_available = c.pickup;
  MessageFacts msg;
  msg.subject = c.subject;
  msg.headers.insert(c.header);
  msg.has_attachments = c.attachments;
  msg.already_encrypted = c.encrypted;
  std::map<std::string, KeyAvailability> keys{{c.to, KeyAvailability{c.pgp, c.smime, ""}}};
  std::map<std::string, Consent> consent;
  if (c.consent != Consent::Unknown) consent[c.to] = c.consent;
  Plan plan = decide(test_policy(), env, msg, keys, consent);
  REQUIRE(plan.recipients.size() == 1);
  if (whole) *whole = plan;
  return plan.recipients[0];
}

}  // namespace

TEST_CASE("decide picks the first matching rule and its first usable method") {
  std::vector<Case> cases;
  auto add = [&](Case c) { cases.push_back(std::move(c)); };
  add({"exact domain -> plain", "kollege@praxis.example", Method::Plain, "internal"});
  add({"domain is case-insensitive", "Kollege@PRAXIS.Example", Method::Plain, "internal"});
  add({"subdomain is not the domain", "a@x.praxis.example", Method::Pickup, "defaults"});
  add({"recipient glob", "befund@labor-nord.example", Method::Smime, "labs", false, true});
  add({"recipient glob, no cert -> defer", "befund@labor-nord.example", Method::Defer, "labs"});
  add({"sender match", "info@kv.example", Method::Hold, "boss-to-kv", false, false, true,
       Consent::Unknown, "Befund", "chef@praxis.example"});
  add({"auth_user glob, key -> pgp", "info@kv.example", Method::Pgp, "billing", true, false, true,
       Consent::Unknown, "Befund", "mfa@praxis.example", "abrechnung2"});
  add({"auth_user glob, no key -> reject", "info@kv.example", Method::Reject, "billing", false,
       false, true, Consent::Unknown, "Befund", "mfa@praxis.example", "abrechnung2"});
  add({"header match",
       "x@example.org",
       Method::Pickup,
       "private",
       true,
       true,
       true,
       Consent::Unknown,
       "Befund",
       "mfa@praxis.example",
       "mfa",
       false,
       false,
       {"sensitivity", " Private "}});
  add({"subject tag", "x@example.org", Method::Pgp, "tagged", true, false, true, Consent::Unknown,
       "[SECURE] Befund"});
  add({"has_attachments with label glob", "p@home.patients.example", Method::Pickup, "files", true,
       true, true, Consent::Unknown, "Befund", "mfa@praxis.example", "mfa", true});
  add({"has_attachments false falls through", "p@home.patients.example", Method::Pgp, "defaults",
       true});
  add({"consent granted -> pgp", "p@patients.example", Method::Pgp, "patients", true, false, true,
       Consent::Granted});
  add({"consent unknown -> reject", "p@patients.example", Method::Reject, "patients", true, false,
       true, Consent::Unknown});
  add({"consent revoked -> reject", "p@patients.example", Method::Reject, "patients", true, false,
       true, Consent::Revoked});
  add({"fallback to smime", "p@patients.example", Method::Smime, "patients", false, true, true,
       Consent::Granted});
  add({"fallback to pickup", "p@patients.example", Method::Pickup, "patients", false, false, true,
       Consent::Granted});
  add({"nothing usable -> defer", "p@patients.example", Method::Defer, "patients", false, false,
       false, Consent::Granted});
  add({"defaults never plain", "stranger@example.net", Method::Defer, "defaults", false, false,
       false});
  add({"defaults prefer pgp", "stranger@example.net", Method::Pgp, "defaults", true, true});
  add({"already encrypted, rule allows plain", "x@partner.example", Method::Plain, "sealed", false,
       false, false, Consent::Unknown, "Befund", "mfa@praxis.example", "mfa", false, true});
  add({"already encrypted, default would encrypt -> passes", "x@example.net", Method::Plain,
       "defaults", true, false, true, Consent::Unknown, "Befund", "mfa@praxis.example", "mfa",
       false, true});
  add({"already encrypted, rule is pickup -> pickup wraps it", "p@home.patients.example",
       Method::Pickup, "files", false, false, true, Consent::Unknown, "Befund",
       "mfa@praxis.example", "mfa", true, true});

  for (const auto& c : cases) {
    INFO(c.what);
    RecipientPlan rp = run(c);
    CHECK(method_name(rp.method) == std::string(method_name(c.method)));
    CHECK(rp.rule == c.rule);
    CHECK(rp.address == c.to);
    CHECK_FALSE(rp.reasons.empty());
  }
}

TEST_CASE("decide carries rule settings and merges defaults") {
  RecipientPlan labs = run({"", "x@labor-sued.example", Method::Smime, "labs", false, true});
  CHECK(labs.smime_cipher == "aes256-gcm");
  CHECK_FALSE(labs.sign);  // from defaults
  CHECK(labs.rule_location == "policy.yaml:11");
  RecipientPlan priv = run({"",
                            "x@example.org",
                            Method::Pickup,
                            "private",
                            false,
                            false,
                            true,
                            Consent::Unknown,
                            "s",
                            "a@praxis.example",
                            "a",
                            false,
                            false,
                            {"sensitivity", "private"}});
  CHECK(priv.pickup.auth == "passphrase");
  CHECK(priv.pickup.expires == std::chrono::hours(30 * 24));  // built-in default
  RecipientPlan fallback = run({"", "stranger@example.net", Method::Defer, "defaults"});
  CHECK(fallback.rule_location == "policy.yaml:2");
}

TEST_CASE("decide explains refusals and skipped methods") {
  RecipientPlan no_consent = run({"", "p@patients.example", Method::Reject, "patients", true});
  CHECK(no_consent.reject_text == kNoConsentText);
  RecipientPlan revoked = run(
      {"", "p@patients.example", Method::Reject, "patients", true, false, true, Consent::Revoked});
  CHECK(revoked.reject_text == kConsentRevokedText);
  RecipientPlan billing = run({"", "info@kv.example", Method::Reject, "billing", false, false, true,
                               Consent::Unknown, "s", "a@praxis.example", "abrechnung"});
  CHECK(billing.reject_text == "KV braucht einen Schluessel");
  RecipientPlan deferred = run(
      {"", "p@patients.example", Method::Defer, "patients", false, false, false, Consent::Granted});
  auto has = [&](const std::string& text) {
    for (const auto& r : deferred.reasons)
      if (r.find(text) != std::string::npos) return true;
    return false;
  };
  CHECK(has("pgp skipped"));
  CHECK(has("smime skipped"));
  CHECK(has("pickup skipped"));
}

TEST_CASE("a matched subject tag is reported and removed from the subject") {
  Plan plan;
  run({"", "x@example.org", Method::Pgp, "tagged", true, false, true, Consent::Unknown,
       "Befund [Secure] Meier"},
      &plan);
  CHECK(plan.subject_tag_removed == "[secure]");
  CHECK(plan.subject_without_tag == "Befund Meier");
  Plan untagged;
  run({"", "stranger@example.net", Method::Pgp, "defaults", true}, &untagged);
  CHECK(untagged.subject_tag_removed.empty());
}

TEST_CASE("decide plans every recipient separately and reads key notes") {
  EnvelopeFacts env;
  env.sender = "mfa@praxis.example";
  env.recipients = {"a@praxis.example", "b@example.net", "c@example.net"};
  std::map<std::string, KeyAvailability> keys{{"b@example.net", {true, false, ""}},
                                              {"c@example.net", {false, false, "keystore error"}}};
  Plan plan = decide(test_policy(), env, MessageFacts{}, keys, {});
  REQUIRE(plan.recipients.size() == 3);
  CHECK(plan.recipients[0].method == Method::Plain);
  CHECK(plan.recipients[1].method == Method::Pgp);
  CHECK(plan.recipients[2].method == Method::Defer);  // pickup_available defaults to false
  bool noted = false;
  for (const auto& r : plan.recipients[2].reasons) noted = noted || r == "keys: keystore error";
  CHECK(noted);
}
