#include "relay/smtp/envelope_syntax.h"

#include <catch2/catch.hpp>

using namespace sealpost::smtp;

TEST_CASE("paths") {
  auto p = parse_path("<a@b.example> SIZE=1", false);
  REQUIRE(p.ok());
  CHECK(p->address == "a@b.example");
  CHECK(p->params == " SIZE=1");
  CHECK(parse_path(" <a@b.example>", false).ok());  // one space tolerated
  CHECK(parse_path("<@relay.example:a@b.example>", false)->address == "a@b.example");
  CHECK(parse_path("<>", true)->address.empty());
  CHECK(!parse_path("<>", false).ok());
  CHECK(!parse_path("a@b.example", false).ok());
  CHECK(!parse_path("<a@b.example>junk", false).ok());
  CHECK(!parse_path("<a b@c.example>", false).ok());
  CHECK(!parse_path("<nodomain>", false).ok());
  CHECK(!parse_path("<a@b..example>", false).ok());
  CHECK(!parse_path("<" + std::string(65, 'a') + "@b.example>", false).ok());
  CHECK(parse_path("<jörg@b.example>", false)->non_ascii);
}

TEST_CASE("MAIL parameters") {
  auto m = parse_mail_params(" SIZE=123 body=8bitmime SMTPUTF8 RET=full ENVID=abc+2B AUTH=<>");
  REQUIRE(m.ok());
  CHECK(*m->size == 123);
  CHECK(m->body == "8BITMIME");
  CHECK(m->smtputf8);
  CHECK(m->ret == "FULL");
  CHECK(m->envid == "abc+2B");
  CHECK(parse_mail_params(" X=1").error().smtp_code == 555);
  CHECK(parse_mail_params(" SIZE=99999999999999999999").error().smtp_code == 501);
  CHECK(parse_mail_params(" ENVID=a+zz").error().smtp_code == 501);
  CHECK(parse_mail_params(" SMTPUTF8=yes").error().smtp_code == 501);
}

TEST_CASE("RCPT parameters") {
  auto r = parse_rcpt_params(" NOTIFY=success,failure ORCPT=rfc822;a+2Bb@c.example");
  REQUIRE(r.ok());
  CHECK(r->notify == "SUCCESS,FAILURE");
  CHECK(r->orcpt == "rfc822;a+2Bb@c.example");
  CHECK(!parse_rcpt_params(" NOTIFY=").ok());
  CHECK(!parse_rcpt_params(" NOTIFY=SUCCESS,SUCCESS").ok());
  CHECK(!parse_rcpt_params(" NOTIFY=NEVER,DELAY").ok());
  CHECK(parse_rcpt_params(" BOGUS").error().smtp_code == 555);
}
