#include "relay/smtp/envelope_syntax.h"

#include <cctype>
#include <vector>

namespace sealpost::smtp {

namespace {

// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the brackets.
constexpr std::size_t kMaxPath = 254;
constexpr std::size_t kMaxLocalPart = 64;  // RFC 5321 §4.5.3.1.1
constexpr std::size_t kMaxEnvid = 100;     // RFC 3461 §4.4
constexpr std::size_t kMaxOrcpt = 500;     // RFC 3461 §4.2 (fits our line limit)
constexpr std::size_t kMaxParams = 10;

Error syntax(std::string text) {
  return Error::make(501, "5.5.4", std::move(text));
}

char upper(char c) {
  return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
}

std::string to_upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = upper(c);
  return r;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && starts_with_nocase(a, b);
}

bool is_hex_upper(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

// Characters allowed in an address we accept: printable ASCII without space,
// brackets or backslash; 8-bit bytes only as UTF-8 under SMTPUTF8. Quoted
// local parts with spaces are refused: no staff client produces them.
bool address_char_ok(unsigned char c) {
  if (c >= 0x80) return true;
  if (c <= 0x20 || c == 0x7f) return false;
  return c != '<' && c != '>' && c != '\\' && c != '(' && c != ')' && c != ',' && c != ';';
}

bool domain_ok(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  if (d.front() == '[') return d.back() == ']' && d.size() > 2;  // address literal
  if (d.front() == '.' || d.back() == '.' || d.find("..") != std::string_view::npos) return false;
  for (unsigned char c : d)
    if (!(std::isalnum(c) || c == '-' || c == '.' || c >= 0x80)) return false;
  return true;
}

struct Param {
  std::string keyword;  // upper-cased
  std::string_view value;
  bool has_value = false;
};

Result<std::vector<Param>> split_params(std::string_view s) {
  std::vector<Param> out;
  while (!s.empty()) {
    if (s.front() == ' ') {
      s.remove_prefix(1);
      continue;
    }
    const auto sp = s.find(' ');
    std::string_view tok = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp);
    Param p;
    const auto eq = tok.find('=');
    std::string_view key = tok.substr(0, eq);
    if (key.empty()) return syntax("Bad parameter syntax");
    for (unsigned char c : key)
      if (!(std::isalnum(c) || c == '-')) return syntax("Bad parameter syntax");
    p.keyword = to_upper(key);
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.value = tok.substr(eq + 1);
      if (p.value.empty()) return syntax("Empty parameter value");
      for (unsigned char c : p.value)
        if (c < 33 || c == '=' || c == 127) return syntax("Bad parameter value");
    }
    for (const auto& seen : out)
      if (seen.keyword == p.keyword) return syntax("Duplicate parameter " + p.keyword);
    out.push_back(std::move(p));
    if (out.size() > kMaxParams) return syntax("Too many parameters");
  }
  return out;
}

Error unknown_param(const std::string& keyword) {
  return Error::make(555, "5.5.4", "Unsupported parameter " + keyword.substr(0, 20));
}

}  // namespace

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (upper(s[i]) != upper(prefix[i])) return false;
  return true;
}

bool is_xtext(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 2 >= s.size() || !is_hex_upper(s[i + 1]) || !is_hex_upper(s[i + 2])) return false;
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return false;
    }
  }
  return true;
}

Result<ParsedPath> parse_path(std::string_view arg, bool allow_null) {
  if (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  if (arg.empty() || arg.front() != '<') return syntax("Syntax: address must be in <>");
  const auto close = arg.find('>');
  if (close == std::string_view::npos) return syntax("Syntax: missing >");
  std::string_view path = arg.substr(1, close - 1);
  std::string_view rest = arg.substr(close + 1);
  if (!rest.empty() && rest.front() != ' ') return syntax("Syntax: junk after address");

  // RFC 5321 §4.1.2: a source route ("@a,@b:") is accepted and ignored.
  if (!path.empty() && path.front() == '@') {
    const auto colon = path.find(':');
    if (colon == std::string_view::npos) return syntax("Syntax: bad source route");
    path.remove_prefix(colon + 1);
  }

  ParsedPath out;
  out.params = rest;
  if (path.empty()) {
    if (!allow_null) return Error::make(501, "5.1.3", "Empty address not allowed here");
    return out;
  }
  if (path.size() > kMaxPath) return Error::make(501, "5.1.3", "Address too long");
  for (unsigned char c : path) {
    if (!address_char_ok(c)) return Error::make(501, "5.1.3", "Bad character in address");
    if (c >= 0x80) out.non_ascii = true;
  }
  const auto at = path.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > kMaxLocalPart)
    return Error::make(501, "5.1.3", "Address must be local-part@domain");
  if (!domain_ok(path.substr(at + 1))) return Error::make(501, "5.1.2", "Bad domain in address");
  out.address = std::string(path);
  return out;
}

Result<MailParams> parse_mail_params(std::string_view params) {
  auto split = split_params(params);
  if (!split) return split.error();
  MailParams mp;
  for (const auto& p : *split) {
    if (p.keyword == "SIZE") {
      if (!p.has_value || p.value.size() > 19) return syntax("Bad SIZE value");
      std::uint64_t n = 0;
      for (char c : p.value) {
        if (c < '0' || c > '9') return syntax("Bad SIZE value");
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      mp.size = n;
    } else if (p.keyword == "BODY") {
      if (!p.has_value || !(equals_nocase(p.value, "7BIT") || equals_nocase(p.value, "8BITMIME")))
        return syntax("BODY must be 7BIT or 8BITMIME");
      mp.body = to_upper(p.value);
    } else if (p.keyword == "SMTPUTF8") {
      if (p.has_value) return syntax("SMTPUTF8 takes no value");
      mp.smtputf8 = true;
    } else if (p.keyword == "RET") {
      if (!p.has_value || !(equals_nocase(p.value, "FULL") || equals_nocase(p.value, "HDRS")))
        return syntax("RET must be FULL or HDRS");
      mp.ret = to_upper(p.value);
    } else if (p.keyword == "ENVID") {
      if (!p.has_value || p.value.size() > kMaxEnvid || !is_xtext(p.value))
        return syntax("Bad ENVID value");
      mp.envid = std::string(p.value);
    } else if (p.keyword == "AUTH") {
      // RFC 4954 §5: the original submitter; we record the session's own
      // authenticated user instead, so the value is checked and ignored.
      if (!p.has_value || !(p.value == "<>" || is_xtext(p.value))) return syntax("Bad AUTH value");
    } else {
      return unknown_param(p.keyword);
    }
  }
  return mp;
}

Result<RcptParams> parse_rcpt_params(std::string_view params) {
  auto split = split_params(params);
  if (!split) return split.error();
  RcptParams rp;
  for (const auto& p : *split) {
    if (p.keyword == "NOTIFY") {
      if (!p.has_value) return syntax("Bad NOTIFY value");
      const std::string v = to_upper(p.value);
      if (v != "NEVER") {
        bool seen[3] = {false, false, false};
        const char* names[3] = {"SUCCESS", "FAILURE", "DELAY"};
        std::string_view rest = v;
        while (true) {
          const auto comma = rest.find(',');
          std::string_view item = rest.substr(0, comma);
          bool known = false;
          for (int k = 0; k < 3; ++k) {
            if (item == names[k]) {
              if (seen[k]) return syntax("Bad NOTIFY value");
              seen[k] = known = true;
            }
          }
          if (!known) return syntax("Bad NOTIFY value");
          if (comma == std::string_view::npos) break;
          rest.remove_prefix(comma + 1);
        }
      }
      rp.notify = v;
    } else if (p.keyword == "ORCPT") {
      if (!p.has_value || p.value.size() > kMaxOrcpt) return syntax("Bad ORCPT value");
      const auto semi = p.value.find(';');
      if (semi == std::string_view::npos || semi == 0 || !is_xtext(p.value.substr(semi + 1)))
        return syntax("Bad ORCPT value");
      rp.orcpt = std::string(p.value);
    } else {
      return unknown_param(p.keyword);
    }
  }
  return rp;
}

}  // namespace sealpost::smtp
