#include "portal/notice.h"

#include <sodium.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "common/durable_file.h"
#include "common/secure_random.h"
#include "portal/notice_defaults.h"

namespace sealpost::pickup {
namespace {

constexpr std::size_t kMaxTemplateBytes = 64 * 1024;
constexpr std::size_t kMaxValueBytes = 2048;

std::string base64(std::string_view bin) {
  std::string out(sodium_base64_ENCODED_LEN(bin.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bin.data()),
                    bin.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

// Body lines of at most 76 characters (RFC 2045 §6.8).
std::string base64_body(std::string_view bin) {
  std::string b = base64(bin), out;
  for (std::size_t i = 0; i < b.size(); i += 76) out += b.substr(i, 76) + "\r\n";
  return out;
}

bool is_ascii_printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// Length of the UTF-8 sequence starting at s[i] (1 for stray bytes), so
// encoded-words never split a character.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  return std::min(n, s.size() - i);
}

std::string format_mailbox(std::string_view name, std::string_view addr) {
  std::string out;
  if (!name.empty()) {
    if (is_ascii_printable(name) && name.find_first_of("\"\\") == std::string_view::npos &&
        name.find("=?") == std::string_view::npos)
      out = "\"" + std::string(name) + "\" ";
    else
      out = encode_header_text(name) + " ";
  }
  return out + "<" + std::string(addr) + ">";
}

std::string format_expiry(std::int64_t t, std::string_view lang) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, lang == "de" ? "%d.%m.%Y, %H:%M UTC" : "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

struct Section {
  std::string subject;
  std::string body;
};

// Renders one language: "Subject: ..." first line, "[method]" lines filtered,
// {{name}} placeholders replaced. Unknown placeholders are an error so a typo
// in an admin-edited template is caught instead of mailed.
Result<Section> render(const std::string& text, const NoticeParams& p, std::string_view lang) {
  const std::pair<std::string_view, std::string> vars[] = {
      {"practice_name", p.practice_name},
      {"link", p.link},
      {"expires", format_expiry(p.expires_at, lang)},
  };
  Section s;
  std::size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] == '[') {
      std::size_t close = line.find(']');
      if (close == std::string::npos) return Error::plain("notice template: unclosed [method]");
      if (line.compare(1, close - 1, p.auth_method) != 0) continue;
      line.erase(0, close + 1);
    }
    std::string out;
    std::size_t i = 0;
    while (i < line.size()) {
      std::size_t open = line.find("{{", i);
      if (open == std::string::npos) {
        out += line.substr(i);
        break;
      }
      out += line.substr(i, open - i);
      std::size_t close = line.find("}}", open);
      if (close == std::string::npos) return Error::plain("notice template: unclosed {{");
      std::string_view name(line.data() + open + 2, close - open - 2);
      const std::string* value = nullptr;
      for (const auto& [k, v] : vars)
        if (k == name) value = &v;
      if (!value)
        return Error::plain("notice template: unknown placeholder {{" + std::string(name) + "}}");
      out += *value;
      i = close + 2;
    }
    if (first) {
      first = false;
      if (out.rfind("Subject: ", 0) != 0)
        return Error::plain("notice template: first line must be 'Subject: ...'");
      s.subject = out.substr(9);
      continue;
    }
    s.body += out + "\r\n";
  }
  if (s.subject.empty()) return Error::plain("notice template: empty subject");
  return s;
}

}  // namespace

bool safe_header_value(std::string_view v) {
  if (v.size() > kMaxValueBytes) return false;
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return false;  // CR, LF, NUL, TAB and friends
  return true;
}

bool safe_addr_spec(std::string_view v) {
  if (v.empty() || v.size() > 254 || !safe_header_value(v)) return false;
  std::size_t at = v.rfind('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == v.size()) return false;
  for (unsigned char c : v)
    if (c == ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '\\' ||
        c == '(' || c == ')' || c == '[' || c == ']' || c == ':')
      return false;
  return v.find('@') == at;
}

std::string encode_header_text(std::string_view utf8) {
  if (is_ascii_printable(utf8) && utf8.find("=?") == std::string_view::npos)
    return std::string(utf8);
  // 45 input bytes -> 60 base64 chars + 12 framing: each word stays within 75 (RFC 2047 §2).
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t end = i;
    while (end < utf8.size() && end - i + utf8_len(utf8, end) <= 45) end += utf8_len(utf8, end);
    if (end == i) end = i + 1;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(utf8.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string rfc5322_date(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
                tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

Result<std::string> compose_notice(const NoticeParams& p) {
  if (!safe_addr_spec(p.from_address) || !safe_addr_spec(p.to_address))
    return Error::perm("5.1.3", "invalid address for pickup notice", "notice: unsafe address");
  if (!safe_header_value(p.practice_name) || p.practice_name.empty())
    return Error::plain("notice: practice name empty or contains control characters");
  if (!safe_header_value(p.link) || !is_ascii_printable(p.link) ||
      p.link.find_first_of(" <>\"'") != std::string::npos ||
      !(p.link.rfind("https://", 0) == 0 || p.link.rfind("http://", 0) == 0))
    return Error::plain("notice: link is not a plain http(s) URL");
  if (p.auth_method != "sms" && p.auth_method != "passphrase" && p.auth_method != "code-to-sender")
    return Error::plain("notice: unknown auth method");
  if (p.languages.empty()) return Error::plain("notice: no language");

  std::vector<Section> sections;
  for (const auto& lang : p.languages) {
    if (lang != "de" && lang != "en") return Error::plain("notice: unsupported language " + lang);
    // A template the admin removed (or never installed) falls back to the one
    // shipped in conf/templates/, compiled in; any other error is an error.
    const auto path = std::filesystem::path(p.templates_dir) / ("notice." + lang + ".txt");
    std::error_code ec;
    auto text = std::filesystem::exists(path, ec) || ec
                    ? read_file(path, kMaxTemplateBytes)
                    : Result<std::string>(
                          std::string(lang == "de" ? defaults::kNoticeDe : defaults::kNoticeEn));
    if (!text) return text.error();
    auto s = render(*text, p, lang);
    if (!s) return s.error();
    if (!safe_header_value(s->subject)) return Error::plain("notice: unsafe subject in template");
    sections.push_back(std::move(*s));
  }

  std::string subject, body;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    subject += (i ? " / " : "") + sections[i].subject;
    if (i) body += "\r\n----------------------------------------\r\n\r\n";
    body += sections[i].body;
  }
  const std::int64_t now = p.now ? p.now
                                 : std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
  const std::string domain = p.from_address.substr(p.from_address.rfind('@') + 1);

  std::string m;
  m += "From: " + format_mailbox(p.practice_name, p.from_address) + "\r\n";
  m += "To: <" + p.to_address + ">\r\n";
  m += "Subject: " + encode_header_text(subject) + "\r\n";
  m += "Date: " + rfc5322_date(now) + "\r\n";
  m += "Message-ID: <" + random_token(16) + "@" + domain + ">\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "\r\n";
  m += base64_body(body);
  return m;
}

}  // namespace sealpost::pickup
