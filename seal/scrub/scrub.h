// Privacy scrub: removes what a practice's mail leaks about its inside
// (hostnames, client software, read-receipt requests, photo GPS, document
// authors) before the message is signed or encrypted. See docs/scrub.md.
#pragma once

#include <gmime/gmime.h>

#include <cstddef>
#include <string>
#include <vector>

#include "seal/scrub/scrub_profile.h"

namespace sealpost::scrub {

struct ScrubContext {
  std::string relay_hostname{};  // right side of rewritten Message-IDs
  // HMAC key for rewritten Message-IDs: the same original id always maps to
  // the same new one, so a staff follow-up's In-Reply-To/References can be
  // mapped too and the patient's client still threads. Empty: random ids.
  std::string message_id_key{};
  std::size_t max_attachment_bytes = 32u << 20;  // larger attachments are not parsed
};

struct ScrubReport {
  int headers_removed = 0;
  int attached_headers_removed = 0;  // headers of attached message/rfc822 parts
  int message_id_rewritten = 0;
  int boundaries_regenerated = 0;
  int images_cleaned = 0;
  int pdfs_cleaned = 0;
  int office_cleaned = 0;
  int html_remote_removed = 0;   // remote images, links, CSS url() in HTML parts
  int unscrubbable_passed = 0;   // broken attachments passed because the profile allows it
  bool inner_untouched = false;  // signed/encrypted content left as the client made it
  // Why the message must not go out as is (empty: fine). Reasons name the
  // category and MIME type only, never a file name or content.
  std::vector<std::string> held;

  // "headers_removed=3 message_id_rewritten=1 ..." for the audit log:
  // categories and counts only, never the removed values.
  std::string summary() const;
};

ScrubReport scrub_message(GMimeMessage* msg, const ScrubProfile& profile, const ScrubContext& ctx);

}  // namespace sealpost::scrub
