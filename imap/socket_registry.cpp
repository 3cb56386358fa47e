#include "imap/socket_registry.h"

#include <sys/socket.h>

namespace sealpost::imap {

bool SocketRegistry::add(int fd) {
  std::lock_guard lock(mu_);
  if (cut_) return false;
  fds_.insert(fd);
  return true;
}

void SocketRegistry::remove(int fd) {
  std::lock_guard lock(mu_);
  fds_.erase(fd);
}

void SocketRegistry::cut_all() {
  std::lock_guard lock(mu_);
  cut_ = true;
  // Under the lock: a session deregisters before closing its descriptor, so
  // every number here is still that session's socket.
  for (int fd : fds_) (void)::shutdown(fd, SHUT_RDWR);
}

}  // namespace sealpost::imap
