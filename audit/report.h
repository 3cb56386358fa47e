// `sealpost audit report`: what happened between two days, from the audit log
// alone. Counts are per event as documented in docs/audit.md: decisions per
// method and per recipient domain, delivery outcomes per method, every
// plaintext send with the policy rule that allowed it, every failed delivery,
// and pickup events. Records that fail their hash are counted, not used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace sealpost::audit {

struct ReportWindow {
  std::string from_day;  // "YYYY-MM-DD", inclusive; empty = from the beginning
  std::string to_day;    // inclusive; empty = up to now
};

struct PlaintextSend {
  std::string time, queue_id, recipient, rule;
};

struct FailedDelivery {
  std::string time, queue_id, recipient, method, reply;
};

struct Report {
  ReportWindow window;
  std::uint64_t events = 0;      // records inside the window
  std::uint64_t unreadable = 0;  // lines or files skipped because they failed to read or decode
  std::map<std::string, std::uint64_t> decisions_by_method;
  std::map<std::string, std::uint64_t> decisions_by_domain;
  // "method" -> "result" -> count, from delivery events.
  std::map<std::string, std::map<std::string, std::uint64_t>> deliveries;
  std::vector<PlaintextSend> plaintext;
  std::vector<FailedDelivery> failures;
  std::map<std::string, std::uint64_t> pickups;  // "opened", "expired", ...
};

// Reads every chain directory given (missing ones are skipped).
Report build_report(const std::vector<std::filesystem::path>& dirs, const ReportWindow& window);

std::string render_markdown(const Report& r);
std::string render_csv(const Report& r);
std::string render_json(const Report& r);

}  // namespace sealpost::audit
