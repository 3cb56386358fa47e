// Fuzz target: the SMTP session fed arbitrary bytes in arbitrary chunk sizes.
//
// Input layout: byte 0 = flags (bit 0: submission instead of filter mode,
// bit 1: implicit TLS) and, in its high nibble, how many chunk-length bytes
// follow (0 = feed everything at once); chunk lengths cycle; the rest is the
// client's byte stream.
//
// Besides crashes it checks properties (abort() on violation, so the corpus
// replay in the normal test run fails too):
//  - every feed/resume terminates and replies stay bounded by the input size
//    (a hang or reply amplification is a bug, not only a crash);
//  - a closed session says nothing more;
//  - every stored message has only CRLF line ends and lines of at most 998
//    characters: nothing smuggled past the DATA reader.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "relay/smtp/session.h"

namespace {

using namespace sealpost;

void check(bool ok) {
  if (!ok) std::abort();
}

bool clean_message(const std::string& data) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\r') {
      if (i + 1 >= data.size() || data[i + 1] != '\n') return false;
    } else if (c == '\n') {
      if (i == 0 || data[i - 1] != '\r') return false;
      line = 0;
      continue;
    }
    if (c != '\r' && ++line > smtp::kMaxTextLine) return false;
  }
  return true;
}

class CheckingSpool : public Spool {
 public:
  class W : public Writer {
   public:
    Result<void> write(std::string_view chunk) override {
      data_.append(chunk);
      return {};
    }
    Result<std::string> commit(SpoolEnvelope env) override {
      check(clean_message(data_));
      check(!env.rcpts.empty());
      check(env.size == data_.size());
      return std::string("Q");
    }

   private:
    std::string data_;
  };
  Result<std::unique_ptr<Writer>> begin() override {
    return std::unique_ptr<Writer>(std::make_unique<W>());
  }
  Result<SpoolEnvelope> load_envelope(const std::string&) override { return Error::plain("-"); }
  Result<std::string> data_path(const std::string&) override { return Error::plain("-"); }
  Result<std::string> load_data(const std::string&) override { return Error::plain("-"); }
  Result<void> update(const SpoolEnvelope&) override { return Error::plain("-"); }
  Result<void> remove(const std::string&) override { return Error::plain("-"); }
  std::vector<std::string> list() override { return {}; }
};

class OneUser : public smtp::Authenticator {
 public:
  bool verify(std::string_view u, std::string_view p) const override {
    return u == "anna" && p == "s3cret";
  }
  bool may_send_as(std::string_view u, std::string_view a) const override {
    return u == "anna" && a == "anna@praxis.example";
  }
};

std::size_t count_replies(const std::string& r) {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 3 < r.size(); ++i)
    if ((i == 0 || r[i - 1] == '\n') && r[i + 3] == ' ') ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {  // per-event logging would dominate the run time
    log::configure(log::Level::Error, log::Format::Text);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::size_t n_lengths = flags >> 4;
  if (size < 1 + n_lengths) return 0;
  std::vector<std::size_t> lengths;
  for (std::size_t i = 0; i < n_lengths; ++i) lengths.push_back(data[1 + i] + 1u);
  std::string_view stream(reinterpret_cast<const char*>(data) + 1 + n_lengths,
                          size - 1 - n_lengths);

  smtp::SessionSettings s;
  s.hostname = "relay.fuzz";
  s.mode = (flags & 1) ? ListenMode::Submission : ListenMode::Filter;
  s.tls_active = (flags & 2) != 0;
  s.tls_offered = true;
  s.max_message_size = 64 * 1024;
  s.max_recipients = 5;
  CheckingSpool spool;
  OneUser users;
  smtp::SmtpSession session(s, spool, &users);

  std::size_t replies = count_replies(session.greeting().replies);
  bool closed = false;
  auto collect = [&](smtp::SessionOutput out) {
    if (closed) check(out.replies.empty());
    replies += count_replies(out.replies);
    closed = closed || out.close;
    if (out.start_tls) session.tls_started();
    return out.blocked;
  };

  std::size_t pos = 0, k = 0;
  while (pos < stream.size()) {
    std::size_t len = lengths.empty() ? stream.size() : lengths[k++ % lengths.size()];
    std::string_view chunk = stream.substr(pos, len);
    pos += chunk.size();
    bool blocked = collect(session.feed(chunk));
    // Each resume answers one step; more rounds than input bytes means a loop.
    for (std::size_t rounds = 0; blocked; ++rounds) {
      check(rounds <= stream.size());
      session.run_blocking_step();
      blocked = collect(session.resume());
    }
    // Every reply answers at least one input byte (plus greeting and a 421).
    check(replies <= pos + 3);
  }
  return 0;
}
