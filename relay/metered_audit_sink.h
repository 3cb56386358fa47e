// Forwards every audit event to the real audit log and counts the ones the
// Prometheus metrics care about. Metrics follow from what is audited, so the
// two can never disagree, and delivery/seal need not know about metrics.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "audit/audit_sink.h"
#include "metrics/relay_metrics.h"

namespace sealpost {

// When each message was accepted (unix seconds), for the latency histogram.
// Messages this process accepted are remembered to the millisecond (bounded:
// the oldest entries are forgotten first); for the others (accepted before a
// restart, or forgotten) `from_spool` reads the envelope's arrival second.
class AcceptanceTimes {
 public:
  using SpoolLookup = std::function<std::optional<double>(const std::string& queue_id)>;
  explicit AcceptanceTimes(SpoolLookup from_spool, std::size_t capacity = 65536)
      : from_spool_(std::move(from_spool)), capacity_(capacity) {}

  void accepted(const std::string& queue_id, double unix_seconds);
  std::optional<double> arrival(const std::string& queue_id);

 private:
  SpoolLookup from_spool_;
  const std::size_t capacity_;
  std::mutex mu_;
  std::map<std::string, double> times_;
  std::deque<std::string> order_;  // insertion order, for the bound
};

class MeteredAuditSink final : public AuditSink {
 public:
  // `arrivals` may be null: then no latency is observed.
  MeteredAuditSink(AuditSink& inner, metrics::RelayMetrics& metrics,
                   AcceptanceTimes* arrivals = nullptr)
      : inner_(inner), metrics_(metrics), arrivals_(arrivals) {}
  void record(const AuditEvent& event) override;
  void record_later(const AuditEvent& event) override;
  void sync() override { inner_.sync(); }
  bool healthy() const override { return inner_.healthy(); }

 private:
  void count(const AuditEvent& event);
  AuditSink& inner_;
  metrics::RelayMetrics& metrics_;
  AcceptanceTimes* arrivals_;
};

double unix_now_seconds();

}  // namespace sealpost
