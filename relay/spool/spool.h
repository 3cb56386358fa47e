// The durable queue. A message is accepted ("250 queued as ID") only after
// Spool::Writer::commit() returned: data and envelope are fsynced, and so is
// the directory entry. Per-recipient state changes are durable too; a
// recipient is only ever pending, delivered or failed (the Postfix habit:
// anything not positively confirmed stays pending and is retried).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/body.h"
#include "common/result.h"

namespace sealpost {

// Held: kept for an admin (policy `hold`, or a message Sealpost cannot
// process safely); never retried, never expired, never bounced on its own:
// `sealpost queue release ID` makes it pending again, `queue delete ID` drops it.
enum class RcptStatus { Pending, Delivered, Failed, Held };

struct SpoolRecipient {
  std::string address;  // RCPT TO mailbox, without angle brackets
  std::string notify;   // DSN NOTIFY= as given ("" if absent)
  std::string orcpt;    // DSN ORCPT= as given ("" if absent)
  RcptStatus status = RcptStatus::Pending;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;  // unix seconds; 0 = now
  std::string last_reply;         // last remote reply or local reason (no content)
  std::string method;             // what delivery chose (plain, pgp, smime, pickup, ...)
};

struct SpoolEnvelope {
  std::string id;
  std::string mail_from;  // reverse-path without brackets; "" = null sender
  std::string ret;        // DSN RET= (FULL|HDRS|"")
  std::string envid;      // DSN ENVID= (xtext as received)
  std::string body;       // BODY= (7BIT|8BITMIME|"")
  bool smtputf8 = false;
  std::string auth_user;    // authenticated staff user ("" for filter mode)
  std::string client_addr;  // peer IP, kept for the audit, never put into outgoing mail
  std::string helo;
  std::string listener;      // which listener accepted it (address)
  std::int64_t arrival = 0;  // unix seconds
  std::uint64_t size = 0;    // bytes of message data
  // "" = mail accepted from a client; "dsn" = a bounce Sealpost generated itself:
  // it skips the transformer and never triggers another DSN (loop prevention).
  std::string kind;
  std::vector<SpoolRecipient> rcpts;

  bool done() const {
    for (const auto& r : rcpts)
      if (r.status == RcptStatus::Pending || r.status == RcptStatus::Held) return false;
    return true;
  }
};

class Spool {
 public:
  // Receives one message's data while DATA streams in; nothing is visible in the
  // queue until commit(). Destroying an uncommitted writer discards it.
  class Writer {
   public:
    virtual ~Writer() = default;
    virtual Result<void> write(std::string_view chunk) = 0;
    // Makes the message durable and visible; returns its queue id.
    virtual Result<std::string> commit(SpoolEnvelope envelope) = 0;
  };

  virtual ~Spool() = default;

  virtual Result<std::unique_ptr<Writer>> begin() = 0;
  virtual Result<SpoolEnvelope> load_envelope(const std::string& id) = 0;
  // Path of the message data file, present for as long as the message exists.
  // The file is encrypted at rest (FileSpool): use it to check existence, and
  // load_data() for the content.
  virtual Result<std::string> data_path(const std::string& id) = 0;
  virtual Result<std::string> load_data(const std::string& id) = 0;
  // The message data for delivery: in memory when small, otherwise read in
  // pieces from the encrypted file (FileSpool), so a big message is never
  // held whole. Every byte handed out is authenticated first.
  virtual Result<Body> load_body(const std::string& id) {
    auto data = load_data(id);
    if (!data) return data.error();
    return Body(std::move(data.value()));
  }
  // Durably replaces the envelope (recipient state); the data never changes.
  virtual Result<void> update(const SpoolEnvelope& envelope) = 0;
  // Read-modify-write of the current envelope: `change` returns false when
  // nothing needs writing. FileSpool holds the message's lock throughout, so
  // a change made by another process meanwhile is seen, never overwritten.
  virtual Result<void> modify(const std::string& id,
                              const std::function<bool(SpoolEnvelope&)>& change) {
    auto env = load_envelope(id);
    if (!env) return env.error();
    if (!change(*env)) return {};
    return update(*env);
  }
  virtual Result<void> remove(const std::string& id) = 0;
  // Makes removals durable that remove() left to a later directory sync.
  virtual void sync_removals() {}
  // Ids of all committed messages; corrupt entries are moved aside and logged.
  virtual std::vector<std::string> list() = 0;
};

}  // namespace sealpost
