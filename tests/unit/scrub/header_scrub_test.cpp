#include "seal/scrub/header_scrub.h"

#include <catch2/catch.hpp>

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
