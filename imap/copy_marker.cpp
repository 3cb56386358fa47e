#include "imap/copy_marker.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include <filesystem>

#include "common/durable_file.h"
#include "common/key_file.h"
#include "common/secure_random.h"
#include "seal/crlf.h"

namespace sealpost::imap {
namespace {

constexpr const char* kField = "X-Sealpost-Copy";
constexpr const char* kOrigin = "X-Sealpost-Origin";
constexpr std::size_t kKeyBytes = 32;

bool starts_with_icase(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.c_str(), prefix.data(), prefix.size()) == 0;
}

// What staff read as "this message": who, to whom, about what, when, and how
// the body is to be read. Received and other transport fields may be added
// by the server and are not covered.
bool covered(const HeaderField& f) {
  if (name_is(f, kField)) return false;
  for (const char* n : {"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID"})
    if (name_is(f, n)) return true;
  return starts_with_icase(f.name, "Content-") || starts_with_icase(f.name, "X-Sealpost-");
}

// The body as the server may hand it back: line ends made CRLF, trailing
// empty lines ignored (some servers add or drop a final CRLF).
std::string body_digest(const std::string& body) {
  std::string canon = seal::canonical_crlf(body);
  while (canon.size() >= 2 && canon.compare(canon.size() - 2, 2, "\r\n") == 0)
    canon.resize(canon.size() - 2);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(canon.data(), canon.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
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

std::string CopyMarker::mac(const std::vector<HeaderField>& fields, const std::string& body) const {
  // Length-value framing: no two field lists give the same input.
  std::string input = "sealpost-copy-v2\n";
  for (const auto& f : fields) {
    if (!covered(f)) continue;
    const std::string_view v = trimmed(f.raw);
    input += std::to_string(v.size()) + ":";
    input.append(v.data(), v.size());
  }
  input += "body:" + body_digest(body);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
  return "v2 " + hex(out, len);
}

std::string CopyMarker::stamp(const std::string& message, const std::string& origin) const {
  SplitEntity e = split_entity(message);
  std::string headers;
  std::vector<HeaderField> kept;
  if (!origin.empty()) {
    kept.push_back({kOrigin, std::string(kOrigin) + ": " + origin + "\r\n"});
    headers += kept.back().raw;
  }
  for (auto& f : e.fields) {
    if (name_is(f, kField) || (!origin.empty() && name_is(f, kOrigin))) continue;
    append_field(headers, f.raw);
    kept.push_back(std::move(f));
  }
  return std::string(kField) + ": " + mac(kept, e.body) + "\r\n" + headers + "\r\n" + e.body;
}

bool CopyMarker::is_ours(const SplitEntity& e) const {
  const auto values = header_values(e.fields, kField);
  if (values.size() != 1) return false;
  return constant_time_equal(values.front(), mac(e.fields, e.body));
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
