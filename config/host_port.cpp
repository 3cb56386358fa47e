#include "config/host_port.h"

#include <charconv>

#include "common/cidr.h"

namespace sealpost {

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c == '-' && label > 0 && i + 1 < name.size() && name[i + 1] != '.');
    if (!ok || ++label > 63) return false;
  }
  return true;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  HostPort hp;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    auto ip = IpAddress::parse(host);
    if (!ip || host.find(':') == std::string_view::npos) return std::nullopt;  // only v6 in []
    hp.host_is_ip = true;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6
    hp.host_is_ip = IpAddress::parse(host).has_value();
    if (!hp.host_is_ip && !is_dns_name(host)) return std::nullopt;
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 ||
      value > 65535)
    return std::nullopt;
  hp.host = std::string(host);
  hp.port = static_cast<std::uint16_t>(value);
  return hp;
}

}  // namespace sealpost
