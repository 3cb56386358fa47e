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
  // Returns once the event is durable.
  virtual void record(const AuditEvent& event) = 0;
  // Takes its place in the chain now, durable with the next record() or sync():
  // for a step that has several events and one point after which they must have
  // been written (a delivery attempt syncs before it changes the spool), so the
  // step pays one flush instead of one per event.
  virtual void record_later(const AuditEvent& event) { record(event); }
  // Makes every event recorded so far durable.
  virtual void sync() {}
  // False while events cannot be written (disk full): work that must be
  // audited waits rather than happen unrecorded.
  virtual bool healthy() const { return true; }
};

// Discards events (unit tests, tools that do not audit).
class NullAuditSink final : public AuditSink {
 public:
  void record(const AuditEvent&) override {}
};

}  // namespace sealpost
