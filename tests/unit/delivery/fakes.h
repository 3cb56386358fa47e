// Test doubles for the delivery seams: a scriptable Transport and an AuditSink
// that remembers what it was told.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "audit/audit_sink.h"
#include "relay/delivery/transform.h"
#include "relay/delivery/transport.h"

namespace sealpost::testing {

class FakeTransport final : public Transport {
 public:
  struct Reply {
    int code;
    std::string enhanced;
    std::string text;
  };

  // Per-recipient reply; recipients not listed get 250 2.0.0.
  void reply_for(const std::string& address, Reply r) {
    std::lock_guard lk(mu_);
    replies_[address] = std::move(r);
  }
  void clear_replies() {
    std::lock_guard lk(mu_);
    replies_.clear();
  }
  // Every send fails as a whole (connection trouble) while set.
  void fail_all(std::optional<Error> e) {
    std::lock_guard lk(mu_);
    fail_all_ = std::move(e);
  }
  std::vector<OutboundMessage> sent() {
    std::lock_guard lk(mu_);
    return sent_;
  }

  Result<std::vector<RcptOutcome>> send(const OutboundMessage& msg) override {
    std::lock_guard lk(mu_);
    sent_.push_back(msg);
    if (fail_all_) return *fail_all_;
    std::vector<RcptOutcome> out;
    for (const auto& r : msg.rcpts) {
      auto it = replies_.find(r.address);
      Reply reply = it != replies_.end() ? it->second : Reply{250, "2.0.0", "Ok"};
      out.push_back(RcptOutcome{r.address, reply.code, reply.enhanced, reply.text});
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Reply> replies_;
  std::optional<Error> fail_all_;
  std::vector<OutboundMessage> sent_;
};

class RecordingAudit final : public AuditSink {
 public:
  void record(const AuditEvent& e) override {
    std::lock_guard lk(mu_);
    events_.push_back(e);
  }
  bool healthy() const override { return !broken; }
  std::atomic<bool> broken{false};  // as if the audit disk were full
  std::vector<AuditEvent> events() {
    std::lock_guard lk(mu_);
    return events_;
  }
  // Results of the delivery events whose "recipient" is `rcpt`.
  std::vector<std::string> results_for(const std::string& rcpt) {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    for (const auto& e : events_) {
      std::string who, result;
      for (const auto& [k, v] : e.fields) {
        if (k == "recipient") who = v;
        if (k == "result") result = v;
      }
      if (e.type == "delivery" && who == rcpt) out.push_back(result);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<AuditEvent> events_;
};

// Holds chosen recipients (as a policy/keystore failure would) and passes the rest.
class HoldingTransformer final : public Transformer {
 public:
  std::map<std::string, Error> holds;
  std::set<std::string> for_admin;  // of `holds`: keep in the spool (RcptStatus::Held)

  TransformResult prepare(const SpoolEnvelope& env, const std::vector<SpoolRecipient>& pending,
                          const Body& data) override {
    TransformResult r;
    PreparedMessage copy;
    copy.method = "plain";
    copy.message.mail_from = env.mail_from;
    copy.message.data = data;
    for (const auto& p : pending) {
      auto it = holds.find(p.address);
      if (it != holds.end())
        r.held.push_back(RecipientHold{p.address, it->second, for_admin.count(p.address) != 0});
      else
        copy.message.rcpts.push_back(OutboundRecipient{p.address, p.notify, p.orcpt});
    }
    if (!copy.message.rcpts.empty()) r.outgoing.push_back(std::move(copy));
    return r;
  }
};

}  // namespace sealpost::testing
