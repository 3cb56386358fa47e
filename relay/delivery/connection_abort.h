// Cutting outbound SMTP connections short when sealpostd stops. A smarthost
// that stops answering can hold a delivery worker for smarthost.command_timeout
// (300 s by default), longer than systemd waits before it SIGKILLs. Each
// connection registers its socket here while it lives; abort_all() shuts all
// of them down, so a blocked read or write fails at once and the attempt ends
// as a temporary failure (the message stays queued: at-least-once), and no
// new connection is opened afterwards.
//
// The registry keeps its own duplicate of each descriptor, so it never shuts
// down a descriptor number that libetpan has closed and the kernel reused.
#pragma once

#include <mutex>
#include <set>

#include "common/result.h"

namespace sealpost::delivery {

class ConnectionAbort {
 public:
  // Unregisters (and closes the duplicate descriptor) when destroyed.
  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    ~Registration();

   private:
    friend class ConnectionAbort;
    Registration(ConnectionAbort* owner, int fd) : owner_(owner), fd_(fd) {}
    void release();
    ConnectionAbort* owner_ = nullptr;
    int fd_ = -1;  // our duplicate, the key in owner_->fds_
  };

  ConnectionAbort() = default;
  ConnectionAbort(const ConnectionAbort&) = delete;
  ConnectionAbort& operator=(const ConnectionAbort&) = delete;

  // Registers a connected socket. Once abort_all() ran: a temporary error
  // (421 4.3.2), and the caller must not use the connection.
  Result<Registration> watch(int socket_fd);
  // Shuts every registered socket down (both directions); later watch() calls fail.
  void abort_all();
  bool aborted() const;

 private:
  mutable std::mutex mu_;
  bool aborted_ = false;
  std::set<int> fds_;  // our duplicates of the registered sockets
};

}  // namespace sealpost::delivery
