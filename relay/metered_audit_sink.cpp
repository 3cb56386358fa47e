#include "relay/metered_audit_sink.h"

#include <algorithm>
#include <chrono>
#include <string_view>

namespace sealpost {
namespace {

std::string_view field(const AuditEvent& e, std::string_view name) {
  for (const auto& [k, v] : e.fields)
    if (k == name) return v;
  return {};
}

}  // namespace

double unix_now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void AcceptanceTimes::accepted(const std::string& queue_id, double unix_seconds) {
  std::lock_guard lock(mu_);
  if (!times_.emplace(queue_id, unix_seconds).second) return;
  order_.push_back(queue_id);
  while (order_.size() > capacity_) {
    times_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<double> AcceptanceTimes::arrival(const std::string& queue_id) {
  {
    std::lock_guard lock(mu_);
    if (auto it = times_.find(queue_id); it != times_.end()) return it->second;
  }
  return from_spool_ ? from_spool_(queue_id) : std::nullopt;
}

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
      // Our own bounces are not mail a user waits for.
      if (arrivals_ != nullptr && method != "dsn") {
        if (auto since = arrivals_->arrival(std::string(field(event, "queue_id"))))
          metrics_.delivery_latency.observe(std::max(0.0, unix_now_seconds() - *since));
      }
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
