#include "audit/audit_line.h"

#include <sodium.h>

#include <cstdio>

#include "common/utf8.h"

namespace sealpost::audit {
namespace {

constexpr std::string_view kHashKey = ",\"hash\":\"";
constexpr std::size_t kHexLen = 64;
constexpr std::size_t kMaxFields = 64;

bool is_hex64(std::string_view s) {
  if (s.size() != kHexLen) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Cursor over one line; every read is bounds-checked and failures carry a reason.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  bool literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  bool at_end() const { return pos_ == s_.size(); }
  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  bool number(std::uint64_t& out) {
    std::size_t start = pos_;
    out = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (pos_ - start >= 19) return false;  // stays well inside uint64
      out = out * 10 + static_cast<unsigned>(s_[pos_] - '0');
      ++pos_;
    }
    return pos_ > start && !(s_[start] == '0' && pos_ - start > 1);
  }

  bool string(std::string& out) {
    out.clear();
    if (!literal("\"")) return false;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned lo = 0;
            if (!literal("\\u") || !hex4(lo) || lo < 0xdc00 || lo > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return false;
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

 private:
  bool hex4(unsigned& out) {
    if (pos_ + 4 > s_.size()) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<unsigned>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

Error bad(const std::string& reason) {
  return Error::plain(reason);
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  static const bool sodium_ready = sodium_init() >= 0;  // idempotent, thread-safe
  (void)sodium_ready;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * sizeof digest);
  for (unsigned char b : digest) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 0xf];
  }
  return hex;
}

// Escapes quotes, backslashes and control characters; bytes that are not valid
// UTF-8 become U+FFFD so every line stays valid JSON for jq and friends.
void append_json_string(std::string& out, std::string_view v) {
  out += '"';
  for (std::size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      (void)std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (std::size_t n = utf8_sequence_length(v, i); n > 0) {
      out.append(v.substr(i, n));
      i += n;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out += '"';
}

std::string encode_line(Line& line) {
  std::string out;
  out.reserve(256);
  out += "{\"seq\":";
  out += std::to_string(line.seq);
  out += ",\"time\":";
  append_json_string(out, line.time);
  out += ",\"type\":";
  append_json_string(out, line.type);
  out += ",\"fields\":{";
  bool first = true;
  for (const auto& [k, v] : line.fields) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, k);
    out += ':';
    append_json_string(out, v);
  }
  out += "},\"prev\":";
  append_json_string(out, line.prev);
  line.hash = sha256_hex(out);
  out += kHashKey;
  out += line.hash;
  out += "\"}";
  return out;
}

Result<Line> decode_line(std::string_view text) {
  if (text.size() > kMaxLineBytes) return bad("line longer than 64 KiB");
  const std::size_t hash_at = text.rfind(kHashKey);
  if (hash_at == std::string_view::npos) return bad("no hash field");
  const std::string_view body = text.substr(0, hash_at);

  Line line;
  Cursor c(text);
  if (!c.literal("{\"seq\":") || !c.number(line.seq)) return bad("malformed seq");
  if (!c.literal(",\"time\":") || !c.string(line.time)) return bad("malformed time");
  if (!c.literal(",\"type\":") || !c.string(line.type)) return bad("malformed type");
  if (!c.literal(",\"fields\":{")) return bad("malformed fields");
  while (!c.peek('}')) {
    if (!line.fields.empty() && !c.literal(",")) return bad("malformed fields");
    std::string k, v;
    if (!c.string(k) || !c.literal(":") || !c.string(v)) return bad("malformed field");
    if (line.fields.size() >= kMaxFields) return bad("too many fields");
    line.fields.emplace_back(std::move(k), std::move(v));
  }
  if (!c.literal("},\"prev\":") || !c.string(line.prev) || !is_hex64(line.prev))
    return bad("malformed prev");
  if (!c.literal(",\"hash\":") || !c.string(line.hash) || !is_hex64(line.hash))
    return bad("malformed hash");
  if (!c.literal("}") || !c.at_end()) return bad("trailing data after the record");
  if (sha256_hex(body) != line.hash) return bad("hash does not match the record (edited)");
  return line;
}

}  // namespace sealpost::audit
