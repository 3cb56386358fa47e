// Bounds for parsing untrusted messages. GMime itself has no size, part-count
// or depth limits we can set, so we check the raw bytes before parsing and the
// tree after it; anything outside is refused with a reason, never half-handled.
#pragma once

#include <cstddef>

namespace sealpost::seal {

struct MimeLimits {
  std::size_t max_size = 50u << 20;           // bytes of the whole message
  unsigned max_parts = 256;                   // MIME entities in the tree
  unsigned max_depth = 16;                    // multipart / message/rfc822 nesting
  std::size_t max_header_bytes = 256u << 10;  // top-level header section
};

}  // namespace sealpost::seal
