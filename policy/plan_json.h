// A Plan as JSON, for `sealpost policy explain --json` and anything else that
// wants the same shape: {"recipients": [{"address", "method", "rule",
// "rule_location", "reasons", ...}], "subject_tag_removed": "..."}.
#pragma once

#include <string>
#include <string_view>

#include "policy/plan.h"

namespace sealpost::policy {

std::string plan_to_json(const Plan& plan);
// A JSON string literal (quotes included); control characters escaped.
std::string json_string(std::string_view s);

}  // namespace sealpost::policy
