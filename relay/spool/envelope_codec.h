// The on-disk envelope format: a self-checking record file (the Postfix habit),
// so a torn or bit-flipped envelope is detected instead of half-delivered.
//
//   "SPEV"  version(1 byte)  cipher(1 byte)
//   record*                     type(1) length(4, big endian) value(length)
//   END record                  type 0xFF, length 32, SHA-256 of every byte before it
//
// This is the plaintext (cipher 0) of an envelope; on disk it is wrapped in the
// AES-256-GCM container of sealed_file.h, whose header says cipher 1. Decoders
// refuse a cipher they do not know (fail closed).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"
#include "relay/spool/spool.h"

namespace sealpost::spool {

inline constexpr std::size_t kMaxEnvelopeBytes = 4u << 20;  // 4 MiB: ~10k recipients
inline constexpr std::size_t kMaxRecipients = 10000;
inline constexpr std::size_t kMaxFieldBytes = 64u << 10;

std::string encode_envelope(const SpoolEnvelope& env);
// Appends the END record (checksum of everything before it). encode_envelope
// uses it; the fuzzer uses it to reach the record parser behind the checksum.
void append_envelope_trailer(std::string& bytes);
// Error (reason says why) for anything torn, corrupt, oversized or unknown.
Result<SpoolEnvelope> decode_envelope(std::string_view bytes);

}  // namespace sealpost::spool
