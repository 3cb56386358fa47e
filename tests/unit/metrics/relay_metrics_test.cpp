#include "metrics/relay_metrics.h"

#include <catch2/catch.hpp>

using namespace sealpost::metrics;

TEST_CASE("every documented Sealpost metric is exported") {
  Registry r;
  RelayMetrics m(r);
  m.messages_received.inc();
  m.delivered("pgp").inc(2);
  m.delivered("carrier-pigeon").inc();  // unknown methods are folded into "other"
  m.pickup("opened").inc();
  m.queue_size.set(7);
  m.delivery_latency.observe(0.3);
  const std::string text = r.render();
  for (const char* name :
       {"sealpost_messages_received_total 1\n",
        "sealpost_messages_delivered_total{method=\"pgp\"} 2\n",
        "sealpost_messages_delivered_total{method=\"other\"} 1\n", "sealpost_deferrals_total 0\n",
        "sealpost_bounces_total 0\n", "sealpost_queue_size 7\n",
        "sealpost_queue_oldest_seconds 0\n", "sealpost_pickups_total{event=\"opened\"} 1\n",
        "sealpost_tls_failures_total 0\n", "sealpost_delivery_latency_seconds_count 1\n",
        "# TYPE sealpost_delivery_latency_seconds histogram\n"})
    CHECK_THAT(text, Catch::Contains(name));
  CHECK(text.find("carrier-pigeon") == std::string::npos);
}
