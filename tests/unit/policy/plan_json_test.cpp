#include "policy/plan_json.h"

#include <catch2/catch.hpp>

using namespace sealpost::policy;

TEST_CASE("plan JSON escapes strings and carries every recipient") {
  Plan plan;
  RecipientPlan r;
  r.address = "a\"b@example.org";
  r.method = Method::Pickup;
  r.rule = "patients";
  r.rule_location = "policy.yaml:12";
  r.reasons = {"line\nbreak", std::string("bell\x07")};
  plan.recipients.push_back(r);
  std::string json = plan_to_json(plan);
  CHECK(json.find("\"address\": \"a\\\"b@example.org\"") != std::string::npos);
  CHECK(json.find("\"method\": \"pickup\"") != std::string::npos);
  CHECK(json.find("\"rule_location\": \"policy.yaml:12\"") != std::string::npos);
  CHECK(json.find("\"line\\nbreak\"") != std::string::npos);
  CHECK(json.find("\"bell\\u0007\"") != std::string::npos);
  CHECK(json.find("\"subject_tag_removed\": null") != std::string::npos);
  plan.subject_tag_removed = "[secure]";
  CHECK(plan_to_json(plan).find("\"subject_tag_removed\": \"[secure]\"") != std::string::npos);
}
