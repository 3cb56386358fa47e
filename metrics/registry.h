// A tiny metrics registry: counters, gauges and histograms, optionally with
// labels, rendered in the Prometheus text exposition format (version 0.0.4).
//
// Updates are single relaxed atomic operations (the per-message path stays
// lean); only registration and rendering take the registry mutex. Label values
// come from callers' fixed vocabularies (methods, event names), never from
// addresses or other unbounded input, so the series count stays small.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sealpost::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // sorted, without +Inf
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then the +Inf count (== count()).
  std::vector<std::uint64_t> cumulative() const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bound, not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// One label pair at most: every Sealpost metric needs zero or one label.
struct Label {
  std::string name;
  std::string value;
};

class Registry {
 public:
  // Returns the same object for the same name and label; references stay valid
  // for the registry's lifetime. Names must match [a-z_][a-z0-9_]*.
  Counter& counter(std::string_view name, std::string_view help, const Label& label = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Label& label = {});
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds);

  std::string render() const;

 private:
  enum class Kind { Counter, Gauge, Histogram };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered label
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::unique_ptr<Histogram> histogram;
  };
  Family& family(std::string_view name, std::string_view help, Kind kind);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

// Formats a double the way Prometheus expects (+Inf, integers without ".0").
std::string format_value(double v);

}  // namespace sealpost::metrics
