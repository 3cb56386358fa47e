// CSV import for the consent registry: "address,state,date[,sms]" per line,
// an optional header line, blank lines and '#' comments allowed. Any bad line
// fails the whole import with its line number, so nothing is half-imported.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "policy/consent_store.h"

namespace sealpost::policy {

// `name` is used in errors ("consent.csv:7: ..."); `source` is stored per record.
Result<std::vector<ConsentRecord>> parse_consent_csv(const std::string& text,
                                                     const std::string& name,
                                                     const std::string& source);

}  // namespace sealpost::policy
