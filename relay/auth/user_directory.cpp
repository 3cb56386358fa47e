#include "relay/auth/user_directory.h"

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "common/durable_file.h"
#include "common/secure_random.h"
#include "config/yaml_reader.h"

namespace sealpost::auth {

namespace {

constexpr std::size_t kMaxUsersFile = 1u << 20;
constexpr std::size_t kMaxAddress = 254;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// A hash of a random password with the default parameters, computed once: an
// unknown user name is checked against it so it costs as much as a real one.
const std::string& dummy_hash() {
  static std::once_flag once;
  static std::string hash;
  std::call_once(once, [] {
    auto h = hash_password(random_token(16));
    hash = h ? h.value() : std::string();
  });
  return hash;
}

}  // namespace

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@' || c == '+'))
      return false;
  return true;
}

Result<std::string> normalize_address(std::string_view address) {
  if (address.empty() || address.size() > kMaxAddress)
    return Error::plain("address must be 1-254 characters");
  if (address.find('*') != std::string_view::npos)
    return Error::plain("wildcard addresses are not allowed; list each address");
  for (unsigned char c : address)
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '\\')
      return Error::plain("address contains a character that is not allowed");
  const auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size() || at > 64)
    return Error::plain("address must look like local-part@domain");
  std::string out(address);
  for (std::size_t i = at + 1; i < out.size(); ++i) out[i] = lower(out[i]);
  return out;
}

Result<UserDirectory> UserDirectory::load(const std::string& path) {
  auto text = read_file(path, kMaxUsersFile);
  if (!text) return Error::plain(path + ": " + text.error().what());
  return parse(*text, path);
}

Result<UserDirectory> UserDirectory::parse(std::string_view text, const std::string& file_name) {
  return run_yaml_loader<UserDirectory>([&] {
    YamlReader r(file_name, std::filesystem::path(file_name).parent_path());
    YAML::Node root = r.parse(text);
    r.check_map(root, "", {"users"});
    UserDirectory dir;
    // Named, not a temporary: sequence() returns a reference to its argument,
    // and a temporary in a range-for initializer dies before the loop body.
    const YAML::Node list = root["users"];
    for (const auto& u : r.sequence(list, "users")) {
      r.check_map(u, "users[]", {"name", "password", "addresses"});
      UserAccount acc;
      acc.name = r.string(u["name"], "users[].name");
      if (!valid_user_name(acc.name))
        r.fail(u["name"], "users[].name: use letters, digits and . _ - @ + (at most 64)");
      if (dir.find(acc.name) != nullptr) r.fail(u["name"], "duplicate user '" + acc.name + "'");
      acc.password_hash = r.string(u["password"], "users[].password");
      if (!looks_like_argon2id(acc.password_hash))
        r.fail(u["password"], "users[].password: not an $argon2id$ hash (use 'sealpost user add')");
      for (const auto& a : r.string_list(u["addresses"], "users[].addresses")) {
        auto norm = normalize_address(a);
        if (!norm) r.fail(u["addresses"], "users[].addresses: " + norm.error().what());
        acc.addresses.push_back(std::move(*norm));
      }
      dir.users_.push_back(std::move(acc));
    }
    return dir;
  });
}

const UserAccount* UserDirectory::find(std::string_view name) const {
  for (const auto& u : users_)
    if (u.name == name) return &u;
  return nullptr;
}

bool UserDirectory::verify(std::string_view user, std::string_view password) const {
  const UserAccount* acc = find(user);
  if (acc == nullptr) {
    (void)verify_password(dummy_hash(), password);  // same cost as a real check
    return false;
  }
  return verify_password(acc->password_hash, password);
}

bool UserDirectory::may_send_as(std::string_view user, std::string_view address) const {
  const UserAccount* acc = find(user);
  if (acc == nullptr) return false;
  auto norm = normalize_address(address);
  if (!norm) return false;
  for (const auto& a : acc->addresses)
    if (a == *norm) return true;
  return false;
}

std::string render_users_yaml(const std::vector<UserAccount>& users) {
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "users" << YAML::Value << YAML::BeginSeq;
  for (const auto& u : users) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << u.name;
    e << YAML::Key << "password" << YAML::Value << YAML::DoubleQuoted << u.password_hash;
    e << YAML::Key << "addresses" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& a : u.addresses) e << a;
    e << YAML::EndSeq << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return std::string("# Sealpost staff accounts; manage with 'sealpost user add|passwd'.\n") +
         e.c_str() + "\n";
}

namespace {

// users.yaml holds password hashes and is read by the daemon's user: an
// existing file keeps its owner, group and mode (often 0640 root:sealpost;
// root running `sealpost user add` must not make it root:root); a new one is
// 0640 with the group of its directory, as /etc/sealpost (root:sealpost) is.
Result<void> write_users_file(const std::string& path, const std::string& text) {
  // Re-read what we are about to write, so a bug here can never produce a
  // file the daemon then refuses to load.
  if (auto check = UserDirectory::parse(text, path); !check) return check.error();
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return replace_file_durable(path, text);
  const std::filesystem::path dir = std::filesystem::path(path).has_parent_path()
                                        ? std::filesystem::path(path).parent_path()
                                        : std::filesystem::path(".");
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) return io_error(errno, "stat", dir);
  if (auto w = write_file_durable(path, text, 0640); !w) return w;
  struct stat fst {};
  if (::stat(path.c_str(), &fst) == 0 && fst.st_gid != dst.st_gid &&
      ::chown(path.c_str(), static_cast<uid_t>(-1), dst.st_gid) != 0)
    return Error::plain("created " + path + " but could not give it the group of " + dir.string() +
                        " (gid " + std::to_string(dst.st_gid) + "): " + std::strerror(errno));
  return {};
}

Result<std::vector<UserAccount>> load_existing(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::vector<UserAccount>{};
  auto dir = UserDirectory::load(path);
  if (!dir) return dir.error();
  return dir->users();
}

}  // namespace

Result<void> add_user(const std::string& path, const std::string& name, std::string_view password,
                      const std::vector<std::string>& addresses, const Argon2Params& params) {
  if (!valid_user_name(name))
    return Error::plain("user name: use letters, digits and . _ - @ + (at most 64)");
  if (password.empty()) return Error::plain("empty password");

  auto users = load_existing(path);
  if (!users) return users.error();
  for (const auto& u : *users)
    if (u.name == name)
      return Error::plain("user '" + name +
                          "' already exists (change the password with 'sealpost user passwd')");
  UserAccount acc;
  acc.name = name;
  for (const auto& a : addresses) {
    auto norm = normalize_address(a);
    if (!norm) return Error::plain("--address " + a + ": " + norm.error().what());
    acc.addresses.push_back(std::move(*norm));
  }
  auto hash = hash_password(password, params);
  if (!hash) return hash.error();
  acc.password_hash = std::move(*hash);
  users->push_back(std::move(acc));
  return write_users_file(path, render_users_yaml(*users));
}

Result<void> set_password(const std::string& path, const std::string& name,
                          std::string_view password, const Argon2Params& params) {
  if (password.empty()) return Error::plain("empty password");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Error::plain(path + ": no such file");
  auto users = load_existing(path);
  if (!users) return users.error();
  for (auto& u : *users) {
    if (u.name != name) continue;
    auto hash = hash_password(password, params);
    if (!hash) return hash.error();
    u.password_hash = std::move(*hash);
    return write_users_file(path, render_users_yaml(*users));
  }
  return Error::plain("no user '" + name + "' in " + path);
}

}  // namespace sealpost::auth
