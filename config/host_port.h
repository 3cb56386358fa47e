// "host:port" addresses as written in sealpost.yaml: "127.0.0.1:587",
// "[::1]:587" (IPv6 must be bracketed) or "relay.example:25".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sealpost {

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  bool host_is_ip = false;
};

// Port must be 1..65535; the host an IP literal or a DNS name.
std::optional<HostPort> parse_host_port(std::string_view text);

// Letters, digits, '-' and '.', labels of 1..63 characters, at most 253 in all.
bool is_dns_name(std::string_view name);

}  // namespace sealpost
