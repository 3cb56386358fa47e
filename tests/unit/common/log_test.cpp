// The log line formats (common/log.h): what journald and log shippers get on
// stderr. Hostile values (a HELO name, an address) must not forge a line or
// break the JSON.
#include "common/log.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

using namespace sealpost;

namespace {

// Runs `fn` with stderr (fd 2) sent to a temp file; returns what was written.
template <class Fn>
std::string capture_stderr(Fn fn) {
  char path[] = "/tmp/sealpost-log-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  (void)std::fflush(stderr);
  const int saved = ::dup(2);
  ::dup2(fd, 2);
  fn();
  (void)std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string out;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  ::unlink(path);
  return out;
}

struct RestoreDefaults {
  ~RestoreDefaults() { log::configure(log::Level::Info, log::Format::Text); }
};

}  // namespace

TEST_CASE("JSON lines: fixed keys first, every value a string, hostile bytes escaped") {
  RestoreDefaults restore;
  log::configure(log::Level::Debug, log::Format::Json);
  const std::string out = capture_stderr([] {
    log::info("smtp.helo", {{"helo", "evil\"}\n{\"level\":\"error\\"},
                            {"count", 3},
                            {"ctl", std::string("a\x01\x7f", 3)},
                            {"name", "M\xc3\xbcller"}});
  });
  static const std::regex shape(
      R"(\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"info","event":"smtp\.helo",)"
      R"("helo":"evil\\"\}\\u000a\{\\"level\\":\\"error\\\\","count":"3",)"
      R"("ctl":"a\\u0001\\u007f","name":"M\xc3\xbcller"\}\n)");
  CHECK(std::regex_match(out, shape));
  CHECK(out.find('\n') == out.size() - 1);  // one event, one line
}

TEST_CASE("JSON lines stay valid UTF-8 whatever the value holds") {
  RestoreDefaults restore;
  log::configure(log::Level::Info, log::Format::Json);
  const std::string out = capture_stderr([] {
    log::warn("smtp.helo", {{"helo", std::string("a\xff\xc3(b\xe2\x82", 7)}});
  });
  // Each byte that is not part of a well-formed sequence becomes U+FFFD, as in
  // the audit log: a JSON parser would otherwise refuse the whole line.
  CHECK(out.find(R"("helo":"a\ufffd\ufffd(b\ufffd\ufffd")") != std::string::npos);
}

TEST_CASE("text lines quote and escape values that need it") {
  RestoreDefaults restore;
  log::configure(log::Level::Info, log::Format::Text);
  const std::string out = capture_stderr([] {
    log::info("delivery.attempt", {{"rcpt", "a@b.example"}, {"reply", "250 2.0.0 ok\r\nX: y"}});
  });
  static const std::regex shape(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info delivery\.attempt rcpt=a@b\.example )"
      R"(reply="250 2\.0\.0 ok\\x0d\\x0aX: y"\n)");
  CHECK(std::regex_match(out, shape));
}

TEST_CASE("levels below the configured one are not written") {
  RestoreDefaults restore;
  log::configure(log::Level::Warn, log::Format::Text);
  const std::string out = capture_stderr([] {
    log::debug("a.debug");
    log::info("a.info");
    log::warn("a.warn");
    log::error("a.error");
  });
  CHECK(out.find("a.debug") == std::string::npos);
  CHECK(out.find("a.info") == std::string::npos);
  CHECK(out.find(" warn a.warn\n") != std::string::npos);
  CHECK(out.find(" error a.error\n") != std::string::npos);

  CHECK(log::parse_level("debug", log::Level::Error) == log::Level::Debug);
  CHECK(log::parse_level("warn", log::Level::Error) == log::Level::Warn);
  CHECK(log::parse_level("verbose", log::Level::Error) == log::Level::Error);
}
