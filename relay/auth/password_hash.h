// Staff password hashing with Argon2id (libargon2, the reference
// implementation; RFC 9106). Only the PHC-encoded string is ever stored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost::auth {

struct Argon2Params {
  std::uint32_t t_cost = 3;          // passes
  std::uint32_t m_cost_kib = 65536;  // 64 MiB: RFC 9106 §4 second recommended option
  std::uint32_t parallelism = 1;
};

// "$argon2id$v=19$m=...,t=...,p=...$salt$hash" with a fresh 16-byte salt.
Result<std::string> hash_password(std::string_view password, const Argon2Params& params = {});

// Constant-time check of `password` against an encoded Argon2id hash. Any
// malformed hash counts as a mismatch.
bool verify_password(const std::string& encoded, std::string_view password);

// Overwrites a password buffer before it is released (not optimized away).
void wipe_secret(std::string& s);

// Shape check used when loading users.yaml (prefix and sane length).
bool looks_like_argon2id(std::string_view encoded);

}  // namespace sealpost::auth
