#include "policy/live_policy.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace sealpost;
using namespace sealpost::policy;

namespace {

// A store whose reads fail, to check the decider fails closed.
class BrokenStore : public ConsentStore {
 public:
  Result<std::optional<ConsentRecord>> get(const std::string&) override {
    return Error::plain("disk on fire");
  }
  Result<void> set(const ConsentRecord&) override { return Error::plain("no"); }
  Result<void> revoke(const std::string&, const std::string&, const std::string&) override {
    return Error::plain("no");
  }
  Result<std::vector<ConsentRecord>> list() override { return Error::plain("no"); }
  Result<std::vector<ConsentImportOutcome>> import_all(const std::vector<ConsentRecord>&) override {
    return Error::plain("no");
  }
};

const char* kFirst =
    "rules:\n  - name: internal\n    match: {recipient_domain: praxis.example}\n    methods: "
    "[plain]\n";

}  // namespace

TEST_CASE("a bad reload keeps the old policy, a good one replaces it") {
  auto file = std::filesystem::temp_directory_path() /
              ("sealpost-live-policy-" + std::to_string(::getpid()) + ".yaml");
  auto first = parse_policy(kFirst, "p.yaml");
  REQUIRE(first.ok());
  auto live = std::make_shared<LivePolicy>(std::move(*first));
  auto snapshot = live->current();

  std::ofstream(file) << "rules: [ {name: x, match: {}, methods: [telepathy]} ]\n";
  auto bad = live->reload(file.string());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().what().find(":1: rules[].methods: unknown method 'telepathy'") !=
        std::string::npos);
  CHECK(live->current() == snapshot);

  std::ofstream(file) << "defaults: {methods: [pickup]}\n";
  REQUIRE(live->reload(file.string()).ok());
  CHECK(live->current() != snapshot);
  CHECK(live->current()->rules.empty());
  CHECK(snapshot->rules.size() == 1);  // old snapshot unchanged for in-flight users
  std::filesystem::remove(file);
}

TEST_CASE("the decider applies pickup availability and fails closed on registry errors") {
  auto p = parse_policy(
      "rules:\n  - name: patients\n    match: {recipient_domain: \"*\"}\n"
      "    require_consent: true\n    methods: [pickup]\n",
      "p.yaml");
  REQUIRE(p.ok());
  auto live = std::make_shared<LivePolicy>(std::move(*p), true);
  EnvelopeFacts env;
  env.recipients = {"p@example.org"};

  Plan no_store = make_decider(live, nullptr)(env, {}, {});
  CHECK(no_store.recipients.at(0).method == Method::Reject);  // no consent on record

  Plan broken = make_decider(live, std::make_shared<BrokenStore>())(env, {}, {});
  CHECK(broken.recipients.at(0).method == Method::Defer);
  CHECK(broken.recipients.at(0).reasons.at(0).find("disk on fire") != std::string::npos);
}

TEST_CASE("replace swaps policy and pickup availability together") {
  auto p = parse_policy("defaults: {methods: [pickup]}\n", "p.yaml");
  REQUIRE(p.ok());
  auto live = std::make_shared<LivePolicy>(std::move(*p), false);
  auto decide_now = make_decider(live, nullptr);
  EnvelopeFacts env;
  env.recipients = {"p@example.org"};
  env.pickup_available = true;  // the live setting wins over the envelope
  CHECK(decide_now(env, {}, {}).recipients.at(0).method == Method::Defer);  // no portal

  auto next = parse_policy(kFirst, "p.yaml");
  REQUIRE(next.ok());
  auto before = live->current();
  live->replace(std::move(*next), true);
  CHECK(live->pickup_available());
  CHECK(live->current() != before);
  CHECK(live->current()->rules.size() == 1);
  auto again = parse_policy("defaults: {methods: [pickup]}\n", "p.yaml");
  live->replace(std::move(*again), true);
  CHECK(decide_now(env, {}, {}).recipients.at(0).method == Method::Pickup);
}
