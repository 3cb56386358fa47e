#include "relay/delivery/tcp_connect.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace sealpost::delivery {
namespace {

struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

Error connect_error(const std::string& host, std::uint16_t port, const std::string& why) {
  return Error::make(421, "4.4.1", "Cannot connect to smarthost",
                     "connect " + host + ":" + std::to_string(port) + ": " + why);
}

// One address: non-blocking connect, wait for writability, then back to blocking
// (libetpan's socket driver expects a blocking descriptor and polls itself).
Result<UniqueFd> try_one(const addrinfo* ai, int timeout_ms) {
  UniqueFd fd(
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
  if (!fd) return Error::plain(std::strerror(errno));
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return Error::plain(std::strerror(errno));
    pollfd p{fd.get(), POLLOUT, 0};
    int r;
    do r = ::poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r == 0) return Error::plain("timed out");
    if (r < 0) return Error::plain(std::strerror(errno));
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return Error::plain(std::strerror(err));
  }
  // Commands are small writes that wait for a reply: without NODELAY, Nagle
  // plus the peer's delayed ACK stalls the end of DATA by ~40 ms per message.
  const int one = 1;
  (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
    return Error::plain(std::strerror(errno));
  return fd;
}

}  // namespace

Result<UniqueFd> tcp_connect(const std::string& host, std::uint16_t port,
                             std::chrono::seconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw); rc != 0)
    return connect_error(host, port, gai_strerror(rc));
  std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
  std::string last = "no addresses";
  const int timeout_ms = static_cast<int>(std::chrono::milliseconds(timeout).count());
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    auto fd = try_one(ai, timeout_ms);
    if (fd) return fd;
    last = fd.error().what();
  }
  return connect_error(host, port, last);
}

}  // namespace sealpost::delivery
