// Cryptographically secure randomness (libsodium) for ids, tokens and keys,
// and a constant-time comparison for anything a client can guess at.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sealpost {

std::string random_bytes(std::size_t n);
// URL-safe base32 (lower case, no padding); 13 chars carry 64 bits.
std::string random_token(std::size_t bytes);
// Queue ids: time-ordered prefix + 64 random bits, safe as file names.
std::string new_queue_id();
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace sealpost
