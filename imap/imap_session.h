// One authenticated IMAP connection over libetpan (mailimap): TCP with a
// deadline, implicit TLS or STARTTLS (TLS 1.2 or newer, delivery/tls_handshake.h)
// with the peer verified by OpenSSL against ca_file (delivery/tls_peer_verify.h)
// before LOGIN, then the few commands the inbound processor needs. Not
// thread-safe; one per account thread.
#pragma once

#include <libetpan/libetpan.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "imap/socket_registry.h"
#include "relay/delivery/tls_handshake.h"

namespace sealpost::imap {

struct FolderState {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 0;
};

// How move() took the original away.
enum class MoveResult {
  Moved,    // UID MOVE, or COPY + \Deleted + UID EXPUNGE of exactly this UID
  Flagged,  // no MOVE, no UIDPLUS: copied and flagged \Deleted, left for staff's expunge
};

struct FetchedMessage {
  std::uint32_t uid = 0;
  std::string data;  // the full RFC 5322 message
};

class ImapSession {
 public:
  // `sockets` (optional) holds the connection's socket for as long as the
  // session lives, so a shutdown can cut it; open() fails once it was cut.
  static Result<std::unique_ptr<ImapSession>> open(const ImapAccountConfig& cfg,
                                                   SocketRegistry* sockets = nullptr);
  ~ImapSession();  // LOGOUT and close
  ImapSession(const ImapSession&) = delete;
  ImapSession& operator=(const ImapSession&) = delete;

  Result<FolderState> select(const std::string& folder);
  // Read-only select (EXAMINE): looking into a folder changes nothing there.
  Result<FolderState> examine(const std::string& folder);
  // UIDs in the selected folder whose header field `name` contains `value`.
  Result<std::vector<std::uint32_t>> search_header(const std::string& name,
                                                   const std::string& value);
  // UIDs above `after` in the selected folder, ascending.
  Result<std::vector<std::uint32_t>> uids_after(std::uint32_t after);
  Result<FetchedMessage> fetch(std::uint32_t uid);
  // A refusal by the server (tagged NO/BAD) is a non-temporary error; a lost
  // connection a temporary one.
  Result<void> append(const std::string& folder, const std::string& message);
  // Creates `folder` unless it exists already.
  Result<void> ensure_folder(const std::string& folder);
  // MOVE when offered, else COPY + \Deleted + UID EXPUNGE (UIDPLUS). A
  // plain EXPUNGE would also remove every message staff marked \Deleted but
  // kept, so without UIDPLUS the original is only flagged (MoveResult::Flagged).
  Result<MoveResult> move(std::uint32_t uid, const std::string& folder);
  bool has_idle();
  // RFC 2177 IDLE on the selected folder until the server reports anything,
  // `timeout` passes, or `wake_fd` becomes readable (shutdown).
  Result<void> idle(std::chrono::seconds timeout, int wake_fd);
  // Hierarchy delimiter of the personal namespace ('/' when the server has none).
  Result<char> delimiter();

 private:
  struct SessionFree {
    void operator()(mailimap* s) const { mailimap_free(s); }
  };
  explicit ImapSession(const ImapAccountConfig& cfg) : cfg_(cfg) {}
  Result<void> start_tls();
  Result<void> verify_peer(const delivery::TlsHandshake& handshake);
  Result<void> login();
  Error failed(const std::string& step, int rc) const;

  const ImapAccountConfig& cfg_;
  std::unique_ptr<mailimap, SessionFree> s_;
  // After s_, so it ends first: the socket leaves the registry before
  // mailimap_free closes it.
  SocketRegistration registration_;
};

}  // namespace sealpost::imap
