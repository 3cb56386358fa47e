// Parsing of human-friendly sizes ("50MiB", "10MB", "1024") and durations
// ("30s", "5m", "1h", "30d") used throughout the YAML configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sealpost {

std::optional<std::uint64_t> parse_size(std::string_view s);
std::optional<std::chrono::seconds> parse_duration(std::string_view s);

}  // namespace sealpost
