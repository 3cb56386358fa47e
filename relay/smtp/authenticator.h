// What the SMTP session needs to know about staff accounts. relay/auth's
// UserDirectory provides it in the daemon; tests use a fake.
#pragma once

#include <string_view>

namespace sealpost::smtp {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Slow on purpose (password hashing): the session calls it only from
  // run_blocking_step(), which the server runs off the network threads.
  virtual bool verify(std::string_view user, std::string_view password) const = 0;
  // May `user` use `address` as envelope sender?
  virtual bool may_send_as(std::string_view user, std::string_view address) const = 0;
  // Across connections: may `client` (an IP) try a password now, and note
  // that it just failed. The defaults throttle nothing (tests, filter mode).
  virtual bool may_try(std::string_view /*client*/) const { return true; }
  virtual void failed(std::string_view /*client*/) const {}
};

}  // namespace sealpost::smtp
