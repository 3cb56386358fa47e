#include "seal/scrub/scrub_hook.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "seal/gmime_ptr.h"

using sealpost::seal::GPtr;

namespace {
struct RecordingSink final : sealpost::AuditSink {
  std::vector<sealpost::AuditEvent> events;
  void record(const sealpost::AuditEvent& e) override { events.push_back(e); }
};

GPtr<GMimeMessage> parse(const std::string& text) {
  sealpost::seal::ensure_gmime();
  GPtr<GMimeStream> s(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
  GPtr<GMimeParser> p(g_mime_parser_new_with_stream(s.get()));
  return GPtr<GMimeMessage>(g_mime_parser_construct_message(p.get(), nullptr));
}

const std::string kBrokenPdf =
    "From: anna@praxis.example\r\nMessage-ID: <1@ws-042.praxis.local>\r\n"
    "X-Mailer: Outlook\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
    "Content-Type: application/pdf\r\n\r\n%PDF-1.4 garbage\r\n--b--\r\n";
}  // namespace

TEST_CASE("hook holds an unscrubbable PDF with a permanent error and audits counts only") {
  RecordingSink sink;
  auto hook = sealpost::scrub::make_scrub_hook({}, {.relay_hostname = "relay.example.eu"}, sink);
  auto msg = parse(kBrokenPdf);
  REQUIRE(msg);
  auto r = hook(msg.get(), "no-such-profile", "q1", "pat@example.org");
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.error().temporary());
  REQUIRE(sink.events.size() == 1);
  CHECK(sink.events[0].type == "scrub");
  const auto& f = sink.events[0].fields;
  CHECK(std::find(f.begin(), f.end(), std::pair<std::string, std::string>{"queue_id", "q1"}) !=
        f.end());
  for (const auto& [k, v] : sink.events[0].fields) {
    CHECK(v.find("ws-042") == std::string::npos);
    CHECK(v.find("Outlook") == std::string::npos);
  }
  // Headers were still scrubbed before the hold.
  CHECK(g_mime_object_get_header(GMIME_OBJECT(msg.get()), "X-Mailer") == nullptr);
  CHECK(std::string(g_mime_message_get_message_id(msg.get())).ends_with("@relay.example.eu"));
}

TEST_CASE("hook passes when the named profile allows unscrubbable attachments") {
  RecordingSink sink;
  sealpost::ScrubProfile lenient;
  lenient.name = "lenient";
  lenient.pass_unscrubbable = true;
  auto hook = sealpost::scrub::make_scrub_hook({{"lenient", lenient}}, {}, sink);
  auto msg = parse(kBrokenPdf);
  CHECK(hook(msg.get(), "lenient", "q1", "pat@example.org").ok());
  REQUIRE(sink.events.size() == 1);
  CHECK(sink.events[0].fields[2] == std::pair<std::string, std::string>{"profile", "lenient"});
}

TEST_CASE("the audit says when a signed part was left as the client made it") {
  RecordingSink sink;
  auto hook = sealpost::scrub::make_scrub_hook({}, {.relay_hostname = "relay.example.eu"}, sink);
  // A label without a real signature is no reason to leave anything alone.
  auto fake = parse(
      "From: anna@praxis.example\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=s\r\n\r\n"
      "--s\r\nContent-Type: text/plain\r\n\r\nhi\r\n--s\r\n"
      "Content-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n\r\n"
      "xx\r\n-----END PGP SIGNATURE-----\r\n--s--\r\n");
  REQUIRE(fake);
  CHECK(hook(fake.get(), "standard", "q2", "pat@example.org").ok());
  REQUIRE(sink.events.size() == 1);
  const auto& f = sink.events[0].fields;
  CHECK(std::find(f.begin(), f.end(),
                  std::pair<std::string, std::string>{"inner_untouched", "no"}) != f.end());
  const auto summary =
      std::find_if(f.begin(), f.end(), [](auto& kv) { return kv.first == "summary"; });
  REQUIRE(summary != f.end());
  CHECK(summary->second.find("boundaries_regenerated=1") != std::string::npos);
}
