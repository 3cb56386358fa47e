#include "portal/sms_command.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tests/unit/portal/temp_dir.h"

using namespace sealpost::portal;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::filesystem::path script(const TempDir& t, const std::string& body) {
  auto p = t.path / "send-sms";
  std::ofstream(p) << "#!/bin/sh\n" << body;
  ::chmod(p.c_str(), 0700);
  return p;
}

}  // namespace

TEST_CASE("the code goes to stdin, the number into argv, no shell") {
  TempDir t;
  auto s = script(t, "echo \"$@\" > \"" + (t.path / "argv").string() + "\"\ncat > \"" +
                         (t.path / "stdin").string() + "\"\n");
  REQUIRE(
      run_sms_command(s.string() + " --to {number} --quiet", "+4915112345678", "Code: 12345678"));
  CHECK(slurp(t.path / "argv") == "--to +4915112345678 --quiet\n");
  CHECK(slurp(t.path / "stdin") == "Code: 12345678\n");
}

TEST_CASE("bad numbers, relative commands, failures and hangs are errors") {
  TempDir t;
  auto ok = script(t, "cat >/dev/null\n");
  CHECK_FALSE(run_sms_command(ok.string() + " {number}", "+49; rm -rf /", "x"));
  CHECK_FALSE(run_sms_command(ok.string() + " {number}", "123", "x"));
  CHECK_FALSE(run_sms_command("send-sms {number}", "+4915112345678", "x"));
  auto failing = script(t, "exit 3\n");
  CHECK_FALSE(run_sms_command(failing.string(), "+4915112345678", "x"));
  auto hanging = script(t, "exec sleep 30\n");
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(run_sms_command(hanging.string(), "+4915112345678", "x", std::chrono::seconds(1)));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}
