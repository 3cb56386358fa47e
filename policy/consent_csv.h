// CSV import for the consent registry: "address,state,date[,sms]" per line,
// an optional header line, blank lines and '#' comments allowed. Any bad line
// fails the whole import with its line number, so nothing is half-imported.
// Which parsed records are then applied is ConsentStore::import_all's rule
// (merge_consent: never older over newer).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "policy/consent_store.h"

namespace sealpost::policy {

struct ConsentCsvLine {
  std::size_t line = 0;  // 1-based, for reports
  ConsentRecord record;
};

// `name` is used in errors ("consent.csv:7: ..."); `source` is stored per record.
Result<std::vector<ConsentCsvLine>> parse_consent_csv(const std::string& text,
                                                      const std::string& name,
                                                      const std::string& source);

}  // namespace sealpost::policy
