// Small formatting helpers shared by the admin command's verbs.
#pragma once

#include <cstdint>
#include <string>

namespace sealpost::cli {

// "2026-11-28T10:00:00Z" (UTC); "-" for 0 or negative.
std::string iso_time(std::int64_t unix_seconds);

// A JSON string literal, quotes included. Values can hold anything a client or
// a mail server sent: control characters (and DEL) are escaped as well.
std::string json_string(const std::string& s);

}  // namespace sealpost::cli
