// A clock the test moves by hand, for day rotation and retention.
#pragma once

#include <chrono>
#include <memory>

#include "audit/audit_log.h"

namespace sealpost::test {

struct ManualClock {
  std::shared_ptr<audit::Clock::time_point> now = std::make_shared<audit::Clock::time_point>(
      std::chrono::sys_days{std::chrono::year{2026} / 3 / 1} + std::chrono::hours(9));
  void advance(std::chrono::hours h) { *now += h; }
  audit::AuditLogOptions options(std::optional<std::chrono::days> retention = std::nullopt) const {
    audit::AuditLogOptions o;
    o.retention = retention;
    auto p = now;
    o.clock = [p] { return *p; };
    return o;
  }
};

}  // namespace sealpost::test
