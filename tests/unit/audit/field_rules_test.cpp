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

TEST_CASE("the field names Sealpost writes (docs/audit.md) all pass the rule") {
  // Renamed at their source rather than given exceptions in the rule:
  // `pickup_phrase_set` (was pickup_passphrase_set) and `html_remote_removed`
  // (was remote_content_removed) name yes/no and a count, never a value, but a
  // rule that let `*_set` or `*_removed` through would let `password_set: x`
  // through too.
  for (const char* name : {"queue_id",
                           "sender",
                           "recipient",
                           "method",
                           "rule",
                           "key",
                           "cert_serial",
                           "source",
                           "cipher",
                           "reasons",
                           "result",
                           "status",
                           "reply",
                           "recipients",
                           "profile",
                           "summary",
                           "pickup_id",
                           "client",
                           "actor",
                           "uid",
                           "kind",
                           "file",
                           "count",
                           "date",
                           "sms_number_set",
                           "pickup_phrase_set",
                           "addresses",
                           "user",
                           "account",
                           "folder",
                           "from",
                           "authenticated",
                           "signature",
                           "signer",
                           "html_remote_removed",
                           "pruned_before",
                           "last_pruned_seq",
                           "last_pruned_hash",
                           "files_removed"})
    CHECK_FALSE(is_forbidden_field(name));
  CHECK(is_forbidden_field("pickup_passphrase_set"));
  CHECK(is_forbidden_field("remote_content_removed"));
  CHECK(is_forbidden_field("password_set"));
}
