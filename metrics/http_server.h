// Serves GET /metrics (Prometheus text) and GET /health ("ok") on a loopback
// address, on its own thread so the daemon's SMTP loop is never involved.
// Deliberately small: no keep-alive, 8 KiB of headers, no bodies, 5 s per
// request, at most 16 connections at a time; anything else is refused.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "metrics/registry.h"

namespace sealpost::metrics {

class HttpServer {
 public:
  // `address` is "127.0.0.1:9187" or "[::1]:9187" (port 0 picks a free one);
  // only loopback addresses are accepted, since the endpoint has no auth.
  // `healthy` (optional) turns /health into 503 when it returns false.
  static Result<std::unique_ptr<HttpServer>> start(const std::string& address,
                                                   const Registry& registry,
                                                   std::function<bool()> healthy = {});
  virtual ~HttpServer() = default;
  virtual std::uint16_t port() const = 0;
};

}  // namespace sealpost::metrics
