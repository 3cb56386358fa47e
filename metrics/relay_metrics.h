// The metrics Sealpost exports, by name. The daemon increments them where the
// events happen; the names and labels are a contract with dashboards and
// alerts (docs/admin-guide.md lists them), so they change only deliberately.
#pragma once

#include <string_view>

#include "metrics/registry.h"

namespace sealpost::metrics {

class RelayMetrics {
 public:
  explicit RelayMetrics(Registry& registry);

  Counter& messages_received;   // sealpost_messages_received_total
  Counter& deferrals;           // sealpost_deferrals_total
  Counter& bounces;             // sealpost_bounces_total
  Counter& tls_failures;        // sealpost_tls_failures_total
  Gauge& queue_size;            // sealpost_queue_size
  Gauge& queue_oldest_seconds;  // sealpost_queue_oldest_seconds (by envelope arrival)
  Histogram& delivery_latency;  // sealpost_delivery_latency_seconds (accepted -> delivered)
  // (The daemon sets the queue gauges from relay/queue_watcher.h, the rest
  // from relay/metered_audit_sink.h and the SMTP listeners' TLS failures.)

  // sealpost_messages_delivered_total{method}: pgp, smime, pickup, plain, dsn;
  // anything else counts as "other" (keeps label values bounded).
  Counter& delivered(std::string_view method);
  // sealpost_pickups_total{event}: created, opened, failed, downloaded,
  // replied, expired, revoked; anything else counts as "other".
  Counter& pickup(std::string_view event);

 private:
  static constexpr std::string_view kMethods[] = {"pgp",   "smime", "pickup",
                                                  "plain", "dsn",   "other"};
  static constexpr std::string_view kPickupEvents[] = {
      "created", "opened", "failed", "downloaded", "replied", "expired", "revoked", "other"};
  Counter* delivered_[std::size(kMethods)];
  Counter* pickups_[std::size(kPickupEvents)];
};

// The process-wide registry and metrics (what the /metrics endpoint serves).
Registry& default_registry();
RelayMetrics& relay_metrics();

}  // namespace sealpost::metrics
