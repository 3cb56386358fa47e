#include "imap/copy_marker.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include <filesystem>

#include "common/durable_file.h"
#include "common/key_file.h"
#include "common/secure_random.h"

namespace sealpost::imap {
namespace {

constexpr const char* kField = "X-Sealpost-Copy";
constexpr std::size_t kKeyBytes = 32;

bool starts_with_icase(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.c_str(), prefix.data(), prefix.size()) == 0;
}

bool covered(const HeaderField& f) {
  if (name_is(f, kField)) return false;
  return name_is(f, "From") || name_is(f, "Date") || name_is(f, "Message-ID") ||
         starts_with_icase(f.name, "X-Sealpost-");
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 0xf];
  }
  return out;
}

// The field without its trailing line end: what the server hands back may
// differ only there.
std::string_view trimmed(const std::string& raw) {
  std::string_view v(raw);
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

void append_field(std::string& out, const std::string& raw) {
  out += raw;
  if (raw.empty() || raw.back() != '\n') out += "\r\n";
}

}  // namespace

Result<CopyMarker> CopyMarker::open(const std::string& key_path) {
  auto key = load_or_create_key(key_path, kKeyBytes);
  if (!key) return key.error();
  return CopyMarker(std::move(*key));
}

std::string CopyMarker::mac(const std::vector<HeaderField>& fields) const {
  // Name-length-value framing: no two field lists give the same input.
  std::string input = "sealpost-copy-v1\n";
  for (const auto& f : fields) {
    if (!covered(f)) continue;
    const std::string_view v = trimmed(f.raw);
    input += std::to_string(v.size()) + ":";
    input.append(v.data(), v.size());
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
  return "v1 " + hex(out, len);
}

std::string CopyMarker::stamp(const std::string& message) const {
  SplitEntity e = split_entity(message);
  std::string headers;
  std::vector<HeaderField> kept;
  for (auto& f : e.fields) {
    if (name_is(f, kField)) continue;
    append_field(headers, f.raw);
    kept.push_back(std::move(f));
  }
  return std::string(kField) + ": " + mac(kept) + "\r\n" + headers + "\r\n" + e.body;
}

bool CopyMarker::is_ours(const std::vector<HeaderField>& fields) const {
  const auto values = header_values(fields, kField);
  if (values.size() != 1) return false;
  return constant_time_equal(values.front(), mac(fields));
}

bool has_status_fields(const std::vector<HeaderField>& fields) {
  for (const auto& f : fields)
    if (starts_with_icase(f.name, "X-Sealpost-")) return true;
  return false;
}

std::string without_status_fields(const SplitEntity& e) {
  std::string out;
  for (const auto& f : e.fields)
    if (!starts_with_icase(f.name, "X-Sealpost-")) append_field(out, f.raw);
  out += "X-Sealpost-Note: status fields added outside Sealpost were removed\r\n";
  out += "\r\n";
  out += e.body;
  return out;
}

}  // namespace sealpost::imap
