#include "audit/chain_files.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <system_error>

namespace sealpost::audit {
namespace {

constexpr std::string_view kPrefix = "audit-";
constexpr std::string_view kSuffix = ".jsonl";

std::tm utc(Clock::time_point t) {
  const std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

std::string day_of(Clock::time_point t) {
  const std::tm tm = utc(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

std::string format_time(Clock::time_point t) {
  const std::tm tm = utc(t);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

std::optional<Clock::time_point> parse_time(std::string_view t) {
  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  if (t.size() != 24 || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' ||
      t[23] != 'Z' || !is_valid_day(t.substr(0, 10)))
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const int h = num(11, 2), m = num(14, 2), sec = num(17, 2), ms = num(20, 3);
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60 || ms < 0) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{num(0, 4)},
                                        std::chrono::month{static_cast<unsigned>(num(5, 2))},
                                        std::chrono::day{static_cast<unsigned>(num(8, 2))}};
  return Clock::time_point(std::chrono::sys_days(ymd)) + std::chrono::hours(h) +
         std::chrono::minutes(m) + std::chrono::seconds(sec) + std::chrono::milliseconds(ms);
}

bool is_valid_day(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (d[i] < '0' || d[i] > '9') return false;
  const int y = std::stoi(std::string(d.substr(0, 4)));
  const unsigned m = static_cast<unsigned>(std::stoi(std::string(d.substr(5, 2))));
  const unsigned dd = static_cast<unsigned>(std::stoi(std::string(d.substr(8, 2))));
  return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m},
                                     std::chrono::day{dd}}
      .ok();
}

std::string file_name_for_day(std::string_view day) {
  return std::string(kPrefix) + std::string(day) + std::string(kSuffix);
}

std::optional<std::string> day_of_file(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  if (name.size() != kPrefix.size() + 10 + kSuffix.size()) return std::nullopt;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  std::string day = name.substr(kPrefix.size(), 10);
  if (!is_valid_day(day)) return std::nullopt;
  return day;
}

std::vector<std::filesystem::path> chain_files(const std::filesystem::path& dir,
                                               std::error_code& ec) {
  std::vector<std::filesystem::path> files;
  ec.clear();
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && day_of_file(it->path())) files.push_back(it->path());
  }
  if (ec) files.clear();
  // Names sort by day because the day is zero-padded ISO.
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::filesystem::path> chain_files(const std::filesystem::path& dir) {
  std::error_code ec;
  return chain_files(dir, ec);
}

}  // namespace sealpost::audit
