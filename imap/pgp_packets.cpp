#include "imap/pgp_packets.h"

#include <cstddef>
#include <string>

#include "seal/ciphertext_shape.h"

namespace sealpost::imap {
namespace {

constexpr int kMaxPackets = 1000;

struct Header {
  int tag = -1;
  std::size_t body_end = 0;  // offset just past the packet (first chunk for partial lengths)
};

// One packet header at `pos`. For a partial-length body only the first
// chunk is skipped: the data packet is the last one looked at anyway.
std::optional<Header> read_header(std::string_view p, std::size_t pos) {
  if (pos >= p.size()) return std::nullopt;
  const auto b = static_cast<unsigned char>(p[pos++]);
  if (!(b & 0x80)) return std::nullopt;
  const auto left = [&] { return p.size() - pos; };
  const auto at = [&](std::size_t i) {
    return std::size_t{static_cast<unsigned char>(p[pos + i])};
  };
  Header h;
  std::size_t len = 0;
  if (!(b & 0x40)) {  // old format: tag in bits 5-2, length type in bits 1-0
    h.tag = (b >> 2) & 0x0f;
    const int type = b & 3;
    const std::size_t n = type == 0 ? 1 : type == 1 ? 2 : type == 2 ? 4 : 0;
    if (left() < n) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | at(i);
    if (type == 3) len = left() - n;  // indeterminate: to the end
    pos += n;
  } else {
    h.tag = b & 0x3f;
    if (left() < 1) return std::nullopt;
    const std::size_t o1 = at(0);
    if (o1 < 192) {
      len = o1;
      pos += 1;
    } else if (o1 < 224) {
      if (left() < 2) return std::nullopt;
      len = ((o1 - 192) << 8) + at(1) + 192;
      pos += 2;
    } else if (o1 == 255) {
      if (left() < 5) return std::nullopt;
      len = (at(1) << 24) | (at(2) << 16) | (at(3) << 8) | at(4);
      pos += 5;
    } else {
      len = std::size_t{1} << (o1 & 0x1f);  // partial body length
      pos += 1;
    }
  }
  if (len > left()) return std::nullopt;
  h.body_end = pos + len;
  return h;
}

}  // namespace

std::optional<int> encrypted_data_tag(std::string_view message) {
  std::string binary;
  if (auto dearmored = seal::dearmor_pgp_message(message)) {
    binary = std::move(*dearmored);
    message = binary;
  }
  std::size_t pos = 0;
  for (int i = 0; i < kMaxPackets; ++i) {
    auto h = read_header(message, pos);
    if (!h) return std::nullopt;
    if (h->tag != 1 && h->tag != 3 && h->tag != 10) return h->tag;
    pos = h->body_end;
  }
  return std::nullopt;
}

}  // namespace sealpost::imap
