// Where modules report auditable events (one per recipient decision and outcome,
// pickup access, scrub summary). Events carry no content and no subject.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sealpost {

struct AuditEvent {
  std::string type;  // e.g. "decision", "delivery", "scrub", "pickup.open"
  std::vector<std::pair<std::string, std::string>> fields;
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void record(const AuditEvent& event) = 0;
};

// Discards events (unit tests, tools that do not audit).
class NullAuditSink final : public AuditSink {
 public:
  void record(const AuditEvent&) override {}
};

}  // namespace sealpost
