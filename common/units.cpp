#include "common/units.h"

#include <charconv>
#include <limits>
#include <string>

namespace sealpost {
namespace {

// Splits "50MiB" into 50 and "MiB"; rejects empty numbers and overflow.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || ptr == s.data()) return std::nullopt;
  std::string_view unit(ptr, static_cast<std::size_t>(s.data() + s.size() - ptr));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return std::pair{n, unit};
}

std::optional<std::uint64_t> mul(std::uint64_t a, std::uint64_t b) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) return std::nullopt;
  return a * b;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view s) {
  auto parts = split_number(s);
  if (!parts) return std::nullopt;
  auto [n, unit] = *parts;
  std::string u(unit);
  for (auto& c : u) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::uint64_t f = 0;
  if (u.empty() || u == "b")
    f = 1;
  else if (u == "k" || u == "kb")
    f = 1000;
  else if (u == "kib")
    f = 1024;
  else if (u == "m" || u == "mb")
    f = 1000 * 1000;
  else if (u == "mib")
    f = 1024 * 1024;
  else if (u == "g" || u == "gb")
    f = 1000ull * 1000 * 1000;
  else if (u == "gib")
    f = 1024ull * 1024 * 1024;
  else
    return std::nullopt;
  return mul(n, f);
}

std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
  auto parts = split_number(s);
  if (!parts) return std::nullopt;
  auto [n, unit] = *parts;
  std::uint64_t f = 0;
  if (unit.empty() || unit == "s")
    f = 1;
  else if (unit == "m" || unit == "min")
    f = 60;
  else if (unit == "h")
    f = 3600;
  else if (unit == "d")
    f = 86400;
  else if (unit == "w")
    f = 7 * 86400;
  else
    return std::nullopt;
  auto v = mul(n, f);
  if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return std::nullopt;
  return std::chrono::seconds(static_cast<std::int64_t>(*v));
}

}  // namespace sealpost
