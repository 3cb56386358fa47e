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
  // Both parsers: the string one (IMAP, tools) and the streaming one delivery
  // uses; they must agree on what they refuse.
  auto parsed = parse_message(raw, limits);
  auto streamed = parse_body(sealpost::Body(raw), limits);
  if (parsed.ok() != streamed.ok()) std::abort();
  if (!parsed) return 0;
  const auto facts = message_facts(parsed->get());
  (void)facts;
  // A serialised tree is marked for raw copying: each path gets its own parse.
  sealpost::BodyWriter plain_out;
  if (!serialise_without_bcc(streamed->get(), plain_out)) return 0;
  auto plain = plain_out.finish();
  auto p = protect_headers(parsed->get(), {});
  if (!plain || !p) return 0;
  // Output must stay proportional to input (no amplification through GMime).
  if (plain->size() > 4 * size + 4096 || p->payload.size() > 8 * size + 8192) std::abort();
  if (p->outer_headers.find("\nBcc:") != std::string::npos) std::abort();
  return 0;
}
