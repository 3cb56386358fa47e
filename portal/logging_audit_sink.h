// An AuditSink that writes each event as one structured log line ("audit"
// event). Used by sealpost-portal until the file-backed audit log is linked.
#pragma once

#include "audit/audit_sink.h"

namespace sealpost::portal {

class LoggingAuditSink final : public AuditSink {
 public:
  void record(const AuditEvent& event) override;
};

}  // namespace sealpost::portal
