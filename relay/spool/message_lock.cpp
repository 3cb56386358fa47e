#include "relay/spool/message_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

namespace sealpost::spool {

Result<MessageLock> MessageLock::acquire(const std::filesystem::path& data_file) {
  UniqueFd fd(::open(data_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Error::plain("no such message");
    return Error::plain("cannot open " + data_file.string() + ": " + std::strerror(errno));
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR)
      return Error::plain("cannot lock " + data_file.string() + ": " + std::strerror(errno));
  }
  return MessageLock(std::move(fd));
}

}  // namespace sealpost::spool
