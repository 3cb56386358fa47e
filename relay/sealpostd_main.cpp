// sealpostd: the relay daemon. Runs in the foreground and logs to stderr.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "relay/daemon.h"

namespace {

int usage(FILE* out, int code) {
  std::fputs(
      "usage: sealpostd [-c FILE] [--user NAME] [--log-format text|json]\n"
      "                 [--log-level debug|info|warn|error]\n",
      out);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  sealpost::DaemonOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sealpostd: %s needs a value\n", name);
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
      if (!v || (std::strcmp(v, "text") != 0 && std::strcmp(v, "json") != 0))
        return usage(stderr, 2);
      opts.log_format = v;
    } else if (a == "--log-level") {
      const char* v = value("--log-level");
      if (!v) return 2;
      opts.log_level = v;
    } else if (a == "--user") {
      const char* v = value("--user");
      if (!v) return 2;
      opts.user = v;
    } else if (a == "-h" || a == "--help") {
      return usage(stdout, 0);
    } else {
      std::fprintf(stderr, "sealpostd: unknown argument '%s'\n", argv[i]);
      return usage(stderr, 2);
    }
  }
  return sealpost::run_daemon(opts);
}
