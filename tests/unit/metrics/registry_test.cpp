#include "metrics/registry.h"

#include <catch2/catch.hpp>
#include <thread>

using namespace sealpost::metrics;

TEST_CASE("counters and gauges render in the exposition format") {
  Registry r;
  r.counter("x_total", "Things.").inc(3);
  r.counter("y_total", "Per kind.", {"kind", "a"}).inc();
  r.counter("y_total", "Per kind.", {"kind", "b\"\\\n"}).inc(2);
  r.gauge("z", "Level.").set(2.5);
  CHECK(r.render() ==
        "# HELP x_total Things.\n# TYPE x_total counter\nx_total 3\n"
        "# HELP y_total Per kind.\n# TYPE y_total counter\ny_total{kind=\"a\"} 1\n"
        "y_total{kind=\"b\\\"\\\\\\n\"} 2\n"
        "# HELP z Level.\n# TYPE z gauge\nz 2.5\n");
}

TEST_CASE("the same name and label give the same counter") {
  Registry r;
  Counter& a = r.counter("c_total", "C.", {"m", "pgp"});
  Counter& b = r.counter("c_total", "C.", {"m", "pgp"});
  CHECK(&a == &b);
  CHECK(&a != &r.counter("c_total", "C.", {"m", "smime"}));
  CHECK_THROWS(r.gauge("c_total", "now a gauge"));
  CHECK_THROWS(r.counter("Bad-Name", "x"));
}

TEST_CASE("histogram buckets are cumulative with +Inf, sum and count") {
  Registry r;
  Histogram& h = r.histogram("lat_seconds", "Latency.", {0.1, 1, 10});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(100);
  CHECK(r.render() ==
        "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n"
        "lat_seconds_bucket{le=\"0.1\"} 2\nlat_seconds_bucket{le=\"1\"} 3\n"
        "lat_seconds_bucket{le=\"10\"} 3\nlat_seconds_bucket{le=\"+Inf\"} 4\n"
        "lat_seconds_sum 100.65\nlat_seconds_count 4\n");
}

TEST_CASE("concurrent increments are not lost") {
  Registry r;
  Counter& c = r.counter("n_total", "N.");
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      for (int k = 0; k < 10000; ++k) c.inc();
    });
  for (auto& t : ts) t.join();
  CHECK(c.value() == 40000);
}
