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

// Rewrites the Message-ID when its right side is not the sender's mail domain,
// and maps the In-Reply-To/References entries that are ours (same right side
// as this message's own original id, or an internal-looking host) the same
// way, so threads survive and no workstation name leaves.
void scrub_message_id(GMimeMessage* msg, const ScrubContext& ctx, ScrubReport& report);

// The id `original` is rewritten to (without angle brackets).
std::string mapped_message_id(std::string_view original, const ScrubContext& ctx);

// True for right-hand sides that name a private network: no dot, an IP
// literal, or a name under .local, .lan, .internal, .localdomain,
// .home.arpa, .corp, .intranet, .private.
bool internal_looking_host(std::string_view host);

}  // namespace sealpost::scrub
