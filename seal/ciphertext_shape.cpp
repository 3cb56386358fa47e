#include "seal/ciphertext_shape.h"

#include <openssl/cms.h>
#include <openssl/objects.h>

#include <cctype>
#include <cstdint>
#include <memory>

namespace sealpost::seal {

namespace {

constexpr std::string_view kBegin = "-----BEGIN PGP MESSAGE-----";
constexpr std::string_view kEnd = "-----END PGP MESSAGE-----";

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Next line without its CR/LF; advances `rest`.
std::string_view next_line(std::string_view& rest) {
  const auto nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict base64 ('=' padding only at the very end, no stray characters).
bool decode_base64(std::string_view in, std::string& out) {
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t pad = 0;
  for (unsigned char c : in) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad) return false;  // data after padding
    const int v = base64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return pad <= 2 && (in.size() % 4) == 0;
}

}  // namespace

std::optional<OpenPgpPacket> read_openpgp_packet(std::string_view p, std::size_t pos) {
  if (pos >= p.size()) return std::nullopt;
  const auto b = static_cast<unsigned char>(p[pos++]);
  if (!(b & 0x80)) return std::nullopt;
  const auto avail = [&](std::size_t n) { return p.size() - pos >= n; };
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(p[pos + i]); };
  OpenPgpPacket pk;
  if (!(b & 0x40)) {  // old format
    pk.tag = (b >> 2) & 0x0f;
    std::size_t len = 0;
    switch (b & 3) {
      case 0:
        if (!avail(1)) return std::nullopt;
        len = byte(0);
        pos += 1;
        break;
      case 1:
        if (!avail(2)) return std::nullopt;
        len = (std::size_t{byte(0)} << 8) | byte(1);
        pos += 2;
        break;
      case 2:
        if (!avail(4)) return std::nullopt;
        len = (std::size_t{byte(0)} << 24) | (std::size_t{byte(1)} << 16) |
              (std::size_t{byte(2)} << 8) | byte(3);
        pos += 4;
        break;
      default:  // indeterminate: to the end of the data
        len = p.size() - pos;
        pk.indeterminate = true;
    }
    if (len == 0 || !avail(len)) return std::nullopt;
    pk.body = pos;
    pk.end = pos + len;
    return pk;
  }
  pk.tag = b & 0x3f;
  for (bool first = true;; first = false) {
    if (!avail(1)) return std::nullopt;
    const unsigned o1 = byte(0);
    std::size_t len = 0;
    bool partial = false;
    if (o1 < 192) {
      len = o1;
      pos += 1;
    } else if (o1 < 224) {
      if (!avail(2)) return std::nullopt;
      len = ((o1 - 192) << 8) + byte(1) + 192;
      pos += 2;
    } else if (o1 == 255) {
      if (!avail(5)) return std::nullopt;
      len = (std::size_t{byte(1)} << 24) | (std::size_t{byte(2)} << 16) |
            (std::size_t{byte(3)} << 8) | byte(4);
      pos += 5;
    } else {
      len = std::size_t{1} << (o1 & 0x1f);
      partial = true;
      pk.partial = true;
      pos += 1;
    }
    if (first) pk.body = pos;
    if (!avail(len)) return std::nullopt;
    pos += len;
    if (!partial) break;
  }
  pk.end = pos;
  return pk;
}

namespace {

struct CmsFree {
  void operator()(CMS_ContentInfo* c) const { CMS_ContentInfo_free(c); }
};

}  // namespace

std::optional<std::string> dearmor_pgp_message(std::string_view text) {
  std::string_view rest = trim(text);
  if (!rest.starts_with(kBegin)) return std::nullopt;
  if (trim(next_line(rest)) != kBegin) return std::nullopt;
  // Armor headers ("Key: value") up to the blank line.
  for (;;) {
    if (rest.empty()) return std::nullopt;
    const std::string_view line = trim(next_line(rest));
    if (line.empty()) break;
    if (line.find(": ") == std::string_view::npos) return std::nullopt;
  }
  std::string b64;
  bool ended = false;
  while (!rest.empty()) {
    const std::string_view line = trim(next_line(rest));
    if (line == kEnd) {
      ended = true;
      break;
    }
    if (line.empty()) continue;
    if (line.front() == '=' && line.size() == 5) continue;  // CRC-24 checksum line
    b64.append(line);
  }
  if (!ended || !trim(rest).empty()) return std::nullopt;  // one block, nothing after
  std::string out;
  if (!decode_base64(b64, out) || out.empty()) return std::nullopt;
  return out;
}

bool is_openpgp_encrypted_message(std::string_view packets) {
  enum { kMarker = 10, kPkesk = 1, kSkesk = 3, kSed = 9, kSeipd = 18, kAead = 20, kPadding = 21 };
  std::size_t pos = 0;
  int session_keys = 0;
  bool data = false;
  while (pos < packets.size()) {
    const auto pk = read_openpgp_packet(packets, pos);
    if (!pk) return false;
    // Markers may precede everything, padding may follow the data packet.
    const bool marker = pk->tag == kMarker && session_keys == 0 && !data;
    const bool padding = pk->tag == kPadding && data;
    const bool data_tag = pk->tag == kSeipd || pk->tag == kAead || pk->tag == kSed;
    if ((pk->tag == kPkesk || pk->tag == kSkesk) && !data)
      ++session_keys;
    else if (data_tag && session_keys > 0 && !data)
      data = true;
    else if (!marker && !padding)
      return false;  // a literal, compressed or signature packet: not ciphertext
    pos = pk->end;
  }
  return data;
}

bool is_openpgp_ciphertext(std::string_view body) {
  if (auto bin = dearmor_pgp_message(body)) return is_openpgp_encrypted_message(*bin);
  return is_openpgp_encrypted_message(body);
}

bool is_cms_enveloped(std::string_view der) {
  if (der.empty() || der.size() > (std::size_t{1} << 30)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* const start = p;
  std::unique_ptr<CMS_ContentInfo, CmsFree> cms(
      d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms || static_cast<std::size_t>(p - start) != der.size()) return false;
  const int nid = OBJ_obj2nid(CMS_get0_type(cms.get()));
  if (nid != NID_pkcs7_enveloped && nid != NID_id_smime_ct_authEnvelopedData) return false;
  STACK_OF(CMS_RecipientInfo)* ris = CMS_get0_RecipientInfos(cms.get());
  return ris && sk_CMS_RecipientInfo_num(ris) > 0;
}

}  // namespace sealpost::seal
