// Parses untrusted message bytes into a GMimeMessage within MimeLimits.
// Errors are permanent (the same bytes will never parse better): 554 5.6.0.
#pragma once

#include <string_view>

#include "common/result.h"
#include "seal/gmime_ptr.h"
#include "seal/mime_limits.h"

namespace sealpost::seal {

Result<GPtr<GMimeMessage>> parse_message(std::string_view data, const MimeLimits& limits);

// Counts entities and nesting of an already parsed tree; Error when over limits.
Result<void> check_tree(GMimeObject* root, const MimeLimits& limits);

}  // namespace sealpost::seal
