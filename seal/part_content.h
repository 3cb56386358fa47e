// The decoded bytes of a leaf MIME part (base64/QP undone), bounded: what
// scrubbing, the "already encrypted" check and the IMAP readable copy read.
#pragma once

#include <cstddef>
#include <string>

#include "seal/gmime_ptr.h"

namespace sealpost::seal {

// All decoded bytes; false when the part has no content, cannot be decoded
// or decodes to more than `cap` bytes.
bool read_decoded(GMimePart* part, std::size_t cap, std::string& out);

// Only the first `n` decoded bytes, without decoding the rest (format sniffing).
bool read_decoded_head(GMimePart* part, std::size_t n, std::string& out);

}  // namespace sealpost::seal
