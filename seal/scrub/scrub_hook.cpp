#include "seal/scrub/scrub_hook.h"

#include <utility>

namespace sealpost::scrub {

Hook make_scrub_hook(std::map<std::string, ScrubProfile> profiles, ScrubContext ctx,
                     AuditSink& audit) {
  return [profiles = std::move(profiles), ctx = std::move(ctx), &audit](
             GMimeMessage* msg, const std::string& name, const std::string& queue_id,
             const std::string& recipients) -> Result<void> {
    static const ScrubProfile kStandard{};
    auto it = profiles.find(name);
    const ScrubProfile& profile = it != profiles.end() ? it->second : kStandard;
    const ScrubReport report = scrub_message(msg, profile, ctx);
    audit.record_later(AuditEvent{"scrub",
                                  {{"queue_id", queue_id},
                                   {"recipients", recipients},
                                   {"profile", profile.name},
                                   {"summary", report.summary()},
                                   // Issue 6: a client-signed/encrypted part went out
                                   // as the client made it, said in its own field.
                                   {"inner_untouched", report.inner_untouched ? "yes" : "no"}}});
    if (report.held.empty()) return {};
    // Held reasons carry category and MIME type only: safe for the log.
    std::string reason = "scrub: " + report.held.front();
    return Error::perm("5.7.1", "Attachment could not be cleaned of metadata", std::move(reason));
  };
}

}  // namespace sealpost::scrub
