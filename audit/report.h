// `sealpost audit report`: what happened between two days, from the audit log
// alone (docs/audit.md): decisions per method and per recipient domain (the
// last decision per message and recipient), delivery outcomes per method,
// every plaintext send with the policy rule that allowed it -- those that
// were delivered apart from those decided but not (yet) delivered --, every
// failed and every held delivery, and pickups per event kind counted once per
// pickup. Records that fail their hash are counted, not used.
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
  // The last delivery result for this message and recipient in the period:
  // delivered, deferred, failed, expired, held, or "" (none recorded).
  std::string result;
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
  std::vector<PlaintextSend> plaintext;                // decided plain and delivered
  std::vector<PlaintextSend> plaintext_not_delivered;  // decided plain, not delivered (result)
  std::vector<FailedDelivery> failures;                // failed or expired
  std::vector<FailedDelivery> held;                    // held for the admin (queue release)
  // "opened", "expired", ...: distinct pickups per kind (a link visited five
  // times is one pickup opened); a purge adds its count.
  std::map<std::string, std::uint64_t> pickups;
  std::map<std::string, std::uint64_t> pickup_events;  // every event as written (each visit)
};

// Reads every chain directory given (missing ones are skipped).
Report build_report(const std::vector<std::filesystem::path>& dirs, const ReportWindow& window);

std::string render_markdown(const Report& r);
std::string render_csv(const Report& r);
std::string render_json(const Report& r);

}  // namespace sealpost::audit
