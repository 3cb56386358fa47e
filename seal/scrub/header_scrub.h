// Header part of the scrub: tracking/identifying headers and Message-ID.
#pragma once

#include <gmime/gmime.h>

#include <string>
#include <string_view>

#include "seal/scrub/scrub.h"

namespace sealpost::scrub {

// Case-insensitive glob with '*' only (header names are ASCII tokens).
bool header_glob_match(std::string_view pattern, std::string_view name);

// True when `name` goes under `profile` (strip list / allow list; Bcc and
// Resent-Bcc always).
bool header_must_go(std::string_view name, const ScrubProfile& profile);

// Removes the headers `profile` strips from one header block; returns how many.
int remove_headers(GMimeObject* obj, const ScrubProfile& profile);

// Removes headers of the top-level message; counts into report.
void scrub_headers(GMimeMessage* msg, const ScrubProfile& profile, ScrubReport& report);

// Rewrites the Message-ID unless it sits on exactly the practice's mail
// domain with an opaque left part (opaque_id_left_part), and maps the
// In-Reply-To/References entries that are ours (the practice domain or a
// subdomain of it, the same right side as this message's own original id, an
// internal-looking host) with the same HMAC, so threads survive and no
// workstation name leaves. `practice_domain` empty: the From domain (the
// top-level message); attached messages pass the outer sender's domain.
void scrub_message_id(GMimeMessage* msg, const ScrubContext& ctx, ScrubReport& report,
                      std::string_view practice_domain = {});

// The mail domain of the first From mailbox, lower-cased; empty if none.
std::string message_sender_domain(GMimeMessage* msg);

// A Message-ID left part that says nothing: 16..128 letters, digits and
// "-_$=+" with at least one digit. Dots (hosts, IPs, "JavaMail.user") fail.
bool opaque_id_left_part(std::string_view left);

// The id `original` is rewritten to (without angle brackets).
std::string mapped_message_id(std::string_view original, const ScrubContext& ctx);

// True for right-hand sides that name a private network: no dot, an IP
// literal, or a name under .local, .lan, .internal, .localdomain,
// .home.arpa, .corp, .intranet, .private.
bool internal_looking_host(std::string_view host);

}  // namespace sealpost::scrub
