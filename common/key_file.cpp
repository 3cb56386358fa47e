#include "common/key_file.h"

#include <filesystem>

#include "common/durable_file.h"
#include "common/secure_random.h"

namespace sealpost {

Result<std::string> load_or_create_key(const std::string& key_path, std::size_t bytes) {
  std::error_code ec;
  const std::filesystem::path path(key_path);
  if (std::filesystem::exists(path, ec)) {
    auto key = read_file(path, 1024);
    if (!key) return key.error();
    if (key->size() != bytes)
      return Error::plain(key_path + ": expected a " + std::to_string(bytes) + "-byte key");
    return key;
  }
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Error::plain("cannot create " + path.parent_path().string() + ": " + ec.message());
  std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all, ec);
  std::string key = random_bytes(bytes);
  if (auto w = write_file_durable(path, key, 0600); !w) return w.error();
  return key;
}

}  // namespace sealpost
