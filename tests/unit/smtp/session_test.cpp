// Scenario tests of the SMTP session state machine: client bytes in, reply
// codes out, stored messages checked in the fake spool.
#include <catch2/catch.hpp>
#include <cctype>

#include "tests/unit/smtp/dialogue.h"

using sealpost::test::Dialogue;
using sealpost::test::filter_settings;
using sealpost::test::reply_codes;
using sealpost::test::submission_settings;
using Codes = std::vector<int>;
using namespace std::string_view_literals;

namespace {

bool has_cap(const std::string& replies, const std::string& cap) {
  return replies.find("250-" + cap + "\r\n") != std::string::npos ||
         replies.find("250 " + cap + "\r\n") != std::string::npos;
}

// A complete transaction after login; returns the final reply codes.
Codes send_simple(Dialogue& d, const std::string& body) {
  return reply_codes(
      d.send("MAIL FROM:<anna@praxis.example>\r\nRCPT TO:<p@patient.example>\r\n"
             "DATA\r\n" +
             body));
}

}  // namespace

TEST_CASE("greeting names the relay and carries no enhanced code") {
  Dialogue d;
  CHECK(d.transcript == "220 relay.test ESMTP Sealpost\r\n");
}

TEST_CASE("EHLO capabilities before and after TLS") {
  Dialogue d;
  std::string before = d.send("EHLO client.test\r\n");
  CHECK(has_cap(before, "PIPELINING"));
  CHECK(has_cap(before, "8BITMIME"));
  CHECK(has_cap(before, "SMTPUTF8"));
  CHECK(has_cap(before, "SIZE 10000"));
  CHECK(has_cap(before, "ENHANCEDSTATUSCODES"));
  CHECK(has_cap(before, "DSN"));
  CHECK(has_cap(before, "STARTTLS"));
  CHECK(before.find("AUTH") == std::string::npos);  // never before TLS

  CHECK(d.code("STARTTLS") == 220);
  CHECK(d.start_tls);
  d.tls();
  std::string after = d.send("EHLO client.test\r\n");
  CHECK(has_cap(after, "AUTH PLAIN LOGIN"));
  CHECK(!has_cap(after, "STARTTLS"));
}

TEST_CASE("filter mode never offers AUTH and accepts without it") {
  Dialogue d(filter_settings());
  std::string caps = d.send("EHLO postfix.local\r\n");
  CHECK(caps.find("AUTH") == std::string::npos);
  CHECK(caps.find("STARTTLS") == std::string::npos);
  CHECK(d.code("AUTH PLAIN AGFubmEAczNjcmV0") == 502);
  CHECK(d.code("MAIL FROM:<>") == 250);  // DSNs from Postfix
  CHECK(d.code("RCPT TO:<x@y.example>") == 250);
  CHECK(reply_codes(d.send("DATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n")) == Codes{354, 250});
  REQUIRE(d.spool.committed.size() == 1);
  CHECK(d.spool.committed[0].envelope.mail_from.empty());
  CHECK(d.spool.committed[0].envelope.auth_user.empty());
}

TEST_CASE("every non-greeting reply line has an enhanced status code") {
  Dialogue d;
  d.login();
  d.send(
      "MAIL FROM:<anna@praxis.example>\r\nRCPT TO:<a@b.example>\r\nFOO\r\nVRFY x\r\n"
      "NOOP\r\nRSET\r\nHELP\r\nDATA\r\nQUIT\r\n");
  std::size_t pos = 0;
  int checked = 0;
  while ((pos = d.transcript.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    if (pos >= d.transcript.size()) break;
    std::string line = d.transcript.substr(pos, d.transcript.find("\r\n", pos) - pos);
    const bool ehlo_line = line.rfind("250", 0) == 0 && line.size() > 4 && std::isalpha(line[4]);
    if (line.rfind("250-", 0) == 0 || ehlo_line || line.rfind("334", 0) == 0 ||
        line.rfind("354", 0) == 0)
      continue;
    INFO(line);
    REQUIRE(line.size() > 9);
    CHECK((line[4] == '2' || line[4] == '4' || line[4] == '5'));
    CHECK(line[5] == '.');
    ++checked;
  }
  CHECK(checked >= 10);
}

TEST_CASE("AUTH only after TLS, PLAIN and LOGIN") {
  Dialogue d;
  d.line("EHLO c");
  CHECK(d.code("AUTH PLAIN AGFubmEAczNjcmV0") == 538);
  CHECK(d.auth.verify_calls == 0);

  SECTION("PLAIN with initial response") {
    d.line("STARTTLS");
    d.tls();
    d.line("EHLO c");
    CHECK(d.code("AUTH PLAIN AGFubmEAczNjcmV0") == 235);
    CHECK(d.code("AUTH PLAIN AGFubmEAczNjcmV0") == 503);  // already authenticated
  }
  SECTION("PLAIN with empty challenge") {
    d.line("STARTTLS");
    d.tls();
    d.line("EHLO c");
    CHECK(d.code("AUTH PLAIN") == 334);
    CHECK(d.code("AGFubmEAczNjcmV0") == 235);
  }
  SECTION("LOGIN") {
    d.line("STARTTLS");
    d.tls();
    d.line("EHLO c");
    CHECK(d.send("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n");
    CHECK(d.send("YW5uYQ==\r\n") == "334 UGFzc3dvcmQ6\r\n");
    CHECK(d.code("czNjcmV0") == 235);
    CHECK(d.code("MAIL FROM:<anna@praxis.example>") == 250);
  }
  SECTION("cancel and bad base64") {
    d.line("STARTTLS");
    d.tls();
    d.line("EHLO c");
    CHECK(d.code("AUTH LOGIN") == 334);
    CHECK(d.code("*") == 501);
    CHECK(d.code("AUTH PLAIN !!!!") == 501);
    CHECK(d.code("AUTH CRAM-MD5") == 504);
  }
  SECTION("authorization identity must be the user") {
    d.line("STARTTLS");
    d.tls();
    d.line("EHLO c");
    // "boss\0anna\0s3cret"
    CHECK(d.code("AUTH PLAIN Ym9zcwBhbm5hAHMzY3JldA==") == 535);
  }
}

TEST_CASE("AUTH failures lock the connection out") {
  Dialogue d;
  d.line("EHLO c");
  d.line("STARTTLS");
  d.tls();
  d.line("EHLO c");
  CHECK(d.code("AUTH PLAIN AGFubmEAd3Jvbmc=") == 535);  // \0anna\0wrong
  CHECK(d.code("AUTH PLAIN AGJvYgB3cm9uZw==") == 535);  // unknown user bob
  CHECK(!d.closed);
  CHECK(d.code("AUTH PLAIN AGFubmEAd3Jvbmc=") == 421);
  CHECK(d.closed);
  CHECK(d.send("AUTH PLAIN AGFubmEAczNjcmV0\r\n").empty());  // nothing after close
}

TEST_CASE("submission requires AUTH and sender ownership") {
  Dialogue d;
  d.line("EHLO c");
  CHECK(d.code("MAIL FROM:<anna@praxis.example>") == 530);
  d.line("STARTTLS");
  d.tls();
  d.line("EHLO c");
  CHECK(d.code("MAIL FROM:<anna@praxis.example>") == 530);
  d.line("AUTH PLAIN AGFubmEAczNjcmV0");
  CHECK(d.code("MAIL FROM:<chef@praxis.example>") == 550);
  CHECK(d.code("MAIL FROM:<>") == 550);
  CHECK(d.code("MAIL FROM:<anna@praxis.example>") == 250);
}

TEST_CASE("STARTTLS resets the session") {
  Dialogue d;
  d.login();
  CHECK(d.code("STARTTLS") == 503);  // already active
  Dialogue e;
  e.line("EHLO c");
  e.line("STARTTLS");
  e.tls();
  CHECK(e.code("MAIL FROM:<anna@praxis.example>") == 530);  // no AUTH carried over
  CHECK(e.code("AUTH PLAIN AGFubmEAczNjcmV0") == 503);      // EHLO needed again
}

TEST_CASE("bytes pipelined behind STARTTLS drop the connection") {
  Dialogue d;
  d.line("EHLO c");
  auto codes = reply_codes(d.send("STARTTLS\r\nMAIL FROM:<anna@praxis.example>\r\n"));
  CHECK(codes == Codes{421});
  CHECK(d.closed);
  CHECK(!d.start_tls);

  Dialogue late;  // bytes arriving before the handshake started
  late.line("EHLO c");
  late.line("STARTTLS");
  CHECK(reply_codes(late.send("RSET\r\n")) == Codes{421});
  CHECK(late.closed);
}

TEST_CASE("a pipelined transaction is answered in order and stored once") {
  Dialogue d;
  d.login();
  auto codes =
      reply_codes(d.send("MAIL FROM:<anna@praxis.example> BODY=8BITMIME\r\n"
                         "RCPT TO:<p1@patient.example>\r\nRCPT TO:<p2@patient.example>\r\nDATA\r\n"
                         "Subject: x\r\n\r\n..dot line\r\n.\r\nQUIT\r\n"));
  CHECK(codes == Codes{250, 250, 250, 354, 250, 221});
  CHECK(d.closed);
  REQUIRE(d.spool.committed.size() == 1);
  const auto& m = d.spool.committed[0];
  CHECK(d.queued == std::vector<std::string>{"Q1"});
  CHECK(d.transcript.find("250 2.0.0 Ok: queued as Q1\r\n") != std::string::npos);
  CHECK(m.envelope.mail_from == "anna@praxis.example");
  CHECK(m.envelope.auth_user == "anna");
  CHECK(m.envelope.body == "8BITMIME");
  CHECK(m.envelope.client_addr == "192.0.2.7");
  REQUIRE(m.envelope.rcpts.size() == 2);
  CHECK(m.envelope.rcpts[1].address == "p2@patient.example");
  // Our Received line first, no client IP or HELO name, then the unstuffed data.
  CHECK(m.data.rfind("Received: from submission by relay.test (Sealpost) with ESMTPSA id ", 0) ==
        0);
  CHECK(m.data.find("192.0.2.7") == std::string::npos);
  CHECK(m.data.find("client.test") == std::string::npos);
  CHECK(m.data.substr(m.data.find("\r\n\t") + 2).find("\r\nSubject: x\r\n\r\n.dot line\r\n") !=
        std::string::npos);
  CHECK(m.envelope.size == m.data.size());
  CHECK(d.spool.open_writers == 0);
}

TEST_CASE("DSN parameters are carried into the envelope") {
  Dialogue d;
  d.login();
  CHECK(d.code("MAIL FROM:<anna@praxis.example> RET=HDRS ENVID=QQ+2Bx1 SIZE=100") == 250);
  CHECK(d.code("RCPT TO:<p@patient.example> NOTIFY=failure,delay ORCPT=rfc822;p@patient.example") ==
        250);
  CHECK(d.code("RCPT TO:<q@patient.example> NOTIFY=NEVER") == 250);
  CHECK(reply_codes(d.send("DATA\r\n\r\nx\r\n.\r\n")) == Codes{354, 250});
  REQUIRE(d.spool.committed.size() == 1);
  const auto& env = d.spool.committed[0].envelope;
  CHECK(env.ret == "HDRS");
  CHECK(env.envid == "QQ+2Bx1");
  CHECK(env.rcpts[0].notify == "FAILURE,DELAY");
  CHECK(env.rcpts[0].orcpt == "rfc822;p@patient.example");
  CHECK(env.rcpts[1].notify == "NEVER");
}

TEST_CASE("bad ESMTP parameters") {
  auto settings = submission_settings();
  settings.max_bad_commands = 20;  // this test makes many errors on purpose
  Dialogue d(settings);
  d.login();
  CHECK(d.code("MAIL FROM:<anna@praxis.example> FOO=1") == 555);
  CHECK(d.code("MAIL FROM:<anna@praxis.example> BODY=BINARYMIME") == 501);
  CHECK(d.code("MAIL FROM:<anna@praxis.example> RET=FULL RET=HDRS") == 501);
  CHECK(d.code("MAIL FROM:<anna@praxis.example> SIZE=12x") == 501);
  CHECK(d.code("MAIL FROM:anna@praxis.example") == 501);
  CHECK(d.code("MAIL FROM:<anna@praxis.example>") == 250);
  CHECK(d.code("RCPT TO:<p@patient.example> NOTIFY=NEVER,SUCCESS") == 501);
  CHECK(d.code("RCPT TO:<p@patient.example> XFOO") == 555);
  CHECK(d.code("RCPT TO:<p@patient.example> ORCPT=nosemicolon") == 501);
  CHECK(d.code("RCPT TO:<>") == 501);
  CHECK(d.code("RCPT TO:<jörg@patient.example>") == 553);  // needs SMTPUTF8
}

TEST_CASE("size limits: declared and actual") {
  Dialogue d;
  d.login();
  CHECK(d.code("MAIL FROM:<anna@praxis.example> SIZE=10001") == 552);
  std::string big(200, 'x');
  std::string body;
  for (int i = 0; i < 60; ++i) body += big + "\r\n";  // 12 KB > 10000
  auto codes = send_simple(d, body + ".\r\n");
  CHECK(codes == Codes{250, 250, 354, 552});
  CHECK(d.spool.committed.empty());
  CHECK(d.spool.open_writers == 0);
  // The session stays in step: the next transaction works.
  CHECK(send_simple(d, "small\r\n.\r\n") == Codes{250, 250, 354, 250});
}

TEST_CASE("recipient limit answers 452 and keeps the others") {
  Dialogue d;
  d.login();
  d.line("MAIL FROM:<anna@praxis.example>");
  CHECK(d.code("RCPT TO:<a@x.example>") == 250);
  CHECK(d.code("RCPT TO:<b@x.example>") == 250);
  CHECK(d.code("RCPT TO:<c@x.example>") == 250);
  CHECK(d.code("RCPT TO:<d@x.example>") == 452);
  CHECK(reply_codes(d.send("DATA\r\nx\r\n.\r\n")) == Codes{354, 250});
  CHECK(d.spool.committed.at(0).envelope.rcpts.size() == 3);
}

TEST_CASE("smuggling: LF.LF never ends DATA or starts a second message") {
  Dialogue d;
  d.login();
  auto codes =
      send_simple(d,
                  "Subject: one\r\n\r\nhello\n.\nMAIL FROM:<anna@praxis.example>\r\n"
                  "RCPT TO:<victim@x.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n");
  // The smuggled commands are data: one message, refused for its bare LF.
  CHECK(codes == Codes{250, 250, 354, 550});
  CHECK(d.spool.committed.empty());
  CHECK(d.transcript.find("550 5.6.0") != std::string::npos);
}

TEST_CASE("smuggling variants are all read as data") {
  const char* variants[] = {
      "a\r\n.\nMAIL FROM:<anna@praxis.example>\r\n",  // CRLF . LF
      "a\n.\r\nMAIL FROM:<anna@praxis.example>\r\n",  // LF . CRLF
      "a\r.\r\nMAIL FROM:<anna@praxis.example>\r\n",  // CR . CRLF
      "a\r\n.\rMAIL FROM:<anna@praxis.example>\r\n",  // CRLF . CR
      "bare\rcr\r\n",
  };
  for (const char* v : variants) {
    INFO(v);
    Dialogue d;
    d.login();
    auto codes = send_simple(d, std::string(v) + ".\r\n");
    CHECK(codes == Codes{250, 250, 354, 550});
    CHECK(d.spool.committed.empty());
    CHECK(d.code("NOOP") == 250);  // still in step
  }
}

TEST_CASE("data split into single bytes ends at the same place") {
  Dialogue d;
  d.login();
  const std::string wire =
      "MAIL FROM:<anna@praxis.example>\r\nRCPT TO:<p@x.example>\r\nDATA\r\n"
      "A: b\r\n\r\n..\r\n.x\r\n.\r\nNOOP\r\n";
  std::string replies;
  for (char c : wire) replies += d.send(std::string_view(&c, 1));
  CHECK(reply_codes(replies) == Codes{250, 250, 354, 250, 250});
  REQUIRE(d.spool.committed.size() == 1);
  const std::string& data = d.spool.committed[0].data;
  CHECK(data.substr(data.size() - 14) == "A: b\r\n\r\n.\r\nx\r\n");
}

TEST_CASE("bare CR or LF in commands") {
  Dialogue d;
  d.line("EHLO c");
  CHECK(reply_codes(d.send("NOOP\n")) == Codes{500});
  CHECK(reply_codes(d.send("NOOP\rRSET\r\n")) == Codes{500});
  CHECK(reply_codes(d.send("NO\0OP\r\n"sv)) == Codes{500});
  CHECK(d.code("NOOP") == 250);
}

TEST_CASE("over-long command lines are answered once and do not desync") {
  Dialogue d;
  d.line("EHLO c");
  std::string longline = "NOOP " + std::string(5000, 'a') + "\r\nNOOP\r\n";
  CHECK(reply_codes(d.send(longline)) == Codes{500, 250});
  // The same line arriving in pieces.
  std::string got = d.send(std::string(3000, 'b'));
  got += d.send(std::string(3000, 'b'));
  got += d.send("\r\nRSET\r\n");
  CHECK(reply_codes(got) == Codes{500, 250});
}

TEST_CASE("over-long text lines in DATA are refused") {
  Dialogue d;
  d.login();
  CHECK(send_simple(d, std::string(998, 'x') + "\r\n.\r\n") == Codes{250, 250, 354, 250});
  CHECK(send_simple(d, std::string(999, 'x') + "\r\n.\r\n") == Codes{250, 250, 354, 550});
  CHECK(d.spool.committed.size() == 1);
}

TEST_CASE("too many bad commands close the connection") {
  Dialogue d;
  for (int i = 0; i < 9; ++i) CHECK(d.code("BOGUS") == 500);
  CHECK(!d.closed);
  CHECK(reply_codes(d.send("BOGUS\r\n")) == Codes{500, 421});
  CHECK(d.closed);
}

TEST_CASE("policy refusals count towards the error limit too") {
  Dialogue d;
  d.line("EHLO c");
  for (int i = 0; i < 9; ++i) CHECK(d.code("MAIL FROM:<anna@praxis.example>") == 530);
  CHECK(reply_codes(d.send("MAIL FROM:<anna@praxis.example>\r\n")) == Codes{530, 421});
  CHECK(d.closed);
}

TEST_CASE("spool failures surface as their SMTP errors") {
  Dialogue d;
  d.login();
  SECTION("begin") {
    d.spool.fail_begin = true;
    CHECK(send_simple(d, "") == Codes{250, 250, 452});
  }
  SECTION("write") {
    d.spool.fail_write = true;
    CHECK(send_simple(d, "x\r\n.\r\n") == Codes{250, 250, 354, 452});
  }
  SECTION("commit (disk full at fsync)") {
    d.spool.fail_commit = true;
    CHECK(send_simple(d, "x\r\n.\r\n") == Codes{250, 250, 354, 452});
    CHECK(d.transcript.find("452 4.3.1") != std::string::npos);
  }
  CHECK(d.spool.committed.empty());
  CHECK(d.spool.open_writers == 0);
}

TEST_CASE("commit is a blocking step: 250 only after it ran") {
  Dialogue d;
  d.login();
  auto out = d.session.feed(
      "MAIL FROM:<anna@praxis.example>\r\nRCPT TO:<p@x.example>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n");
  CHECK(out.blocked);
  CHECK(reply_codes(out.replies) == Codes{250, 250, 354});
  CHECK(d.spool.committed.empty());
  d.session.run_blocking_step();
  CHECK(d.spool.committed.size() == 1);
  auto after = d.session.resume();
  CHECK(reply_codes(after.replies) == Codes{250, 250});  // queued, then the NOOP
  CHECK(after.queued_id == "Q1");
}

TEST_CASE("sequence errors") {
  Dialogue d(filter_settings());
  CHECK(d.code("MAIL FROM:<a@b.example>") == 503);  // no EHLO
  CHECK(d.code("EHLO") == 501);
  CHECK(d.code("EHLO two words") == 501);
  CHECK(d.code("EHLO ctl\x01char") == 501);
  d.line("HELO c");
  CHECK(d.code("RCPT TO:<a@b.example>") == 503);
  CHECK(d.code("DATA") == 503);
  CHECK(d.code("VRFY anna") == 252);
  CHECK(d.code("QUIT") == 221);
  CHECK(d.closed);
}

TEST_CASE("timeouts and shutdown say 421") {
  Dialogue d;
  auto t = d.session.timeout();
  CHECK(t.replies.rfind("421 4.4.2", 0) == 0);
  CHECK(t.close);
  Dialogue e;
  auto s = e.session.shutting_down();
  CHECK(s.replies.rfind("421 4.3.2", 0) == 0);
}
