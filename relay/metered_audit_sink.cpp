#include "relay/metered_audit_sink.h"

#include <string_view>

namespace sealpost {
namespace {

std::string_view field(const AuditEvent& e, std::string_view name) {
  for (const auto& [k, v] : e.fields)
    if (k == name) return v;
  return {};
}

}  // namespace

void MeteredAuditSink::record(const AuditEvent& event) {
  inner_.record(event);
  count(event);
}

void MeteredAuditSink::record_later(const AuditEvent& event) {
  inner_.record_later(event);
  count(event);
}

void MeteredAuditSink::count(const AuditEvent& event) {
  if (event.type == "delivery") {
    const auto result = field(event, "result");
    if (result == "delivered") {
      auto method = field(event, "method");
      // The notice of a pickup counts as a pickup delivery.
      if (method == "pickup-notice") method = "pickup";
      metrics_.delivered(method).inc();
    } else if (result == "deferred") {
      metrics_.deferrals.inc();
      // 4.7.5 comes only from the transport: the smarthost's certificate failed.
      if (field(event, "status") == "4.7.5") metrics_.tls_failures.inc();
    } else if (result == "failed" || result == "expired") {
      metrics_.bounces.inc();
    }
  } else if (event.type.starts_with("pickup.")) {
    metrics_.pickup(event.type == "pickup.deposit" ? "created" : event.type.substr(7)).inc();
  }
}

}  // namespace sealpost
