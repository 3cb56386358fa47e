// The sockets of one ImapService's sessions, so that stop() can cut them when
// a folder thread still sits in a blocking libetpan call (a server that stopped
// answering) after the shutdown grace: shutdown(2) makes that call return at
// once instead of after the 120 s command timeout.
#pragma once

#include <mutex>
#include <set>

namespace sealpost::imap {

class SocketRegistry {
 public:
  // False once cut_all() ran: the session gives up instead of starting.
  bool add(int fd);
  void remove(int fd);
  // shutdown(SHUT_RDWR) on every registered socket; later add() fails.
  void cut_all();

 private:
  std::mutex mu_;
  std::set<int> fds_;
  bool cut_ = false;
};

// Keeps one socket registered for as long as it lives. Must end before the
// descriptor is closed, or cut_all() could hit a reused descriptor number.
class SocketRegistration {
 public:
  SocketRegistration() = default;
  SocketRegistration(SocketRegistry* registry, int fd) : registry_(registry), fd_(fd) {}
  SocketRegistration(const SocketRegistration&) = delete;
  SocketRegistration& operator=(const SocketRegistration&) = delete;
  ~SocketRegistration() { reset(); }
  void assign(SocketRegistry* registry, int fd) {
    reset();
    registry_ = registry;
    fd_ = fd;
  }
  void reset() {
    if (registry_) registry_->remove(fd_);
    registry_ = nullptr;
  }

 private:
  SocketRegistry* registry_ = nullptr;
  int fd_ = -1;
};

}  // namespace sealpost::imap
