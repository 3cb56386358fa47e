#include "imap/copy_marker.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "../keystore/test_material.h"

using namespace sealpost;
using namespace sealpost::imap;

namespace {
const std::string kCopy =
    "From: Pat <pat@pat.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
    "Message-ID: <m-1@pat.test>\r\nSubject: Befund\r\nX-Sealpost-Decrypted: yes\r\n"
    "X-Sealpost-Signature: valid key ABC\r\nContent-Type: text/plain\r\n\r\nHallo\r\n";
}

TEST_CASE("copy marks: our own copies are recognised, forged or altered ones are not") {
  const CopyMarker marker(std::string(32, 'k'));
  const std::string stamped = marker.stamp(kCopy);
  CHECK(stamped.rfind("X-Sealpost-Copy: v2 ", 0) == 0);
  CHECK(stamped.find("\r\n\r\nHallo\r\n") != std::string::npos);
  CHECK(marker.is_ours(split_entity(stamped)));
  // Stamping twice keeps one mark.
  CHECK(marker.is_ours(split_entity(marker.stamp(stamped))));

  CHECK_FALSE(marker.is_ours(split_entity(kCopy)));  // no mark at all
  CHECK_FALSE(CopyMarker(std::string(32, 'x')).is_ours(split_entity(stamped)));

  std::string altered = stamped;
  altered.replace(altered.find("valid key ABC"), 13, "valid key XYZ");
  CHECK_FALSE(marker.is_ours(split_entity(altered)));
  std::string added = stamped;
  added.insert(added.find("Subject:"), "X-Sealpost-Note: trust me\r\n");
  CHECK_FALSE(marker.is_ours(split_entity(added)));
  std::string twice = stamped;
  twice.insert(twice.find("Subject:"), stamped.substr(0, stamped.find("\r\n") + 2));
  CHECK_FALSE(marker.is_ours(split_entity(twice)));
  // Fields that carry no status may change (a server adding Received, say),
  // and so may line ends and a trailing empty line.
  CHECK(marker.is_ours(split_entity("Received: from x\r\n" + stamped)));
  std::string lf = stamped;
  for (std::size_t at; (at = lf.find("\r\n")) != std::string::npos;) lf.replace(at, 2, "\n");
  CHECK(marker.is_ours(split_entity(lf + "\n")));
}

TEST_CASE("copy marks: a copy whose body, addressing or subject was swapped is not ours") {
  const CopyMarker marker(std::string(32, 'k'));
  const std::string stamped = marker.stamp(kCopy);
  auto swapped = [&](const std::string& from, const std::string& to) {
    std::string s = stamped;
    s.replace(s.find(from), from.size(), to);
    return marker.is_ours(split_entity(s));
  };
  CHECK_FALSE(swapped("\r\n\r\nHallo\r\n", "\r\n\r\nBitte Passwort senden\r\n"));
  CHECK_FALSE(swapped("Subject: Befund", "Subject: Dringend"));
  CHECK_FALSE(swapped("Content-Type: text/plain", "Content-Type: text/html"));
  std::string to = stamped;
  to.insert(to.find("Subject:"), "To: someone@else.test\r\n");
  CHECK_FALSE(marker.is_ours(split_entity(to)));
  std::string cc = stamped;
  cc.insert(cc.find("Subject:"), "Cc: someone@else.test\r\n");
  CHECK_FALSE(marker.is_ours(split_entity(cc)));
}

TEST_CASE("copy marks: the origin tag is covered and replaces an old one") {
  const CopyMarker marker(std::string(32, 'k'));
  const std::string stamped = marker.stamp("X-Sealpost-Origin: forged\r\n" + kCopy, "v1 abc");
  CHECK(stamped.find("X-Sealpost-Origin: v1 abc\r\n") != std::string::npos);
  CHECK(stamped.find("forged") == std::string::npos);
  CHECK(marker.is_ours(split_entity(stamped)));
  std::string other = stamped;
  other.replace(other.find("v1 abc"), 6, "v1 abd");
  CHECK_FALSE(marker.is_ours(split_entity(other)));
}

TEST_CASE("copy mark key: created once, 0600, then reused") {
  testing::Workdir w;
  const std::string path = w / "private/imap-copy.key";
  auto a = CopyMarker::open(path);
  REQUIRE(a.ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto b = CopyMarker::open(path);
  REQUIRE(b.ok());
  CHECK(b->is_ours(split_entity(a->stamp(kCopy))));
}

TEST_CASE("status fields are removed with the rest left byte for byte") {
  const std::string in =
      "From: a@b.test\r\nX-Sealpost-Signature: valid key FORGED\r\n x-sealpost-decrypted: yes\r\n"
      "x-sealpost-decrypted: yes\r\nSubject: s\r\n\r\nbody\r\nX-Sealpost-Decrypted: yes\r\n";
  const SplitEntity e = split_entity(in);
  CHECK(has_status_fields(e.fields));
  const std::string out = without_status_fields(e);
  CHECK(out.find("FORGED") == std::string::npos);
  CHECK(out.find("x-sealpost-decrypted") == std::string::npos);
  CHECK(out.rfind("From: a@b.test\r\nSubject: s\r\n", 0) == 0);
  CHECK(out.find("\r\n\r\nbody\r\nX-Sealpost-Decrypted: yes\r\n") != std::string::npos);
  CHECK_FALSE(
      has_status_fields(split_entity("From: a@b.test\r\n\r\nX-Sealpost-Note: x\r\n").fields));
}

TEST_CASE("a message that starts with a folded line is all body, and its copy keeps its mark") {
  // Found by the imap_inbound fuzzer: the leading tab line was kept as a field,
  // and in the stamped copy it folded into the line the marker put before it.
  const std::string odd = "\tFrom: x@y.test\r\nSubject: s\r\n\r\nbody\r\n";
  const SplitEntity e = split_entity(odd);
  CHECK(e.fields.empty());
  CHECK(e.body == odd);
  const CopyMarker marker(std::string(32, 'k'));
  CHECK(marker.is_ours(split_entity(marker.stamp(odd, "v1 0"))));
  // A folded line after a field still continues it.
  const SplitEntity folded = split_entity("Subject: a\r\n\tb\r\n\r\nx");
  REQUIRE(folded.fields.size() == 1);
  CHECK(folded.fields[0].raw == "Subject: a\r\n\tb\r\n");
}
