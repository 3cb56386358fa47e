// MeteredAuditSink (delivery events -> counters, accepted -> delivered latency)
// and QueueWatcher (spool scan -> queue size and age of the oldest message).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>

#include "relay/metered_audit_sink.h"
#include "relay/queue_watcher.h"
#include "relay/spool/file_spool.h"

using namespace sealpost;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/sealpost-qwatch-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

AuditEvent delivery(const std::string& id, const std::string& method, const std::string& result,
                    const std::string& status = "2.0.0") {
  return AuditEvent{"delivery",
                    {{"queue_id", id},
                     {"recipient", "a@b.example"},
                     {"method", method},
                     {"result", result},
                     {"status", status}}};
}

std::string commit(Spool& spool, std::int64_t arrival) {
  auto w = spool.begin();
  REQUIRE(w.ok());
  REQUIRE((*w)->write("Subject: x\r\n\r\nbody\r\n").ok());
  SpoolEnvelope env;
  env.mail_from = "a@praxis.example";
  env.arrival = arrival;
  SpoolRecipient r;
  r.address = "b@example.org";
  env.rcpts.push_back(r);
  auto id = (*w)->commit(env);
  REQUIRE(id.ok());
  return *id;
}

}  // namespace

TEST_CASE("metered sink: counters follow the audit events, latency from acceptance") {
  metrics::Registry registry;
  metrics::RelayMetrics m(registry);
  NullAuditSink inner;
  int spool_lookups = 0;
  AcceptanceTimes arrivals([&](const std::string& id) -> std::optional<double> {
    ++spool_lookups;
    if (id == "FROM-SPOOL") return unix_now_seconds() - 120;  // accepted before a restart
    return std::nullopt;
  });
  MeteredAuditSink sink(inner, m, &arrivals);

  arrivals.accepted("FRESH", unix_now_seconds() - 2);
  sink.record(delivery("FRESH", "plain", "delivered"));
  CHECK(m.delivery_latency.count() == 1);
  CHECK(m.delivery_latency.sum() >= 2.0);
  CHECK(m.delivery_latency.sum() < 60.0);
  CHECK(spool_lookups == 0);

  sink.record(delivery("FROM-SPOOL", "pgp", "delivered"));
  CHECK(m.delivery_latency.count() == 2);
  CHECK(m.delivery_latency.sum() >= 122.0);
  CHECK(spool_lookups == 1);

  sink.record(delivery("UNKNOWN", "pgp", "delivered"));  // no arrival known: not observed
  sink.record(delivery("DSN1", "dsn", "delivered"));     // our own bounce: not observed
  CHECK(m.delivery_latency.count() == 2);
  CHECK(m.delivered("pgp").value() == 2);
  CHECK(m.delivered("dsn").value() == 1);

  sink.record(delivery("X", "plain", "deferred", "4.4.1"));
  sink.record(delivery("X", "plain", "deferred", "4.7.5"));
  sink.record(delivery("Y", "plain", "failed", "5.1.1"));
  sink.record(delivery("Z", "plain", "expired", "4.4.7"));
  CHECK(m.deferrals.value() == 2);
  CHECK(m.tls_failures.value() == 1);
  CHECK(m.bounces.value() == 2);
}

TEST_CASE("acceptance times stay bounded, forgetting the oldest first") {
  AcceptanceTimes arrivals({}, 2);
  arrivals.accepted("A", 1.0);
  arrivals.accepted("B", 2.0);
  arrivals.accepted("C", 3.0);
  CHECK_FALSE(arrivals.arrival("A").has_value());
  CHECK(arrivals.arrival("B") == 2.0);
  CHECK(arrivals.arrival("C") == 3.0);
}

TEST_CASE("queue watcher: size and age of the oldest message, on its own thread") {
  TempDir dir;
  auto spool = spool::FileSpool::open(dir.path);
  REQUIRE(spool.ok());
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  CHECK(sample_queue(**spool).size == 0);
  CHECK_FALSE(sample_queue(**spool).oldest_arrival.has_value());
  commit(**spool, now - 30);
  const std::string oldest = commit(**spool, now - 600);
  commit(**spool, now);
  const QueueSample s = sample_queue(**spool);
  CHECK(s.size == 3);
  CHECK(s.oldest_arrival == now - 600);

  metrics::Registry registry;
  metrics::RelayMetrics m(registry);
  {
    QueueWatcher watcher(**spool, m, std::chrono::seconds(3600));
    watcher.start();  // the first scan runs at once
    for (int i = 0; i < 200 && m.queue_size.value() != 3; ++i) usleep(10000);
    watcher.stop();
  }
  CHECK(m.queue_size.value() == 3);
  CHECK(m.queue_oldest_seconds.value() >= 600);
  CHECK(m.queue_oldest_seconds.value() < 700);
  REQUIRE((*spool)->remove(oldest).ok());
  CHECK(sample_queue(**spool).oldest_arrival == now - 30);
}
