#include "audit/field_rules.h"

#include <catch2/catch.hpp>

using namespace sealpost::audit;

TEST_CASE("content-bearing field names are dropped and named") {
  Fields in = {{"queue_id", "q1"},     {"subject", "Befund Müller"},
               {"mail_subject", "x"},  {"body.html", "<p>"},
               {"key", "ABCD"},        {"Recipient", "a@b"},
               {"password_hint", "p"}, {"metadata", "kept"}};
  Fields out = sanitize_fields(in);
  CHECK(out == Fields{{"queue_id", "q1"},
                      {"key", "ABCD"},
                      {"metadata", "kept"},
                      {"dropped", "subject,mail_subject,body.html,<invalid>,password_hint"}});
}

TEST_CASE("values and field counts are bounded") {
  Fields in;
  for (int i = 0; i < 40; ++i) in.emplace_back("f" + std::to_string(i), std::string(5000, 'v'));
  Fields out = sanitize_fields(in);
  REQUIRE(out.size() == kMaxFieldsPerEvent);
  CHECK(out.back().first == "dropped");
  CHECK(out.front().second.size() == kMaxFieldValueBytes);
}

TEST_CASE("event types must be simple names") {
  CHECK(sanitize_type("pickup.opened") == "pickup.opened");
  CHECK(sanitize_type("Delivery") == "invalid");
  CHECK(sanitize_type("") == "invalid");
  CHECK(sanitize_type("a b") == "invalid");
}
