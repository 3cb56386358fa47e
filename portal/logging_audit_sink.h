// An AuditSink that writes each event as one structured log line ("audit"
// event), and a tee so sealpost-portal records into its hash-chained audit log
// and shows the same event in its journal.
#pragma once

#include "audit/audit_sink.h"

namespace sealpost::portal {

class LoggingAuditSink final : public AuditSink {
 public:
  void record(const AuditEvent& event) override;
};

class TeeAuditSink final : public AuditSink {
 public:
  TeeAuditSink(AuditSink& first, AuditSink& second) : first_(first), second_(second) {}
  void record(const AuditEvent& event) override {
    first_.record(event);
    second_.record(event);
  }

 private:
  AuditSink& first_;
  AuditSink& second_;
};

}  // namespace sealpost::portal
