#include "relay/delivery/dsn.h"

#include <gmime/gmime.h>

#include <catch2/catch.hpp>
#include <memory>

using namespace sealpost;
using namespace sealpost::delivery;

namespace {

struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

GPtr<GMimeMessage> parse(const std::string& text) {
  static const bool init = [] {
    g_mime_init();
    return true;
  }();
  (void)init;
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  return GPtr<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

std::string to_string(GMimeObject* obj) {
  char* s = g_mime_object_to_string(obj, nullptr);
  std::string out(s ? s : "");
  g_free(s);
  return out;
}

SpoolEnvelope original() {
  SpoolEnvelope env;
  env.id = "0001abc";
  env.mail_from = "arzt@praxis.example";
  env.envid = "ENV123";
  env.arrival = 1732800000;
  return env;
}

FailedRecipient failed(const std::string& address, const std::string& notify = "") {
  FailedRecipient f;
  f.rcpt.address = address;
  f.rcpt.notify = notify;
  f.rcpt.orcpt = "rfc822;" + address;
  f.status = "5.1.1";
  f.diagnostic = "550 5.1.1 <" + address + ">: Recipient address rejected";
  f.remote = true;
  return f;
}

const std::string kMessage =
    "From: Dr. Arzt <arzt@praxis.example>\r\n"
    "To: patient@example.org\r\n"
    "Subject: Befund\r\n"
    "Message-ID: <m1@praxis.example>\r\n"
    "\r\n"
    "SECRET-BODY diagnosis text\r\n";

const DsnContext kCtx{"relay.praxis.example", "smarthost.example", 1732900000};

}  // namespace

TEST_CASE("a failure DSN is a well-formed RFC 3464 report with headers only") {
  auto dsn = compose_failure_dsn(original(), {failed("patient@example.org")}, kMessage, kCtx);
  REQUIRE(dsn.has_value());
  CHECK(dsn->find("SECRET-BODY") == std::string::npos);

  auto msg = parse(*dsn);
  REQUIRE(msg);
  GMimeObject* top = g_mime_message_get_mime_part(msg.get());
  REQUIRE(GMIME_IS_MULTIPART(top));
  GMimeContentType* ct = g_mime_object_get_content_type(top);
  CHECK(g_mime_content_type_is_type(ct, "multipart", "report"));
  CHECK(std::string(g_mime_content_type_get_parameter(ct, "report-type")) == "delivery-status");
  auto* multipart = GMIME_MULTIPART(top);
  REQUIRE(g_mime_multipart_get_count(multipart) == 3);

  GMimeObject* human = g_mime_multipart_get_part(multipart, 0);
  CHECK(g_mime_content_type_is_type(g_mime_object_get_content_type(human), "text", "plain"));
  REQUIRE(GMIME_IS_PART(human));
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(human));
  GPtr<GMimeStream> decoded(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, decoded.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(decoded.get()));
  const std::string text(reinterpret_cast<char*>(bytes->data), bytes->len);
  CHECK(text.find("Empfänger") != std::string::npos);  // German, umlaut survives QP
  CHECK(text.find("could not be delivered") != std::string::npos);

  GMimeObject* status = g_mime_multipart_get_part(multipart, 1);
  CHECK(g_mime_content_type_is_type(g_mime_object_get_content_type(status), "message",
                                    "delivery-status"));
  const std::string fields = to_string(status);
  CHECK(fields.find("Reporting-MTA: dns; relay.praxis.example") != std::string::npos);
  CHECK(fields.find("Original-Envelope-Id: ENV123") != std::string::npos);
  CHECK(fields.find("Arrival-Date: ") != std::string::npos);
  CHECK(fields.find("Final-Recipient: rfc822; patient@example.org") != std::string::npos);
  CHECK(fields.find("Original-Recipient: rfc822;patient@example.org") != std::string::npos);
  CHECK(fields.find("Action: failed") != std::string::npos);
  CHECK(fields.find("Status: 5.1.1") != std::string::npos);
  CHECK(fields.find("Remote-MTA: dns; smarthost.example") != std::string::npos);
  CHECK(fields.find("Diagnostic-Code: smtp; 550 5.1.1") != std::string::npos);

  GMimeObject* headers = g_mime_multipart_get_part(multipart, 2);
  CHECK(g_mime_content_type_is_type(g_mime_object_get_content_type(headers), "text",
                                    "rfc822-headers"));
  const std::string hdrs = to_string(headers);
  // Identifying fields only: the subject (a diagnosis, often) stays out.
  CHECK(hdrs.find("Message-ID: <m1@praxis.example>") != std::string::npos);
  CHECK(hdrs.find("To: patient@example.org") != std::string::npos);
  CHECK(hdrs.find("Befund") == std::string::npos);
  CHECK(hdrs.find("SECRET-BODY") == std::string::npos);

  CHECK(std::string(g_mime_object_get_header(GMIME_OBJECT(msg.get()), "To")) ==
        "<arzt@praxis.example>");
  CHECK(std::string(g_mime_object_get_header(GMIME_OBJECT(msg.get()), "Auto-Submitted")) ==
        "auto-replied");
}

TEST_CASE("DSNs respect NOTIFY and never answer a null sender") {
  CHECK_FALSE(compose_failure_dsn(original(), {failed("a@x.example", "NEVER")}, kMessage, kCtx));
  CHECK_FALSE(compose_failure_dsn(original(), {failed("a@x.example", "DELAY")}, kMessage, kCtx));
  CHECK(compose_failure_dsn(original(), {failed("a@x.example", "FAILURE,DELAY")}, kMessage, kCtx));
  CHECK(compose_failure_dsn(original(), {failed("a@x.example", "")}, kMessage, kCtx));
  auto null_sender = original();
  null_sender.mail_from = "";
  CHECK_FALSE(compose_failure_dsn(null_sender, {failed("a@x.example")}, kMessage, kCtx));
  auto bounce = original();
  bounce.kind = "dsn";
  CHECK_FALSE(compose_failure_dsn(bounce, {failed("a@x.example")}, kMessage, kCtx));

  // Only the recipients that asked for it are reported.
  auto dsn = compose_failure_dsn(
      original(), {failed("yes@x.example"), failed("no@x.example", "NEVER")}, kMessage, kCtx);
  REQUIRE(dsn);
  CHECK(dsn->find("Final-Recipient: rfc822; yes@x.example") != std::string::npos);
  CHECK(dsn->find("no@x.example") == std::string::npos);
}

TEST_CASE("a remote reply cannot inject header lines into the DSN") {
  auto f = failed("a@x.example");
  f.diagnostic = "550 bad\r\nBcc: victim@example.com";
  auto dsn = compose_failure_dsn(original(), {f}, kMessage, kCtx);
  REQUIRE(dsn);
  CHECK(dsn->find("\r\nBcc:") == std::string::npos);
}

TEST_CASE("header_block stops at the empty line and at the size cap") {
  CHECK(header_block(kMessage).find("SECRET-BODY") == std::string_view::npos);
  CHECK(header_block(kMessage).substr(0, 5) == "From:");
  CHECK(header_block("A: 1\r\nB: 2\r\n", 8) == "A: 1\r\n");
  CHECK(header_block("no newline at all", 5).empty());
}

TEST_CASE("a DSN names the message, never its subject, route or client") {
  const std::string in =
      "Received: from WS-042.praxis.local (192.168.10.42)\r\n\tby mail.praxis.local\r\n"
      "From: Dr. Arzt <arzt@praxis.example>\r\n"
      "To: a@example.org,\r\n  b@example.org\r\n"
      "Bcc: hidden@example.org\r\n"
      "subject: HIV-Test positiv\r\n\tFolgeseite\r\n"
      "X-Originating-IP: [192.168.10.42]\r\n"
      "X-Mailer: Outlook\r\n"
      "message-id: <m1@praxis.example>\r\n"
      "Date: Thu, 26 Nov 2026 10:00:00 +0100\r\n";
  const std::string out = identifying_headers(in);
  CHECK(out ==
        "From: Dr. Arzt <arzt@praxis.example>\r\nTo: a@example.org,\r\n  b@example.org\r\n"
        "message-id: <m1@praxis.example>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0100\r\n");
  CHECK(identifying_headers("").empty());
  CHECK(identifying_headers("From: a@b\nSubject: x\n\nbody\nTo: c@d\n") == "From: a@b\r\n");
}
