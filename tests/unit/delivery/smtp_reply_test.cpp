#include "relay/delivery/smtp_reply.h"

#include <catch2/catch.hpp>

#include "relay/delivery/smtp_transport.h"

using namespace sealpost;
using namespace sealpost::delivery;

TEST_CASE("reply lines are parsed strictly") {
  auto l = parse_reply_line("250-PIPELINING");
  REQUIRE(l);
  CHECK(l->code == 250);
  CHECK(l->more);
  CHECK(l->text == "PIPELINING");
  auto last = parse_reply_line("550 5.1.1 no such user");
  REQUIRE(last);
  CHECK_FALSE(last->more);
  CHECK(parse_reply_line("250"));
  CHECK_FALSE(parse_reply_line("25"));
  CHECK_FALSE(parse_reply_line("abc def"));
  CHECK_FALSE(parse_reply_line("250:x"));
  CHECK_FALSE(parse_reply_line("150 wrong class"));
  CHECK_FALSE(parse_reply_line(""));
}

TEST_CASE("enhanced status codes are extracted only when they match the reply class") {
  CHECK(enhanced_code_of(550, "5.1.1 no such user") == "5.1.1");
  CHECK(enhanced_code_of(250, "2.0.0") == "2.0.0");
  CHECK(enhanced_code_of(451, "4.7.650 greylisted") == "4.7.650");
  CHECK(enhanced_code_of(550, "4.1.1 mismatch").empty());
  CHECK(enhanced_code_of(550, "5.1 short").empty());
  CHECK(enhanced_code_of(550, "5.1.1x").empty());
  CHECK(enhanced_code_of(550, "no code").empty());
}

TEST_CASE("multi-line replies are assembled; mixed codes are malformed") {
  std::vector<ReplyLine> lines{{550, true, "5.1.1 first"}, {550, false, "5.1.1 second"}};
  auto r = assemble_reply(lines);
  CHECK(r.code == 550);
  CHECK(r.enhanced == "5.1.1");
  CHECK(r.text == "first / second");
  CHECK(r.permanent());
  std::vector<ReplyLine> mixed{{250, true, "a"}, {550, false, "b"}};
  CHECK(assemble_reply(mixed).code == 0);
}

TEST_CASE("MAIL FROM and RCPT TO carry exactly the parameters the server supports") {
  OutboundMessage m;
  m.mail_from = "arzt@praxis.example";
  m.data = std::string("0123456789");
  m.eight_bit = true;
  m.smtputf8 = true;
  m.ret = "HDRS";
  m.envid = "QQ314159";
  CHECK(mail_from_command(m, true, true, true, true) ==
        "MAIL FROM:<arzt@praxis.example> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159");
  CHECK(mail_from_command(m, false, false, false, false) == "MAIL FROM:<arzt@praxis.example>");
  m.envid = "bad value";  // not xtext: dropped, never forwarded raw
  m.ret = "EVIL";
  CHECK(mail_from_command(m, false, false, false, true) == "MAIL FROM:<arzt@praxis.example>");

  OutboundRecipient r{"p@example.org", "FAILURE,DELAY", "rfc822;p@example.org"};
  CHECK(rcpt_to_command(r, true) ==
        "RCPT TO:<p@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;p@example.org");
  CHECK(rcpt_to_command(r, false) == "RCPT TO:<p@example.org>");
  OutboundMessage null_sender;
  CHECK(mail_from_command(null_sender, false, false, false, false) == "MAIL FROM:<>");
}

TEST_CASE("envelope addresses that could smuggle SMTP syntax are refused") {
  CHECK(safe_envelope_address("a@example.org"));
  CHECK(safe_envelope_address("\"quoted local\"@example.org"));
  CHECK_FALSE(safe_envelope_address("a@example.org>\r\nRCPT TO:<b@example.org"));
  CHECK_FALSE(safe_envelope_address("a@x\n"));
  CHECK_FALSE(safe_envelope_address(std::string("a\0b", 3)));
  CHECK_FALSE(safe_envelope_address(std::string(600, 'a')));
}
