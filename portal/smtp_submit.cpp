#include "portal/smtp_submit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace sealpost::portal {
namespace {

constexpr std::size_t kMaxReplyBytes = 16 * 1024;

Error submit_error(std::string reason) {
  return Error::temp("4.4.0", "reply could not be handed to the relay", std::move(reason));
}

class Connection {
 public:
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}

  Result<void> send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return submit_error(std::string("smtp send: ") + std::strerror(errno));
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  // Reads one (possibly multi-line) reply and returns its code.
  Result<int> reply() {
    std::size_t consumed = 0;
    while (true) {
      std::size_t eol = buf_.find("\r\n", consumed);
      if (eol != std::string::npos) {
        std::string_view line(buf_.data() + consumed, eol - consumed);
        consumed = eol + 2;
        if (line.size() < 3) return submit_error("smtp: short reply line");
        if (line.size() == 3 || line[3] == ' ') {
          int code = std::atoi(std::string(line.substr(0, 3)).c_str());
          buf_.erase(0, consumed);
          return code;
        }
        continue;  // "250-..." continuation
      }
      if (buf_.size() > kMaxReplyBytes) return submit_error("smtp: reply too long");
      char tmp[1024];
      ssize_t n = ::recv(fd_.get(), tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return submit_error("smtp: connection closed or timed out");
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  Result<void> command(std::string_view line, int expect_class) {
    if (auto s = send(std::string(line) + "\r\n"); !s) return s;
    auto code = reply();
    if (!code) return code.error();
    if (*code / 100 != expect_class)
      return submit_error("smtp: unexpected reply " + std::to_string(*code));
    return {};
  }

 private:
  UniqueFd fd_;
  std::string buf_;
};

Result<UniqueFd> connect_to(const SubmitTarget& t) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
      inet_pton(AF_INET, t.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(t.port);
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
             inet_pton(AF_INET6, t.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(t.port);
    len = sizeof(sockaddr_in6);
    family = AF_INET6;
  } else {
    return submit_error("smtp: submit host must be an IP literal");
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return submit_error(std::string("socket: ") + std::strerror(errno));
  timeval tv{static_cast<time_t>(t.timeout.count()), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return submit_error(std::string("smtp connect: ") + std::strerror(errno));
  return fd;
}

std::string dot_stuffed(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 64);
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  out += ".\r\n";
  return out;
}

bool safe_path(std::string_view addr) {
  return addr.size() <= 254 && addr.find_first_of("\r\n<> ") == std::string_view::npos;
}

}  // namespace

Result<void> submit_message(const SubmitTarget& target, std::string_view mail_from,
                            std::string_view rcpt_to, std::string_view message) {
  if (!safe_path(mail_from) || !safe_path(rcpt_to) || rcpt_to.empty())
    return submit_error("smtp: unsafe envelope address");
  auto fd = connect_to(target);
  if (!fd) return fd.error();
  Connection c(std::move(fd).value());
  auto greeting = c.reply();
  if (!greeting) return greeting.error();
  if (*greeting != 220) return submit_error("smtp: greeting " + std::to_string(*greeting));
  if (auto r = c.command("EHLO " + target.helo, 2); !r) return r;
  if (auto r = c.command("MAIL FROM:<" + std::string(mail_from) + ">", 2); !r) return r;
  if (auto r = c.command("RCPT TO:<" + std::string(rcpt_to) + ">", 2); !r) return r;
  if (auto r = c.command("DATA", 3); !r) return r;
  if (auto s = c.send(dot_stuffed(message)); !s) return s;
  auto done = c.reply();
  if (!done) return done.error();
  if (*done / 100 != 2) return submit_error("smtp: message refused " + std::to_string(*done));
  (void)c.command("QUIT", 2);
  return {};
}

}  // namespace sealpost::portal
