#include "portal/http_parsing.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sealpost::portal {
namespace {

constexpr std::size_t kMaxTarget = 512;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep, std::size_t max) {
  std::vector<std::string_view> out;
  while (out.size() <= max) {
    std::size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

// Value of `param` in a header like `form-data; name="x"; filename="y"` (quoted or token).
std::optional<std::string> header_param(std::string_view header, std::string_view param) {
  std::size_t i = header.find(';');
  while (i != std::string_view::npos && i < header.size()) {
    std::string_view rest = trim(header.substr(i + 1));
    std::size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = trim(rest.substr(0, eq));
    std::string_view v = rest.substr(eq + 1);
    std::string value;
    std::size_t consumed;
    if (!v.empty() && v[0] == '"') {
      std::size_t j = 1;
      for (; j < v.size() && v[j] != '"'; ++j) {
        if (v[j] == '\\' && j + 1 < v.size()) ++j;
        value += v[j];
      }
      if (j >= v.size()) return std::nullopt;  // unterminated quote
      consumed = j + 1;
    } else {
      consumed = std::min(v.find(';'), v.size());
      value = std::string(trim(v.substr(0, consumed)));
    }
    if (iequals(key, param)) return value;
    std::size_t next = v.find(';', consumed);
    if (next == std::string_view::npos) return std::nullopt;
    i = static_cast<std::size_t>(v.data() + next - header.data());
  }
  return std::nullopt;
}

}  // namespace

Route route(std::string_view target) {
  Route r;
  if (target.size() > kMaxTarget || target.empty() || target[0] != '/') return r;
  target = target.substr(0, target.find('?'));
  auto seg = split(target.substr(1), '/', 4);
  auto is = [&](std::initializer_list<std::string_view> want) {
    return std::equal(seg.begin(), seg.end(), want.begin(), want.end());
  };
  if (seg.size() == 3 && seg[0] == "p" && !seg[1].empty() && !seg[2].empty()) {
    r.kind = RouteKind::Link;
    r.pickup_id = std::string(seg[1]);
    r.secret = std::string(seg[2]);
  } else if (is({"auth"})) {
    r.kind = RouteKind::Auth;
  } else if (is({"auth", "send"})) {
    r.kind = RouteKind::SendCode;
  } else if (is({"auth", "verify"})) {
    r.kind = RouteKind::Verify;
  } else if (is({"auth", "password"})) {
    r.kind = RouteKind::AuthPassword;
  } else if (is({"password"})) {
    r.kind = RouteKind::SetPassword;
  } else if (is({"read"})) {
    r.kind = RouteKind::Read;
  } else if (seg.size() == 2 && seg[0] == "att" && !seg[1].empty() && seg[1].size() <= 4) {
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(seg[1].data(), seg[1].data() + seg[1].size(), n);
    if (ec == std::errc() && p == seg[1].data() + seg[1].size()) {
      r.kind = RouteKind::Attachment;
      r.index = n;
    }
  } else if (is({"reply"})) {
    r.kind = RouteKind::Reply;
  } else if (is({"done"})) {
    r.kind = RouteKind::Done;
  } else if (is({"logout"})) {
    r.kind = RouteKind::Logout;
  } else if (is({"portal.css"})) {
    r.kind = RouteKind::Stylesheet;
  }
  return r;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  for (auto pair : split(header.substr(0, 8192), ';', 64)) {
    pair = trim(pair);
    std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name)
      return std::string(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::optional<std::map<std::string, std::string>> parse_form(std::string_view body,
                                                             std::size_t max_fields) {
  std::map<std::string, std::string> out;
  if (body.empty()) return out;
  auto pairs = split(body, '&', max_fields);
  if (pairs.size() > max_fields) return std::nullopt;
  for (auto p : pairs) {
    std::size_t eq = p.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto k = url_decode(p.substr(0, eq));
    auto v = url_decode(p.substr(eq + 1));
    if (!k || !v || out.count(*k)) return std::nullopt;  // duplicates are ambiguous: refuse
    out.emplace(std::move(*k), std::move(*v));
  }
  return out;
}

std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body,
                                                     const MultipartLimits& limits) {
  std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  if (!iequals(type, "multipart/form-data")) return std::nullopt;
  auto boundary = header_param(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
  const std::string delim = "--" + *boundary;
  const std::string next_delim = "\r\n" + delim;

  if (body.substr(0, delim.size()) != delim) return std::nullopt;
  std::size_t pos = delim.size();
  std::vector<FormPart> parts;
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return std::nullopt;
    pos += 2;
    if (parts.size() == limits.max_parts) return std::nullopt;
    std::size_t hdr_end = body.find("\r\n\r\n", pos);
    if (hdr_end == std::string_view::npos || hdr_end - pos > limits.max_header_bytes)
      return std::nullopt;
    FormPart part;
    bool has_disposition = false;
    std::string_view block = body.substr(pos, hdr_end - pos);
    std::size_t lines = 0;
    while (!block.empty()) {
      if (++lines > 16) return std::nullopt;
      std::size_t eol = block.find("\r\n");
      std::string_view line = block.substr(0, eol);
      block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
      if (line.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      std::string_view name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
      if (iequals(name, "Content-Disposition")) {
        if (!iequals(trim(value.substr(0, value.find(';'))), "form-data")) return std::nullopt;
        auto n = header_param(value, "name");
        if (!n) return std::nullopt;
        part.name = *n;
        part.filename = header_param(value, "filename").value_or("");
        has_disposition = true;
      } else if (iequals(name, "Content-Type")) {
        part.content_type = std::string(value.substr(0, 255));
      }
    }
    if (!has_disposition) return std::nullopt;
    pos = hdr_end + 4;
    std::size_t end = body.find(next_delim, pos);
    if (end == std::string_view::npos) return std::nullopt;
    part.data = std::string(body.substr(pos, end - pos));
    parts.push_back(std::move(part));
    pos = end + next_delim.size();
  }
}

std::string choose_language(std::string_view header) {
  double best_q = 0.0;
  std::string best = "en";
  for (auto item : split(header.substr(0, 1024), ',', 32)) {
    item = trim(item);
    std::string_view tag = trim(item.substr(0, item.find(';')));
    double q = 1.0;
    if (auto qp = item.find(";q="); qp != std::string_view::npos) {
      std::string qs(trim(item.substr(qp + 3)));
      char* end = nullptr;
      q = std::strtod(qs.c_str(), &end);
      if (end == qs.c_str() || q < 0 || q > 1) continue;
    }
    std::string_view primary = tag.substr(0, tag.find('-'));
    std::string lang = iequals(primary, "de") ? "de" : iequals(primary, "en") ? "en" : "";
    if (!lang.empty() && q > best_q) {
      best_q = q;
      best = lang;
    }
  }
  return best;
}

std::string client_address(const std::string& peer, std::string_view forwarded_for,
                           const std::vector<Cidr>& trusted_proxies) {
  auto trusted = [&](std::string_view a) {
    auto ip = IpAddress::parse(a);
    if (!ip) return false;
    return std::any_of(trusted_proxies.begin(), trusted_proxies.end(),
                       [&](const Cidr& c) { return c.contains(*ip); });
  };
  if (forwarded_for.empty() || !trusted(peer)) return peer;
  // Walk from the right: each hop was appended by the proxy before it. Only
  // the right end is trustworthy, so nothing is cut off there: a client
  // cannot push the proxy's entry out by sending a long header of its own.
  std::string_view rest = forwarded_for;
  for (int hops = 0; hops < 32 && !rest.empty(); ++hops) {
    const std::size_t comma = rest.rfind(',');
    const std::string_view hop =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    if (hop.size() > 64 || !IpAddress::parse(hop)) return peer;  // garbage: trust none of it
    if (!trusted(hop)) return std::string(hop);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
  }
  return peer;
}

std::string join_header_lines(const std::vector<std::string_view>& lines) {
  std::string out;
  for (std::string_view l : lines) {
    if (!out.empty()) out += ", ";
    out += l;
  }
  return out;
}

std::string attachment_disposition(std::string_view filename) {
  std::string fallback, encoded;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : filename.substr(0, 512)) {
    const bool plain = std::isalnum(c) || c == '.' || c == '-' || c == '_';
    fallback += plain ? static_cast<char>(c) : '_';
    if (plain) {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += hex[c >> 4];
      encoded += hex[c & 15];
    }
  }
  if (fallback.empty()) fallback = encoded = "attachment";
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace sealpost::portal
