// Staff accounts from users.yaml (config key `users:`): who may submit mail
// and which envelope senders each may use.
//
//   users:
//     - name: anna
//       password: "$argon2id$v=19$m=65536,t=3,p=1$..."
//       addresses: [anna@praxis.example, empfang@praxis.example]
//
// Addresses are exact: no "*@domain" wildcards, so a leaked staff password
// cannot send as every mailbox of the practice. The domain compares
// case-insensitively, the local part exactly.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "relay/auth/password_hash.h"

namespace sealpost::auth {

struct UserAccount {
  std::string name;
  std::string password_hash;           // Argon2id PHC string
  std::vector<std::string> addresses;  // domain already lower-cased
};

class UserDirectory {
 public:
  // Unknown keys, bad names, duplicate users and non-Argon2id hashes are
  // errors whose reason reads "FILE:LINE: ...".
  static Result<UserDirectory> load(const std::string& path);
  static Result<UserDirectory> parse(std::string_view text, const std::string& file_name);

  // Argon2id check, slow on purpose. An unknown user costs a hash as well, so
  // response time does not reveal which user names exist.
  bool verify(std::string_view user, std::string_view password) const;
  bool may_send_as(std::string_view user, std::string_view address) const;

  const UserAccount* find(std::string_view name) const;
  const std::vector<UserAccount>& users() const { return users_; }

 private:
  std::vector<UserAccount> users_;
};

// Validates and normalizes one sender address ("Anna@Praxis.Example" ->
// "Anna@praxis.example"); error text says what is wrong.
Result<std::string> normalize_address(std::string_view address);
bool valid_user_name(std::string_view name);

// Adds a user to the users.yaml at `path`, written durably. An existing file
// keeps its owner, group and mode (the daemon's user must still read it); a
// new one is created 0640 with the group of its directory. Refuses an existing
// name. Comments in the file are not preserved (it is rewritten from the model).
Result<void> add_user(const std::string& path, const std::string& name, std::string_view password,
                      const std::vector<std::string>& addresses, const Argon2Params& params = {});
// Replaces the password hash of an existing user (addresses unchanged); same
// durability and ownership rules as add_user.
Result<void> set_password(const std::string& path, const std::string& name,
                          std::string_view password, const Argon2Params& params = {});

// The users.yaml text for a directory (used by add_user; stable order).
std::string render_users_yaml(const std::vector<UserAccount>& users);

}  // namespace sealpost::auth
