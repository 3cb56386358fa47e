// sealpostd: the relay daemon. Runs in the foreground and logs to stderr.
#include <malloc.h>

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

// glibc's defaults trim a thread arena's free top with madvise(MADV_DONTNEED) as
// soon as 128 KiB are free, and serve blocks of 128 KiB and more by mmap (raising
// both limits only after freeing a large mmapped block). A relay worker
// allocates and frees the same buffers for every message, so it paid for both
// over and over: each trim is a TLB shootdown on every core and the next message
// faults the pages back in. Fixed at glibc's own upper limits instead (32 MiB
// mmap threshold, 64 MiB trim threshold, reached by its dynamic rule anyway once
// a large block was freed), perf on a tmpfs state dir measured sealpostd's CPU
// for plain 50 KB mail at about half and for S/MIME 5 MB at about 45 % of the
// defaults'; a 1 MiB mmap threshold had doubled the 5 MB cost (docs/benchmarks.md).
// Big messages stream in 64 KiB records (docs/architecture.md), so an arena's
// high-water mark, and with it what it may keep, follows limits.message_memory,
// not the message size (the 100 MB run stays ~15 MiB above idle).
void tune_allocator() {
  constexpr int kMmapThreshold = 32 << 20;
  constexpr int kTrimThreshold = 64 << 20;
  (void)mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  (void)mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator();
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
