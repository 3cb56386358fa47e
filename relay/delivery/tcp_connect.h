// Outbound TCP connect with a deadline (libetpan's own connect has none we can
// bound per attempt): tries every address of the host in turn.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace sealpost::delivery {

Result<UniqueFd> tcp_connect(const std::string& host, std::uint16_t port,
                             std::chrono::seconds timeout);

}  // namespace sealpost::delivery
