#include "portal/logging_audit_sink.h"

#include "common/log.h"

namespace sealpost::portal {

void LoggingAuditSink::record(const AuditEvent& event) {
  std::string fields;
  for (const auto& [k, v] : event.fields) {
    if (!fields.empty()) fields += ' ';
    fields += k + "=" + v;
  }
  log::info("audit", {{"type", event.type}, {"fields", fields}});
}

}  // namespace sealpost::portal
