#include "audit/report.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "audit/audit_line.h"
#include "audit/chain_files.h"

namespace sealpost::audit {
namespace {

// Canonical names first; the older short names are still read so early logs count.
std::string get(const Line& l, std::string_view name, std::string_view alias = {}) {
  for (const auto& [k, v] : l.fields)
    if (k == name) return v;
  if (!alias.empty())
    for (const auto& [k, v] : l.fields)
      if (k == alias) return v;
  return {};
}

std::string domain_of(const std::string& address) {
  const auto at = address.rfind('@');
  if (at == std::string::npos || at + 1 >= address.size()) return "(none)";
  std::string d = address.substr(at + 1);
  for (auto& c : d)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return d;
}

// A recipient is decided again on every delivery attempt (a deferral, a
// retry): the report counts the last decision per message and recipient, and
// joins it with the last delivery result for the same pair.
struct Decision {
  std::string method;
  std::string recipient;
  PlaintextSend plain;
};
struct Tally {
  std::map<std::string, Decision> decisions;    // queue_id \n recipient -> last decision
  std::map<std::string, std::string> outcomes;  // queue_id \n recipient -> last result
  std::map<std::string, std::set<std::string>> pickup_ids;  // kind -> pickup ids
  std::map<std::string, std::uint64_t> pickup_counted;      // kind -> purge counts, id-less events
};

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void add_line(Report& r, Tally& t, const Line& l) {
  ++r.events;
  const std::string recipient = get(l, "recipient", "rcpt");
  const std::string queue_id = get(l, "queue_id", "id");
  const std::string key = queue_id + '\n' + recipient;
  if (l.type == "decision") {
    t.decisions[queue_id.empty() ? "#" + std::to_string(r.events) : key] =
        Decision{get(l, "method"), recipient,
                 PlaintextSend{l.time, queue_id, recipient, get(l, "rule"), ""}};
  } else if (l.type == "delivery") {
    const std::string method = get(l, "method");
    const std::string result = get(l, "result");
    ++r.deliveries[method.empty() ? "(none)" : method][result.empty() ? "(none)" : result];
    if (!queue_id.empty()) t.outcomes[key] = result;
    FailedDelivery d{l.time, queue_id, recipient, method, get(l, "reply")};
    if (result == "failed" || result == "expired")
      r.failures.push_back(std::move(d));
    else if (result == "held")
      r.held.push_back(std::move(d));
  } else if (l.type.starts_with("pickup.")) {
    const std::string kind = l.type.substr(7);
    ++r.pickup_events[kind];
    // `sealpost pickup purge` records one event for all it shredded.
    const std::string count = get(l, "count");
    const std::string id = get(l, "pickup_id");
    if (all_digits(count))
      t.pickup_counted[kind] += std::stoull(count);
    else if (!id.empty())
      t.pickup_ids[kind].insert(id);
    else
      ++t.pickup_counted[kind];
  }
}

void read_file(Report& r, Tally& t, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ++r.unreadable;
    return;
  }
  std::string text;
  while (std::getline(in, text)) {
    if (text.size() > kMaxLineBytes) {
      ++r.unreadable;
      continue;
    }
    auto line = decode_line(text);
    if (!line) {
      ++r.unreadable;
      continue;
    }
    const std::string day = line->time.substr(0, 10);
    if (!r.window.from_day.empty() && day < r.window.from_day) continue;
    if (!r.window.to_day.empty() && day > r.window.to_day) continue;
    add_line(r, t, *line);
  }
}

std::string json_str(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// CSV per RFC 4180; cells starting with = + - @ are prefixed with ' so that a
// hostile address cannot become a spreadsheet formula.
std::string csv_cell(std::string_view s) {
  std::string v(s);
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v = "'" + v;
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Markdown table cells: pipes and line breaks would break the table.
std::string md_cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out.empty() ? "-" : out;
}

template <class Map>
std::string json_counts(const Map& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ',';
    out += json_str(k) + ":" + std::to_string(v);
  }
  return out + "}";
}

}  // namespace

Report build_report(const std::vector<std::filesystem::path>& dirs, const ReportWindow& window) {
  Report r;
  r.window = window;
  Tally t;
  for (const auto& dir : dirs) {
    std::error_code ec;
    const auto files = chain_files(dir, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) ++r.unreadable;
    for (const auto& file : files) {
      const std::string day = *day_of_file(file);
      // A day file holds only that day's records (verify checks it), so whole
      // files outside the window can be skipped unread.
      if (!window.from_day.empty() && day < window.from_day) continue;
      if (!window.to_day.empty() && day > window.to_day) continue;
      read_file(r, t, file);
    }
  }
  for (const auto& [key, d] : t.decisions) {
    ++r.decisions_by_method[d.method.empty() ? "(none)" : d.method];
    ++r.decisions_by_domain[domain_of(d.recipient)];
    if (d.method != "plain") continue;
    PlaintextSend p = d.plain;
    if (const auto o = t.outcomes.find(key); o != t.outcomes.end()) p.result = o->second;
    (p.result == "delivered" ? r.plaintext : r.plaintext_not_delivered).push_back(std::move(p));
  }
  const auto by_time = [](const PlaintextSend& a, const PlaintextSend& b) {
    return a.time < b.time;
  };
  std::sort(r.plaintext.begin(), r.plaintext.end(), by_time);
  std::sort(r.plaintext_not_delivered.begin(), r.plaintext_not_delivered.end(), by_time);
  for (const auto& [kind, n] : r.pickup_events) {
    const auto ids = t.pickup_ids.find(kind);
    const auto counted = t.pickup_counted.find(kind);
    r.pickups[kind] = (ids == t.pickup_ids.end() ? 0 : ids->second.size()) +
                      (counted == t.pickup_counted.end() ? 0 : counted->second);
  }
  return r;
}

std::string render_markdown(const Report& r) {
  std::string o = "# Sealpost audit report\n\n";
  o += "Period: " + (r.window.from_day.empty() ? "beginning" : r.window.from_day) + " to " +
       (r.window.to_day.empty() ? "now" : r.window.to_day) + "\n\n";
  o += "Events: " + std::to_string(r.events) + "\n";
  if (r.unreadable)
    o += "\n**Warning:** " + std::to_string(r.unreadable) +
         " records or files could not be read or failed their integrity check and were not "
         "counted; run `sealpost audit verify`.\n";
  o += "\n## Decisions per method\n\n| method | recipients |\n|---|---:|\n";
  for (const auto& [m, n] : r.decisions_by_method)
    o += "| " + md_cell(m) + " | " + std::to_string(n) + " |\n";
  o += "\n## Decisions per recipient domain\n\n| domain | recipients |\n|---|---:|\n";
  for (const auto& [d, n] : r.decisions_by_domain)
    o += "| " + md_cell(d) + " | " + std::to_string(n) + " |\n";
  o += "\n## Delivery outcomes\n\n| method | result | count |\n|---|---|---:|\n";
  for (const auto& [m, results] : r.deliveries)
    for (const auto& [res, n] : results)
      o += "| " + md_cell(m) + " | " + md_cell(res) + " | " + std::to_string(n) + " |\n";
  o += "\n## Plaintext sends (delivered)\n\n| time | queue id | recipient | rule "
       "|\n|---|---|---|---|\n";
  for (const auto& p : r.plaintext)
    o += "| " + md_cell(p.time) + " | " + md_cell(p.queue_id) + " | " + md_cell(p.recipient) +
         " | " + md_cell(p.rule) + " |\n";
  o += "\n## Plaintext decided, not delivered\n\n| time | queue id | recipient | rule | last "
       "result |\n|---|---|---|---|---|\n";
  for (const auto& p : r.plaintext_not_delivered)
    o += "| " + md_cell(p.time) + " | " + md_cell(p.queue_id) + " | " + md_cell(p.recipient) +
         " | " + md_cell(p.rule) + " | " + md_cell(p.result.empty() ? "none yet" : p.result) +
         " |\n";
  const auto deliveries = [&o](const std::vector<FailedDelivery>& list) {
    o += "| time | queue id | recipient | method | reply |\n|---|---|---|---|---|\n";
    for (const auto& f : list)
      o += "| " + md_cell(f.time) + " | " + md_cell(f.queue_id) + " | " + md_cell(f.recipient) +
           " | " + md_cell(f.method) + " | " + md_cell(f.reply) + " |\n";
  };
  o += "\n## Failed deliveries\n\n";
  deliveries(r.failures);
  o += "\n## Held deliveries (waiting for `sealpost queue release` or `delete`)\n\n";
  deliveries(r.held);
  o += "\n## Pickups\n\n| event | pickups | events |\n|---|---:|---:|\n";
  for (const auto& [e, n] : r.pickups)
    o += "| " + md_cell(e) + " | " + std::to_string(n) + " | " +
         std::to_string(r.pickup_events.at(e)) + " |\n";
  return o;
}

std::string render_csv(const Report& r) {
  // One table for everything: section, key, detail, count.
  std::string o = "section,key,detail,count\n";
  auto row = [&o](std::string_view s, std::string_view k, std::string_view d, std::uint64_t n) {
    o += csv_cell(s) + "," + csv_cell(k) + "," + csv_cell(d) + "," + std::to_string(n) + "\n";
  };
  row("events", "", "", r.events);
  row("unreadable", "", "", r.unreadable);
  for (const auto& [m, n] : r.decisions_by_method) row("decision_method", m, "", n);
  for (const auto& [d, n] : r.decisions_by_domain) row("decision_domain", d, "", n);
  for (const auto& [m, results] : r.deliveries)
    for (const auto& [res, n] : results) row("delivery", m, res, n);
  for (const auto& p : r.plaintext) row("plaintext", p.recipient, p.rule, 1);
  for (const auto& p : r.plaintext_not_delivered)
    row("plaintext_not_delivered", p.recipient,
        p.rule + ": " + (p.result.empty() ? "none yet" : p.result), 1);
  for (const auto& f : r.failures) row("failure", f.recipient, f.reply, 1);
  for (const auto& f : r.held) row("held", f.recipient, f.reply, 1);
  for (const auto& [e, n] : r.pickups) row("pickup", e, "", n);
  for (const auto& [e, n] : r.pickup_events) row("pickup_events", e, "", n);
  return o;
}

std::string render_json(const Report& r) {
  std::string o =
      "{\"from\":" + json_str(r.window.from_day) + ",\"to\":" + json_str(r.window.to_day);
  o +=
      ",\"events\":" + std::to_string(r.events) + ",\"unreadable\":" + std::to_string(r.unreadable);
  o += ",\"decisions_by_method\":" + json_counts(r.decisions_by_method);
  o += ",\"decisions_by_domain\":" + json_counts(r.decisions_by_domain);
  o += ",\"deliveries\":{";
  bool first = true;
  for (const auto& [m, results] : r.deliveries) {
    if (!first) o += ',';
    first = false;
    o += json_str(m) + ":" + json_counts(results);
  }
  const auto plain = [&o](const std::vector<PlaintextSend>& list, bool with_result) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& p = list[i];
      o += (i ? "," : "") + std::string("{\"time\":") + json_str(p.time) +
           ",\"queue_id\":" + json_str(p.queue_id) + ",\"recipient\":" + json_str(p.recipient) +
           ",\"rule\":" + json_str(p.rule);
      if (with_result) o += ",\"result\":" + json_str(p.result);
      o += "}";
    }
  };
  const auto deliveries = [&o](const std::vector<FailedDelivery>& list) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& f = list[i];
      o += (i ? "," : "") + std::string("{\"time\":") + json_str(f.time) +
           ",\"queue_id\":" + json_str(f.queue_id) + ",\"recipient\":" + json_str(f.recipient) +
           ",\"method\":" + json_str(f.method) + ",\"reply\":" + json_str(f.reply) + "}";
    }
  };
  o += "},\"plaintext\":[";
  plain(r.plaintext, false);
  o += "],\"plaintext_not_delivered\":[";
  plain(r.plaintext_not_delivered, true);
  o += "],\"failures\":[";
  deliveries(r.failures);
  o += "],\"held\":[";
  deliveries(r.held);
  o += "],\"pickups\":" + json_counts(r.pickups) +
       ",\"pickup_events\":" + json_counts(r.pickup_events) + "}\n";
  return o;
}

}  // namespace sealpost::audit
