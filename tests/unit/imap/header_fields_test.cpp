#include "imap/header_fields.h"

#include <catch2/catch.hpp>

using namespace sealpost::imap;

TEST_CASE("split_entity: folded fields, LF or CRLF, body after the blank line") {
  auto e = split_entity("From: a@b\r\nSubject: one\r\n two\r\n\r\nbody\r\n");
  REQUIRE(e.fields.size() == 2);
  CHECK(e.fields[1].name == "Subject");
  CHECK(header_value(e.fields, "subject") == "one two");
  CHECK(e.body == "body\r\n");
  auto lf = split_entity("Content-Type: text/plain\n\nhi\n");
  REQUIRE(lf.fields.size() == 1);
  CHECK(lf.body == "hi\n");
}

TEST_CASE("build_readable: incoming status headers and outer Content-* are dropped") {
  auto outer = split_entity(
      "From: p@example.org\r\nX-Sealpost-Signature: valid key FAKE\r\n"
      "x-sealpost-decrypted: yes\r\nContent-Type: multipart/encrypted; boundary=x\r\n"
      "Subject: s\r\n\r\n");
  auto inner = split_entity(
      "Content-Type: text/plain\r\nX-Sealpost-Signature: valid key INNER\r\n"
      "Subject: injected\r\n\r\nsecret text\r\n");
  const std::string out = build_readable(outer.fields, inner, ReadableStatus{"yes", "none", ""});
  CHECK(out.find("FAKE") == std::string::npos);
  CHECK(out.find("INNER") == std::string::npos);
  CHECK(out.find("injected") == std::string::npos);  // only Content-* from inside
  CHECK(out.find("multipart/encrypted") == std::string::npos);
  CHECK(out.find("X-Sealpost-Decrypted: yes\r\nX-Sealpost-Signature: none\r\n") !=
        std::string::npos);
  CHECK(out.find("Content-Type: text/plain\r\n\r\nsecret text\r\n") != std::string::npos);
  CHECK(out.find("Subject: s\r\n") != std::string::npos);
}

TEST_CASE("build_readable: a decrypted entity without Content-Type becomes text/plain") {
  auto outer = split_entity("From: p@example.org\r\n\r\n");
  auto inner = split_entity("just text, no header\r\n");
  const std::string out = build_readable(outer.fields, inner, ReadableStatus{"yes", "none", "n"});
  CHECK(out.find("X-Sealpost-Note: n\r\n") != std::string::npos);
  CHECK(out.find("Content-Type: text/plain; charset=us-ascii\r\n\r\njust text") !=
        std::string::npos);
}

TEST_CASE("build_readable: protected headers from inside replace the outer placeholders") {
  auto outer = split_entity(
      "From: Pat <p@example.org>\r\nTo: praxis@praxis.test\r\nSubject: [...]\r\n"
      "Message-ID: <outer@example.org>\r\nContent-Type: multipart/encrypted; boundary=x\r\n\r\n");
  auto inner = split_entity(
      "Content-Type: text/plain; charset=utf-8; hp=\"cipher\"\r\n"
      "From: Pat <p@example.org>\r\nTo: praxis@praxis.test, lab@lab.test\r\n"
      "Subject: =?utf-8?q?R=C3=BCckfrage_Befund?=\r\nMessage-ID: <inner@example.org>\r\n"
      "HP-Outer: Subject: [...]\r\nX-Sealpost-Signature: valid key INNER\r\n"
      "Received: from forged\r\n\r\nsecret text\r\n");
  const auto promoted = protected_fields(inner, true);
  const std::string out =
      build_readable(outer.fields, inner, ReadableStatus{"yes", "none", ""}, promoted);
  CHECK(out.find("[...]") == std::string::npos);
  CHECK(out.find("Subject: =?utf-8?q?R=C3=BCckfrage_Befund?=\r\n") != std::string::npos);
  CHECK(out.find("To: praxis@praxis.test, lab@lab.test\r\n") != std::string::npos);
  CHECK(out.find("\r\nTo: praxis@praxis.test\r\n") == std::string::npos);   // replaced, not doubled
  CHECK(out.find("Message-ID: <outer@example.org>") != std::string::npos);  // kept from outside
  CHECK(out.find("inner@example.org") == std::string::npos);
  CHECK(out.find("INNER") == std::string::npos);
  CHECK(out.find("HP-Outer") == std::string::npos);
  CHECK(out.find("forged") == std::string::npos);

  // A different From inside is not shown: the signature verdict belongs to the outer one.
  auto spoof = split_entity(
      "Content-Type: text/plain; hp=\"cipher\"\r\nFrom: Chef <boss@praxis.test>\r\n"
      "Subject: real\r\n\r\nx\r\n");
  const auto kept = protected_fields(spoof, false);
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].name == "Subject");
  const std::string shown =
      build_readable(outer.fields, spoof, ReadableStatus{"yes", "none", ""}, kept);
  CHECK(shown.find("From: Pat <p@example.org>") != std::string::npos);
  CHECK(shown.find("boss@") == std::string::npos);
}
