// IPv4/IPv6 networks ("127.0.0.0/8", "::1/128") for trusted_networks and
// trusted_proxies. Matching is on raw address bytes; v4-mapped v6 is unwrapped.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace sealpost {

struct IpAddress {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};  // v4 uses the first 4
  static std::optional<IpAddress> parse(std::string_view text);
  std::string to_string() const;
};

class Cidr {
 public:
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& addr) const;
  const std::string& text() const { return text_; }

 private:
  IpAddress net_;
  int prefix_ = 0;
  std::string text_;
};

}  // namespace sealpost
