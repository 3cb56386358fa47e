// Header part of the scrub: tracking/identifying headers and Message-ID.
#pragma once

#include <gmime/gmime.h>

#include <string_view>

#include "seal/scrub/scrub.h"

namespace sealpost::scrub {

// Case-insensitive glob with '*' only (header names are ASCII tokens).
bool header_glob_match(std::string_view pattern, std::string_view name);

// True when `name` goes under `profile` (strip list / allow list; Bcc always).
bool header_must_go(std::string_view name, const ScrubProfile& profile);

// Removes headers of the top-level message; counts into report.
void scrub_headers(GMimeMessage* msg, const ScrubProfile& profile, ScrubReport& report);

// Rewrites the Message-ID when its right side is not the sender's mail domain.
void scrub_message_id(GMimeMessage* msg, const ScrubContext& ctx, ScrubReport& report);

}  // namespace sealpost::scrub
