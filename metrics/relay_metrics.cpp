#include "metrics/relay_metrics.h"

namespace sealpost::metrics {
namespace {

// Seconds from acceptance to the smarthost's 250: most messages leave within a
// second; retries push the tail out to hours.
const std::vector<double> kLatencyBounds = {0.05, 0.1, 0.25, 0.5, 1,    2.5,   5,    10,
                                            30,   60,  300,  900, 3600, 14400, 86400};

}  // namespace

RelayMetrics::RelayMetrics(Registry& r)
    : messages_received(r.counter("sealpost_messages_received_total",
                                  "Messages accepted (250 after DATA) and spooled.")),
      deferrals(r.counter("sealpost_deferrals_total",
                          "Recipient delivery attempts that ended in a temporary failure.")),
      bounces(r.counter("sealpost_bounces_total",
                        "Recipients that failed permanently and were bounced (DSN).")),
      tls_failures(
          r.counter("sealpost_tls_failures_total",
                    "TLS handshakes or certificate checks that failed, inbound or outbound.")),
      queue_size(r.gauge("sealpost_queue_size", "Messages currently in the spool.")),
      queue_oldest_seconds(r.gauge("sealpost_queue_oldest_seconds",
                                   "Age of the oldest message in the spool, in seconds.")),
      delivery_latency(r.histogram("sealpost_delivery_latency_seconds",
                                   "Time from acceptance to delivery per recipient.",
                                   kLatencyBounds)) {
  for (std::size_t i = 0; i < std::size(kMethods); ++i)
    delivered_[i] = &r.counter("sealpost_messages_delivered_total",
                               "Recipients delivered to the smarthost, by protection method.",
                               Label{"method", std::string(kMethods[i])});
  for (std::size_t i = 0; i < std::size(kPickupEvents); ++i)
    pickups_[i] = &r.counter("sealpost_pickups_total", "Pickup portal events, by kind.",
                             Label{"event", std::string(kPickupEvents[i])});
}

Counter& RelayMetrics::delivered(std::string_view method) {
  for (std::size_t i = 0; i + 1 < std::size(kMethods); ++i)
    if (kMethods[i] == method) return *delivered_[i];
  return *delivered_[std::size(kMethods) - 1];
}

Counter& RelayMetrics::pickup(std::string_view event) {
  for (std::size_t i = 0; i + 1 < std::size(kPickupEvents); ++i)
    if (kPickupEvents[i] == event) return *pickups_[i];
  return *pickups_[std::size(kPickupEvents) - 1];
}

Registry& default_registry() {
  static Registry registry;
  return registry;
}

RelayMetrics& relay_metrics() {
  static RelayMetrics metrics(default_registry());
  return metrics;
}

}  // namespace sealpost::metrics
