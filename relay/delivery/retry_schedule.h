// When to try a deferred recipient again, and when to give up (the bounce).
#pragma once

#include <chrono>
#include <cstdint>

#include "config/config.h"

namespace sealpost::delivery {

// Delay before the next attempt after `failed_attempts` failures (>= 1):
// entry N-1 of the schedule, the last entry repeating. Empty schedule: 5 minutes.
std::chrono::seconds retry_delay(const QueueConfig& queue, std::uint32_t failed_attempts);

// True once a message that arrived at `arrival` (unix seconds) is older than max_age.
bool expired(const QueueConfig& queue, std::int64_t arrival, std::int64_t now);

}  // namespace sealpost::delivery
