#include "policy/consent_csv.h"

#include <set>
#include <string_view>

#include "policy/pattern.h"

namespace sealpost::policy {
namespace {

constexpr std::size_t kMaxLines = 1000000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    auto comma = line.find(',', start);
    fields.emplace_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

}  // namespace

Result<std::vector<ConsentCsvLine>> parse_consent_csv(const std::string& text,
                                                      const std::string& name,
                                                      const std::string& source) {
  std::vector<ConsentCsvLine> records;
  std::set<std::string> seen;
  std::string_view rest(text);
  std::size_t line_no = 0;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view raw = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (++line_no > kMaxLines) return Error::plain(name + ": more than 1000000 lines");
    auto fail = [&](const std::string& msg) {
      std::string where = name;
      where += ':';
      where += std::to_string(line_no);
      where += ": ";
      where += msg;
      return Error::plain(std::move(where));
    };
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.find('"') != std::string_view::npos) return fail("quoted fields are not supported");
    auto f = split_fields(line);
    if (records.empty() && seen.empty() && to_lower(f[0]) == "address") {
      seen.insert("");  // the header may only come first
      continue;
    }
    if (f.size() < 3 || f.size() > 4)
      return fail("expected address,state,date[,sms] (" + std::to_string(f.size()) + " fields)");
    ConsentRecord r;
    r.address = to_lower(f[0]);
    if (!is_plausible_address(r.address)) return fail("not an e-mail address");
    auto state = parse_consent_state(to_lower(f[1]));
    if (!state) return fail("state must be granted or revoked");
    r.state = *state;
    if (!is_iso_date(f[2])) return fail("date must be YYYY-MM-DD");
    if (is_future_date(f[2])) return fail("date " + f[2] + " is in the future");
    r.date = f[2];
    if (f.size() == 4 && !f[3].empty()) {
      if (!is_sms_number(f[3])) return fail("sms number must be digits, spaces and a leading +");
      r.sms_number = f[3];
    }
    r.source = source;
    if (!seen.insert(r.address).second) return fail("address listed twice: " + r.address);
    records.push_back({line_no, std::move(r)});
  }
  return records;
}

}  // namespace sealpost::policy
