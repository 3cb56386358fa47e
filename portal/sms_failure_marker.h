// A failed SMS send (sms_command or sms_webhook) leaves a marker that admins
// see without reading the portal's journal: <state_dir>/portal-audit/sms-failure
// holds the time and reason of the last failure (no number, no code) and is
// removed by the next successful send. `sealpost check-config` reports it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace sealpost::portal {

std::filesystem::path sms_failure_marker(const std::filesystem::path& state_dir);
// Called after every send; failures to write the marker are logged only.
void record_sms_outcome(const std::filesystem::path& state_dir, const Result<void>& sent);
// The marker's text ("<ISO time> <reason>"), if the last send failed.
std::optional<std::string> last_sms_failure(const std::filesystem::path& state_dir);

}  // namespace sealpost::portal
