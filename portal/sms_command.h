// Sends a one-time code through the admin's SMS command (portal.sms_command):
// argv is split on spaces with "{number}" replaced by the recipient's number;
// no shell is involved and the code is written to the program's stdin, never
// into argv (where `ps` would show it).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"
#include "portal/second_factor.h"  // valid_phone_number

namespace sealpost::portal {

Result<void> run_sms_command(const std::string& command, std::string_view number,
                             std::string_view message,
                             std::chrono::seconds timeout = std::chrono::seconds(20));

}  // namespace sealpost::portal
