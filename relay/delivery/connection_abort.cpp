#include "relay/delivery/connection_abort.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace sealpost::delivery {
namespace {

Error stopping() {
  return Error::make(421, "4.3.2", "Relay shutting down",
                     "delivery cut short: sealpostd is stopping (the message stays queued)");
}

}  // namespace

ConnectionAbort::Registration::Registration(Registration&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), fd_(std::exchange(other.fd_, -1)) {}

ConnectionAbort::Registration& ConnectionAbort::Registration::operator=(
    Registration&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ConnectionAbort::Registration::~Registration() {
  release();
}

void ConnectionAbort::Registration::release() {
  if (owner_ == nullptr) return;
  {
    std::lock_guard lock(owner_->mu_);
    owner_->fds_.erase(fd_);
  }
  ::close(fd_);
  owner_ = nullptr;
  fd_ = -1;
}

Result<ConnectionAbort::Registration> ConnectionAbort::watch(int socket_fd) {
  std::lock_guard lock(mu_);
  if (aborted_) return stopping();
  const int dup = ::fcntl(socket_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0)
    return Error::make(421, "4.3.0", "Local error", std::string("dup: ") + std::strerror(errno));
  fds_.insert(dup);
  return Registration(this, dup);
}

void ConnectionAbort::abort_all() {
  std::lock_guard lock(mu_);
  aborted_ = true;
  for (const int fd : fds_) (void)::shutdown(fd, SHUT_RDWR);
}

bool ConnectionAbort::aborted() const {
  std::lock_guard lock(mu_);
  return aborted_;
}

}  // namespace sealpost::delivery
