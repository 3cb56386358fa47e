// Parses untrusted message bytes into a GMimeMessage within MimeLimits.
// Errors are permanent (the same bytes will never parse better): 554 5.6.0.
#pragma once

#include <memory>
#include <string_view>

#include "common/body.h"
#include "common/result.h"
#include "seal/body_stream.h"
#include "seal/gmime_ptr.h"
#include "seal/mime_limits.h"

namespace sealpost::seal {

// A copy: the tree does not refer to `data` afterwards (IMAP, tools, tests).
Result<GPtr<GMimeMessage>> parse_message(std::string_view data, const MimeLimits& limits);

// A message parsed in GMime's persistent mode: leaf parts refer to ranges of
// `source` instead of holding copies, so a big message costs its structure.
struct ParsedMessage {
  GPtr<GMimeMessage> message;
  std::shared_ptr<BodyStream> source;  // keeps the bytes readable while the tree lives
  GMimeMessage* get() const { return message.get(); }
  // A read of the source failed (I/O, a tampered spool file) at any point: what
  // GMime produced from it is incomplete and must not be used.
  // The error is temporary: the bytes may read fine on the next attempt, and a
  // spool file that is damaged for good is quarantined by the spool.
  std::optional<Error> source_error() const;
};

// Same limits and refusals as parse_message(), checked in one pass over the
// body in pieces before GMime sees it. `prescanned`: the same bytes already
// passed that pass (a second parse of one message) and it is skipped.
Result<ParsedMessage> parse_body(const Body& data, const MimeLimits& limits,
                                 bool prescanned = false);

// Counts entities and nesting of an already parsed tree; Error when over limits.
Result<void> check_tree(GMimeObject* root, const MimeLimits& limits);

}  // namespace sealpost::seal
