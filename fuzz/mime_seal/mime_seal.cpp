// Fuzz target: arbitrary bytes through the bounded MIME parser, the facts
// extraction and the header-protection / plain serialisation path that every
// sealed message takes. Any crash, hang or unbounded growth is a bug.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "seal/header_protection.h"
#include "seal/message_facts.h"
#include "seal/message_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealpost::seal;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  MimeLimits limits;
  limits.max_size = 1u << 20;
  auto parsed = parse_message(raw, limits);
  if (!parsed) return 0;
  const auto facts = message_facts(parsed->get(), raw);
  (void)facts;
  const std::string plain = serialise_without_bcc(parsed->get());
  const ProtectedMessage p = protect_headers(parsed->get());
  // Output must stay proportional to input (no amplification through GMime).
  if (plain.size() > 4 * size + 4096 || p.payload.size() > 8 * size + 8192) std::abort();
  if (p.outer_headers.find("\nBcc:") != std::string::npos) std::abort();
  return 0;
}
