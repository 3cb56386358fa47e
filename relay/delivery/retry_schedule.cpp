#include "relay/delivery/retry_schedule.h"

#include <algorithm>

namespace sealpost::delivery {

std::chrono::seconds retry_delay(const QueueConfig& queue, std::uint32_t failed_attempts) {
  if (queue.retry_schedule.empty()) return std::chrono::minutes(5);
  const std::size_t index = std::min<std::size_t>(failed_attempts == 0 ? 0 : failed_attempts - 1,
                                                  queue.retry_schedule.size() - 1);
  return queue.retry_schedule[index];
}

bool expired(const QueueConfig& queue, std::int64_t arrival, std::int64_t now) {
  return now - arrival >= queue.max_age.count();
}

}  // namespace sealpost::delivery
