#include "portal/notice.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "embed_fixture.h"
#include "portal/notice_defaults.h"
#include "tests/unit/portal/temp_dir.h"

using namespace sealpost::pickup;

namespace {

NoticeParams params() {
  NoticeParams p;
  p.from_address = "noreply@praxis.example";
  p.to_address = "patient@example.org";
  p.practice_name = "Praxis Dr. Müller";
  p.link = "https://pickup.praxis.example/p/abcdefghijklmnopqrstuvwxyz/SECRETSECRET";
  p.expires_at = 1'700'000'000;
  p.auth_method = "sms";
  p.templates_dir = SEALPOST_TEMPLATES_DIR;
  p.now = 1'699'000'000;
  return p;
}

std::string decoded_body(const std::string& msg) {
  auto start = msg.find("\r\n\r\n");
  REQUIRE(start != std::string::npos);
  std::string b64;
  for (char c : msg.substr(start + 4))
    if (c != '\r' && c != '\n') b64 += c;
  std::string out(b64.size(), '\0');
  size_t len = 0;
  REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(),
                            b64.size(), nullptr, &len, nullptr,
                            sodium_base64_VARIANT_ORIGINAL) == 0);
  out.resize(len);
  return out;
}

std::string headers(const std::string& msg) {
  return msg.substr(0, msg.find("\r\n\r\n") + 2);
}

}  // namespace

TEST_CASE("the notice names practice, link, expiry and method in both languages") {
  auto m = compose_notice(params());
  REQUIRE(m);
  const std::string body = decoded_body(*m);
  CHECK(body.find(params().link) != std::string::npos);
  CHECK(body.find("Praxis Dr. Müller") != std::string::npos);
  CHECK(body.find("14.11.2023") != std::string::npos);  // de expiry
  CHECK(body.find("2023-11-14") != std::string::npos);  // en expiry
  CHECK(body.find("SMS") != std::string::npos);
  CHECK(body.find("text message") != std::string::npos);
  CHECK(body.find("Kennwort, das Sie mit uns vereinbart") ==
        std::string::npos);  // other methods cut
  const std::string h = headers(*m);
  CHECK(h.find("Subject: =?UTF-8?B?") != std::string::npos);  // non-ASCII practice name encoded
  CHECK(h.find("To: <patient@example.org>\r\n") != std::string::npos);
  for (std::size_t i = 0; i < m->size(); ++i) {
    if ((*m)[i] == '\n') CHECK((i > 0 && (*m)[i - 1] == '\r'));
    CHECK(static_cast<unsigned char>((*m)[i]) < 0x80);  // 7-bit clean on the wire
  }
}

TEST_CASE("header injection through any substituted value is refused") {
  for (auto mutate : std::initializer_list<void (*)(NoticeParams&)>{
           [](NoticeParams& p) { p.to_address = "a@b.example\r\nBcc: evil@x.example"; },
           [](NoticeParams& p) { p.to_address = "a@b.example>, <evil@x.example"; },
           [](NoticeParams& p) { p.from_address = "noreply@praxis.example\nX: y"; },
           [](NoticeParams& p) { p.practice_name = "Praxis\r\nBcc: evil@x.example"; },
           [](NoticeParams& p) { p.link = "https://x.example/\r\nBcc: evil@x.example"; },
           [](NoticeParams& p) { p.link = "javascript:alert(1)"; },
           [](NoticeParams& p) { p.auth_method = "sms\r\nX: y"; },
           [](NoticeParams& p) { p.languages = {"../../etc/passwd"}; },
       }) {
    NoticeParams p = params();
    mutate(p);
    CHECK_FALSE(compose_notice(p));
  }
}

TEST_CASE("a template cannot pull message data into the notice") {
  // The only placeholders are practice_name, link and expires: an admin's
  // template asking for the subject, a filename or the sender is refused,
  // not filled or silently dropped.
  for (const char* placeholder : {"{{subject}}", "{{filename}}", "{{sender}}", "{{body}}"}) {
    TempDir t;
    for (const char* lang : {"de", "en"}) {
      std::ofstream(t.path / (std::string("notice.") + lang + ".txt"))
          << "Subject: Nachricht\n\nBetreff: " << placeholder << "\n{{link}}\n";
    }
    NoticeParams p = params();
    p.templates_dir = t.path.string();
    auto m = compose_notice(p);
    CHECK_FALSE(m);
    if (!m) CHECK(m.error().what().find("unknown placeholder") != std::string::npos);
  }
}

namespace {

// Words (runs of letters and digits, UTF-8 bytes kept together) of a text.
std::set<std::string> words(std::string_view text) {
  std::set<std::string> out;
  std::string w;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c >= 0x80) {
      w += ch;
    } else if (!w.empty()) {
      out.insert(w);
      w.clear();
    }
  }
  if (!w.empty()) out.insert(w);
  return out;
}

std::string slurp_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("every word of the notice comes from the templates or the given values") {
  for (const char* method : {"sms", "passphrase", "code-to-sender"}) {
    NoticeParams p = params();
    p.auth_method = method;
    auto m = compose_notice(p);
    REQUIRE(m);
    std::set<std::string> allowed;
    for (const char* lang : {"de", "en"})
      for (const auto& w : words(slurp_file(std::filesystem::path(SEALPOST_TEMPLATES_DIR) /
                                            (std::string("notice.") + lang + ".txt"))))
        allowed.insert(w);
    for (const std::string& value : {p.practice_name, p.link, std::string("14.11.2023, 22:13 UTC"),
                                     std::string("2023-11-14 22:13 UTC")})
      for (const auto& w : words(value)) allowed.insert(w);
    const std::string body = decoded_body(*m);
    REQUIRE(body.find(p.link) != std::string::npos);  // the check reads the real text
    std::vector<std::string> foreign;
    for (const auto& w : words(body))
      if (!allowed.count(w)) foreign.push_back(w);
    INFO(method);
    CHECK(foreign.empty());
  }
}

TEST_CASE("encoded words stay short and split on character boundaries") {
  const std::string text = "Ärztehaus Süd – Gemeinschaftspraxis für Allgemeinmedizin und Innere";
  const std::string enc = encode_header_text(text);
  std::size_t pos = 0;
  std::string joined;
  while ((pos = enc.find("=?UTF-8?B?", pos)) != std::string::npos) {
    auto end = enc.find("?=", pos);
    REQUIRE(end != std::string::npos);
    CHECK(end + 2 - pos <= 75);
    std::string b64 = enc.substr(pos + 10, end - pos - 10);
    std::string out(b64.size(), '\0');
    size_t len = 0;
    REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(),
                              b64.size(), nullptr, &len, nullptr,
                              sodium_base64_VARIANT_ORIGINAL) == 0);
    out.resize(len);
    unsigned char last = static_cast<unsigned char>(out.back());
    CHECK((last < 0x80 || (last & 0xC0) == 0x80));
    joined += out;
    pos = end;
  }
  CHECK(joined == text);
  CHECK(encode_header_text("Plain ASCII") == "Plain ASCII");
}

namespace {
std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("the compiled-in notice templates are the shipped files, byte for byte") {
  const std::filesystem::path dir = SEALPOST_TEMPLATES_DIR;
  CHECK(std::string(sealpost::pickup::defaults::kNoticeDe) == file_bytes(dir / "notice.de.txt"));
  CHECK(std::string(sealpost::pickup::defaults::kNoticeEn) == file_bytes(dir / "notice.en.txt"));
}

TEST_CASE("embedding keeps @VAR@, a raw-string end, NUL and high bytes exactly") {
  const std::string want = file_bytes(SEALPOST_EMBED_FIXTURE);
  REQUIRE(want.find('\0') != std::string::npos);
  REQUIRE(want.find("@NOTICE_DE@") != std::string::npos);
  REQUIRE(want.find(")sp_tmpl\"") != std::string::npos);
  CHECK(std::string(sealpost::test::kFixture) == want);
}
