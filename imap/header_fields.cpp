#include "imap/header_fields.h"

#include <cctype>

namespace sealpost::imap {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

std::string unfold_value(const std::string& raw) {
  const auto colon = raw.find(':');
  std::string v;
  for (std::size_t i = colon == std::string::npos ? raw.size() : colon + 1; i < raw.size(); ++i) {
    if (raw[i] == '\r' || raw[i] == '\n') continue;
    v.push_back(raw[i] == '\t' ? ' ' : raw[i]);
  }
  const auto b = v.find_first_not_of(' ');
  const auto e = v.find_last_not_of(' ');
  return b == std::string::npos ? "" : v.substr(b, e - b + 1);
}

std::string crlf_terminated(std::string raw) {
  // Normalise line ends to CRLF so appended messages are RFC 5322 clean.
  std::string out;
  out.reserve(raw.size() + 8);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) out.push_back('\r');
    out.push_back(raw[i]);
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

}  // namespace

SplitEntity split_entity(std::string_view data) {
  SplitEntity out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t eol = data.find('\n', pos);
    const std::size_t next = eol == std::string_view::npos ? data.size() : eol + 1;
    std::string_view line = data.substr(pos, next - pos);
    std::string_view bare = line;
    while (!bare.empty() && (bare.back() == '\n' || bare.back() == '\r')) bare.remove_suffix(1);
    if (bare.empty()) {  // end of the header section
      pos = next;
      out.body = std::string(data.substr(pos));
      return out;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      // A folded line continues the field before it. With no field before it,
      // it is no header at all: kept as a field, its leading blank would fold
      // it into whatever a writer puts in front of it (the fuzzer found a
      // stamped copy whose mark a leading tab had swallowed), so the rest is
      // body, as for a line without a colon.
      if (out.fields.empty()) {
        out.body = std::string(data.substr(pos));
        return out;
      }
      out.fields.back().raw += line;
    } else {
      const auto colon = bare.find(':');
      // A line without a colon is not a header: treat the rest as body (robust
      // against broken input rather than guessing).
      if (colon == std::string_view::npos || colon == 0) {
        out.body = std::string(data.substr(pos));
        return out;
      }
      std::string name(bare.substr(0, colon));
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
      out.fields.push_back({std::move(name), std::string(line)});
    }
    pos = next;
  }
  return out;
}

bool name_is(const HeaderField& f, std::string_view name) {
  return f.name.size() == name.size() && iequals_prefix(f.name, name);
}

std::string header_value(const std::vector<HeaderField>& fields, std::string_view name) {
  for (const auto& f : fields)
    if (name_is(f, name)) return unfold_value(f.raw);
  return {};
}

std::vector<std::string> header_values(const std::vector<HeaderField>& fields,
                                       std::string_view name) {
  std::vector<std::string> out;
  for (const auto& f : fields)
    if (name_is(f, name)) out.push_back(unfold_value(f.raw));
  return out;
}

std::vector<HeaderField> protected_fields(const SplitEntity& decrypted, bool from_matches) {
  static constexpr std::string_view kPromoted[] = {"Subject",    "To",       "Cc",
                                                   "Reply-To",   "Date",     "In-Reply-To",
                                                   "References", "Keywords", "Comments"};
  std::vector<HeaderField> out;
  for (const auto& f : decrypted.fields) {
    bool take = from_matches && name_is(f, "From");
    for (auto n : kPromoted) take = take || name_is(f, n);
    if (take) out.push_back(f);
  }
  return out;
}

std::string build_readable(const std::vector<HeaderField>& outer, const SplitEntity& decrypted,
                           const ReadableStatus& status, const std::vector<HeaderField>& promoted) {
  std::string out;
  const auto replaced = [&](const HeaderField& f) {
    for (const auto& p : promoted)
      if (name_is(f, p.name)) return true;
    return false;
  };
  for (const auto& f : outer) {
    if (iequals_prefix(f.name, "Content-") || iequals_prefix(f.name, "X-Sealpost-")) continue;
    if (replaced(f)) continue;
    out += crlf_terminated(f.raw);
  }
  for (const auto& f : promoted) {
    if (iequals_prefix(f.name, "Content-") || iequals_prefix(f.name, "X-Sealpost-")) continue;
    out += crlf_terminated(f.raw);
  }
  out += "X-Sealpost-Decrypted: " + status.decrypted + "\r\n";
  out += "X-Sealpost-Signature: " + status.signature + "\r\n";
  if (!status.note.empty()) out += "X-Sealpost-Note: " + status.note + "\r\n";
  bool has_type = false;
  for (const auto& f : decrypted.fields) {
    if (!iequals_prefix(f.name, "Content-")) continue;
    has_type = has_type || name_is(f, "Content-Type");
    out += crlf_terminated(f.raw);
  }
  if (!has_type) out += "Content-Type: text/plain; charset=us-ascii\r\n";
  out += "\r\n";
  out += decrypted.body;
  return out;
}

}  // namespace sealpost::imap
