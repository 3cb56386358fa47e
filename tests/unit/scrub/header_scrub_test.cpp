#include "seal/scrub/header_scrub.h"

#include <catch2/catch.hpp>

#include "seal/gmime_ptr.h"
#include "seal/scrub/scrub.h"

using sealpost::ScrubProfile;
using sealpost::scrub::header_glob_match;
using sealpost::scrub::header_must_go;

TEST_CASE("header globs are case-insensitive and anchored") {
  CHECK(header_glob_match("X-MS-*", "x-ms-exchange-organization-scl"));
  CHECK(header_glob_match("Received", "RECEIVED"));
  CHECK_FALSE(header_glob_match("Received", "Received-SPF"));
  CHECK_FALSE(header_glob_match("X-MS-*", "X-Mailer"));
  CHECK(header_glob_match("*-To", "Disposition-Notification-To"));
  CHECK(header_glob_match("a*b*c", "axxbyyc"));
  CHECK_FALSE(header_glob_match("a*b*c", "axxbyy"));
}

TEST_CASE("strip mode removes the tracking list, profile extras and Bcc") {
  ScrubProfile p;
  p.remove_headers = {"X-Practice-*"};
  for (const char* h : {"Received", "X-Originating-IP", "X-Mailer", "User-Agent", "Thread-Index",
                        "X-MS-Has-Attach", "X-Mozilla-Status", "Return-Receipt-To",
                        "Disposition-Notification-To", "Bcc", "X-Practice-Workstation"})
    CHECK(header_must_go(h, p));
  for (const char* h : {"From", "Subject", "Message-ID", "Content-Type", "X-Other"})
    CHECK_FALSE(header_must_go(h, p));
}

TEST_CASE("allow mode keeps essentials, Content-* and keep_headers only") {
  ScrubProfile p;
  p.header_mode = ScrubProfile::HeaderMode::Allow;
  p.keep_headers = {"X-Ticket"};
  for (const char* h : {"From", "To", "Cc", "Subject", "Date", "Message-ID", "References",
                        "MIME-Version", "Content-Transfer-Encoding", "X-Ticket"})
    CHECK_FALSE(header_must_go(h, p));
  for (const char* h : {"Bcc", "X-Other", "Organization", "Received"}) CHECK(header_must_go(h, p));
}

namespace {

sealpost::seal::GPtr<GMimeMessage> parse(const std::string& raw) {
  sealpost::seal::GPtr<GMimeStream> s(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  sealpost::seal::GPtr<GMimeParser> p(g_mime_parser_new_with_stream(s.get()));
  return sealpost::seal::GPtr<GMimeMessage>(g_mime_parser_construct_message(p.get(), nullptr));
}

std::string header(GMimeMessage* m, const char* name) {
  const char* v = g_mime_object_get_header(GMIME_OBJECT(m), name);
  return v ? v : "";
}

}  // namespace

TEST_CASE("rewritten Message-IDs are stable, so a staff follow-up still threads") {
  using namespace sealpost::scrub;
  g_mime_init();
  ScrubContext ctx{"relay.praxis.example", std::string(32, 'k')};
  ScrubReport report;
  auto first =
      parse("From: anna@praxis.example\r\nMessage-ID: <123.ABC@WS-042.praxis.local>\r\n\r\nx\r\n");
  scrub_message_id(first.get(), ctx, report);
  const std::string sent_id = g_mime_message_get_message_id(first.get());
  CHECK(sent_id.ends_with("@relay.praxis.example"));
  CHECK(sent_id.find("WS-042") == std::string::npos);
  CHECK(sent_id == mapped_message_id("123.ABC@WS-042.praxis.local", ctx));

  // The follow-up (same workstation) answers the patient's reply, which
  // references what the patient saw; the staff client adds its own old id.
  auto follow = parse(
      "From: anna@praxis.example\r\nMessage-ID: <124.ABC@WS-042.praxis.local>\r\n"
      "In-Reply-To: <CAF=xyz@mail.gmail.com>\r\n"
      "References: <123.ABC@WS-042.praxis.local>\r\n <CAF=xyz@mail.gmail.com>\r\n"
      " <9@fileserver>\r\n <1@praxis.example>\r\n <x@ws-017.praxis.example>\r\n"
      " <8a0b3e2c-1234-4cde-9f00-123456789abc@praxis.example>\r\n\r\nx\r\n");
  scrub_message_id(follow.get(), ctx, report);
  const std::string refs = header(follow.get(), "References");
  CHECK(refs.find("<" + sent_id + ">") != std::string::npos);  // the patient's client threads
  CHECK(refs.find("<CAF=xyz@mail.gmail.com>") != std::string::npos);  // theirs stays
  // An opaque id on exactly the mail domain names nothing: kept, as the
  // Message-ID rule would keep it. Anything else on the domain or below is ours.
  CHECK(refs.find("<8a0b3e2c-1234-4cde-9f00-123456789abc@praxis.example>") != std::string::npos);
  CHECK(refs.find("<" + mapped_message_id("1@praxis.example", ctx) + ">") != std::string::npos);
  CHECK(refs.find("<" + mapped_message_id("x@ws-017.praxis.example", ctx) + ">") !=
        std::string::npos);
  CHECK(refs.find("ws-017") == std::string::npos);
  CHECK(refs.find("WS-042") == std::string::npos);
  CHECK(refs.find("fileserver") == std::string::npos);
  CHECK(header(follow.get(), "In-Reply-To") == "<CAF=xyz@mail.gmail.com>");

  // Another key gives other ids; no key gives random ones.
  ScrubContext other{"relay.praxis.example", std::string(32, 'j')};
  CHECK(mapped_message_id("123.ABC@WS-042.praxis.local", other) != sent_id);
  ScrubContext none{"relay.praxis.example", ""};
  CHECK(mapped_message_id("x@y", none) != mapped_message_id("x@y", none));
}

TEST_CASE("internal-looking hosts") {
  using sealpost::scrub::internal_looking_host;
  for (const char* h : {"fileserver", "WS-042.praxis.local", "[192.168.1.4]", "10.0.0.7",
                        "dc1.corp", "nas.home.arpa", ""})
    CHECK(internal_looking_host(h));
  for (const char* h : {"mail.gmail.com", "praxis.example", "eurprd01.prod.exchangelabs.com"})
    CHECK_FALSE(internal_looking_host(h));
}

TEST_CASE("a Message-ID on the mail domain is kept only with an opaque left part") {
  using namespace sealpost::scrub;
  g_mime_init();
  ScrubContext ctx{"relay.praxis.example", std::string(32, 'k')};
  struct Case {
    const char* id;
    bool kept;
  };
  for (const Case& c : {Case{"8a0b3e2c-1234-4cde-9f00-123456789abc@praxis.example", true},
                        Case{"000001d9a1b2$c3d4e5f6$f7a8b9c0$@praxis.example", true},
                        Case{"20261126100000.GA1234@praxis.example", false},  // dotted (mutt)
                        Case{"1234.5678.JavaMail.anna@praxis.example", false},
                        Case{"anna-mueller-privat@praxis.example", false},  // no digit: a name
                        Case{"8a0b3e2c-1234-4cde-9f00-123456789abc@ws-017.praxis.example", false},
                        Case{"8a0b3e2c-1234-4cde-9f00-123456789abc@mail.gmail.com", false}}) {
    INFO(c.id);
    ScrubReport report;
    auto m =
        parse(std::string("From: anna@praxis.example\r\nMessage-ID: <") + c.id + ">\r\n\r\nx\r\n");
    scrub_message_id(m.get(), ctx, report);
    const std::string now = g_mime_message_get_message_id(m.get());
    CHECK((now == c.id) == c.kept);
    if (!c.kept) CHECK(now == mapped_message_id(c.id, ctx));
  }
}

TEST_CASE("Bcc and Resent-Bcc always go") {
  sealpost::ScrubProfile p;
  p.header_mode = sealpost::ScrubProfile::HeaderMode::Allow;
  p.keep_headers = {"*"};
  CHECK(header_must_go("Resent-Bcc", p));
  CHECK(header_must_go("bcc", p));
  CHECK_FALSE(header_must_go("Resent-To", p));
}
