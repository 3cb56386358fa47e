#include "common/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "common/unique_fd.h"

namespace sealpost {

Error io_error(int err, std::string_view what, const std::filesystem::path& path) {
  std::string reason = std::string(what) + " " + path.string() + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT)
    return Error::make(452, "4.3.1", "Insufficient system storage", std::move(reason));
  return Error::temp("4.3.0", "Local error in processing", std::move(reason));
}

Result<void> fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return io_error(errno, "open dir", dir);
  if (::fsync(fd.get()) != 0) return io_error(errno, "fsync dir", dir);
  return {};
}

namespace {
Result<void> write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(errno, "write", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

namespace {

struct Owner {
  uid_t uid;
  gid_t gid;
};

Result<void> write_durable(const std::filesystem::path& path, std::string_view data, int mode,
                           const Owner* owner) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  auto tmp = path;
  tmp += ".tmp." + std::to_string(rng());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return io_error(errno, "create", tmp);
  auto cleanup = [&] { ::unlink(tmp.c_str()); };
  // The mode asked for, not what the umask leaves of it (a group-shared store
  // needs 0660 even under the relay's UMask=0077).
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    const int e = errno;
    cleanup();
    return io_error(e, "chmod", tmp);
  }
  if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0) {
    const int e = errno;
    cleanup();
    return io_error(e, "chown", tmp);
  }
  if (auto r = write_all(fd.get(), data, tmp); !r) {
    cleanup();
    return r;
  }
  if (::fsync(fd.get()) != 0) {
    int e = errno;
    cleanup();
    return io_error(e, "fsync", tmp);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    cleanup();
    return io_error(e, "rename", path);
  }
  return fsync_dir(path.parent_path().empty() ? "." : path.parent_path());
}

}  // namespace

Result<void> write_file_durable(const std::filesystem::path& path, std::string_view data,
                                int mode) {
  return write_durable(path, data, mode, nullptr);
}

Result<void> replace_file_durable(const std::filesystem::path& path, std::string_view data) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return io_error(errno, "stat", path);
  const Owner owner{st.st_uid, st.st_gid};
  // Only root can give a file away; anyone else writes as themselves anyway.
  const bool chown_needed = ::geteuid() == 0 && (st.st_uid != 0 || st.st_gid != ::getegid());
  return write_durable(path, data, static_cast<int>(st.st_mode & 07777),
                       chown_needed ? &owner : nullptr);
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::plain("cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return Error::plain("cannot stat " + path.string() + ": " + std::strerror(errno));
  if (static_cast<std::size_t>(st.st_size) > max_bytes)
    return Error::plain(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::plain("cannot read " + path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace sealpost
