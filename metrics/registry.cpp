#include "metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace sealpost::metrics {
namespace {

bool valid_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Label values are escaped per the exposition format (\\, \", \n).
std::string render_label(const Label& l) {
  if (l.name.empty()) return {};
  std::string out = "{" + l.name + "=\"";
  for (char c : l.value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"}";
}

std::string escape_help(std::string_view h) {
  std::string out;
  for (char c : h) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string format_value(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  // Shortest text that reads back as the same double ("0.005", not 0.00500000000000000010).
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size())) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i < bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  if (it != bounds_.end())
    buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1,
                                                                       std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out.push_back(running);
  }
  // +Inf is the total; read after the buckets so it is never below them.
  out.push_back(std::max(running, count()));
  return out;
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, Kind kind) {
  if (!valid_name(name)) throw std::invalid_argument("bad metric name");
  auto it = families_.find(name);
  if (it == families_.end())
    it = families_.emplace(std::string(name), Family{kind, std::string(help), {}, {}, {}}).first;
  if (it->second.kind != kind) throw std::invalid_argument("metric registered with two types");
  return it->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Label& label) {
  if (!label.name.empty() && !valid_name(label.name)) throw std::invalid_argument("bad label");
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Kind::Counter).counters[render_label(label)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Label& label) {
  if (!label.name.empty() && !valid_name(label.name)) throw std::invalid_argument("bad label");
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Kind::Gauge).gauges[render_label(label)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& f = family(name, help, Kind::Histogram);
  if (!f.histogram) f.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *f.histogram;
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    switch (f.kind) {
      case Kind::Counter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [label, c] : f.counters)
          out += name + label + " " + std::to_string(c->value()) + "\n";
        break;
      case Kind::Gauge:
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [label, g] : f.gauges)
          out += name + label + " " + format_value(g->value()) + "\n";
        break;
      case Kind::Histogram: {
        out += "# TYPE " + name + " histogram\n";
        const auto& h = *f.histogram;
        const auto cum = h.cumulative();
        for (std::size_t i = 0; i < h.bounds().size(); ++i)
          out += name + "_bucket{le=\"" + format_value(h.bounds()[i]) + "\"} " +
                 std::to_string(cum[i]) + "\n";
        out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cum.back()) + "\n";
        out += name + "_sum " + format_value(h.sum()) + "\n";
        out += name + "_count " + std::to_string(cum.back()) + "\n";
        break;
      }
    }
  }
  return out;
}

}  // namespace sealpost::metrics
