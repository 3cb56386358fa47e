// sealpostd: the relay daemon. Runs in the foreground and logs to stderr.
#include <cstdio>
#include <initializer_list>
#include <string_view>

#include "relay/daemon.h"

namespace {

int usage(FILE* out, int code) {
  (void)std::fputs(
      "usage: sealpostd [-c FILE] [--user NAME] [--log-format text|json]\n"
      "                 [--log-level debug|info|warn|error]\n",
      out);
  return code;
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed)
    if (v == a) return true;
  return false;
}

int bad_value(const char* option, const char* value, const char* allowed) {
  (void)std::fprintf(stderr, "sealpostd: %s: '%s' is not %s\n", option, value, allowed);
  return usage(stderr, 2);
}

}  // namespace

int main(int argc, char** argv) {
  sealpost::DaemonOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        (void)std::fprintf(stderr, "sealpostd: %s needs a value\n", name);
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "-c" || a == "--config") {
      const char* v = value("-c");
      if (!v) return 2;
      opts.config_path = v;
    } else if (a == "--log-format") {
      const char* v = value("--log-format");
      if (!v) return 2;
      if (!one_of(v, {"text", "json"})) return bad_value("--log-format", v, "text or json");
      opts.log_format = v;
    } else if (a == "--log-level") {
      // Checked here: a typo must not quietly fall back to info.
      const char* v = value("--log-level");
      if (!v) return 2;
      if (!one_of(v, {"debug", "info", "warn", "error"}))
        return bad_value("--log-level", v, "debug, info, warn or error");
      opts.log_level = v;
    } else if (a == "--user") {
      const char* v = value("--user");
      if (!v) return 2;
      opts.user = v;
    } else if (a == "-h" || a == "--help") {
      return usage(stdout, 0);
    } else {
      (void)std::fprintf(stderr, "sealpostd: unknown argument '%s'\n", argv[i]);
      return usage(stderr, 2);
    }
  }
  return sealpost::run_daemon(opts);
}
