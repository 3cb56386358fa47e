// Adapts the staff directory (relay/auth) to what the SMTP session asks.
// Each connection keeps the directory it started with, so a reload never
// changes the rules in the middle of a session.
#pragma once

#include <memory>

#include "relay/auth/login_throttle.h"
#include "relay/auth/user_directory.h"
#include "relay/smtp/authenticator.h"

namespace sealpost::server {

class UserAuthenticator : public smtp::Authenticator {
 public:
  UserAuthenticator(std::shared_ptr<const auth::UserDirectory> users,
                    std::shared_ptr<auth::LoginThrottle> throttle)
      : users_(std::move(users)), throttle_(std::move(throttle)) {}
  bool verify(std::string_view user, std::string_view password) const override {
    return users_ != nullptr && users_->verify(user, password);
  }
  bool may_send_as(std::string_view user, std::string_view address) const override {
    return users_ != nullptr && users_->may_send_as(user, address);
  }
  bool may_try(std::string_view client) const override {
    return throttle_ == nullptr || throttle_->may_try(client);
  }
  void failed(std::string_view client) const override {
    if (throttle_) throttle_->failed(client);
  }

 private:
  std::shared_ptr<const auth::UserDirectory> users_;  // null: nobody can log in
  std::shared_ptr<auth::LoginThrottle> throttle_;     // shared by all connections
};

}  // namespace sealpost::server
