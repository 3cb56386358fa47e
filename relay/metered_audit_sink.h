// Forwards every audit event to the real audit log and counts the ones the
// Prometheus metrics care about. Metrics follow from what is audited, so the
// two can never disagree, and delivery/seal need not know about metrics.
#pragma once

#include "audit/audit_sink.h"
#include "metrics/relay_metrics.h"

namespace sealpost {

class MeteredAuditSink final : public AuditSink {
 public:
  MeteredAuditSink(AuditSink& inner, metrics::RelayMetrics& metrics)
      : inner_(inner), metrics_(metrics) {}
  void record(const AuditEvent& event) override;
  void record_later(const AuditEvent& event) override;
  void sync() override { inner_.sync(); }

 private:
  void count(const AuditEvent& event);
  AuditSink& inner_;
  metrics::RelayMetrics& metrics_;
};

}  // namespace sealpost
