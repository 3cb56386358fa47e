// Adapter from scrub_message to SealingTransformer's ScrubHook
// (std::function<Result<void>(GMimeMessage*, const std::string& profile)>).
#pragma once

#include <gmime/gmime.h>

#include <functional>
#include <map>
#include <string>

#include "audit/audit_sink.h"
#include "common/result.h"
#include "seal/scrub/scrub.h"

namespace sealpost::scrub {

using Hook =
    std::function<Result<void>(GMimeMessage*, const std::string& profile,
                               const std::string& queue_id, const std::string& recipients)>;

// Scrubs with the named profile (unknown name: the built-in "standard"
// defaults, never "no scrub"), records a "scrub" audit event with the summary,
// and returns a permanent 5.7.1-style hold Error when anything could not be
// scrubbed and the profile does not allow passing it. `audit` must outlive the hook.
Hook make_scrub_hook(std::map<std::string, ScrubProfile> profiles, ScrubContext ctx,
                     AuditSink& audit);

}  // namespace sealpost::scrub
