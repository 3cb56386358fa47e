#include "relay/delivery/message_attempt.h"

#include <algorithm>
#include <exception>
#include <map>

#include "common/log.h"
#include "relay/delivery/dsn.h"
#include "relay/delivery/pass_through_transformer.h"
#include "relay/delivery/retry_schedule.h"

namespace sealpost::delivery {
namespace {

// What happened to one recipient in this attempt.
struct Outcome {
  int code = 0;          // 0: no answer (connection trouble, not prepared)
  std::string enhanced;  // "2.0.0", "4.4.1", "5.1.1"
  std::string text;
  std::string method;
  bool remote = false;  // an SMTP reply from the smarthost (vs. a local reason)
  bool hold = false;    // keep for an admin (RecipientHold::for_admin)
};

// Local problems surface when a storage or programming fault means we cannot
// tell what happened: always temporary, so nothing is lost (Postfix's DEFER).
constexpr std::int64_t kLocalRetrySeconds = 300;
// What of the original a DSN may quote: its header block (dsn.h caps it too).
constexpr std::size_t kDsnHeaderBytes = 64u << 10;

AttemptResult gone() {
  AttemptResult r;
  r.next = AttemptResult::Next::Gone;
  return r;
}

AttemptResult retry_at(std::int64_t when) {
  AttemptResult r;
  r.next = AttemptResult::Next::RetryAt;
  r.retry_at = when;
  return r;
}

std::string reply_line(const Outcome& o) {
  std::string s = o.code > 0 ? std::to_string(o.code) : std::string("local");
  if (!o.enhanced.empty()) s += " " + o.enhanced;
  if (!o.text.empty()) s += " " + o.text;
  return s;
}

Outcome from_error(const Error& e, const std::string& method, bool remote) {
  return Outcome{e.smtp_code, e.enhanced, e.client_text.empty() ? e.reason : e.client_text, method,
                 remote};
}

void report(AttemptContext& ctx, const std::string& id, const SpoolRecipient& r, const Outcome& o,
            const char* result) {
  const std::string reply = reply_line(o);
  log::info("delivery.attempt", {{"id", id},
                                 {"rcpt", r.address},
                                 {"method", o.method},
                                 {"result", result},
                                 {"attempt", r.attempts},
                                 {"reply", reply}});
  // Durable with the sync() before the spool records the outcome.
  ctx.audit.record_later(AuditEvent{"delivery",
                                    {{"queue_id", id},
                                     {"recipient", r.address},
                                     {"method", o.method},
                                     {"result", result},
                                     {"status", o.enhanced},
                                     {"reply", reply}}});
}

TransformResult prepare(AttemptContext& ctx, const SpoolEnvelope& env,
                        const std::vector<SpoolRecipient>& due, const Body& data) {
  if (env.kind == "dsn") {
    // Our own bounces are already in their final form; they skip the transformer.
    TransformResult r;
    r.outgoing.push_back(PreparedMessage{outbound_for(env, due, data), "dsn"});
    return r;
  }
  try {
    return ctx.transformer.prepare(env, due, data);
  } catch (const std::exception& e) {
    // Fail closed: a transformer fault defers every recipient, nothing leaves.
    log::error("delivery.transform_failed", {{"id", env.id}, {"error", e.what()}});
    TransformResult r;
    for (const auto& d : due)
      r.held.push_back(RecipientHold{
          d.address, Error::temp("4.3.0", "Message transformation failed", e.what())});
    return r;
  }
}

std::map<std::string, Outcome> send_all(AttemptContext& ctx, const std::string& id,
                                        const TransformResult& prepared) {
  std::map<std::string, Outcome> outcomes;
  for (const auto& h : prepared.held) {
    outcomes[h.address] = from_error(h.error, "hold", false);
    outcomes[h.address].hold = h.for_admin;
  }
  for (const auto& p : prepared.outgoing) {
    auto sent = ctx.transport.send(p.message);
    if (!sent) {
      // The per-recipient lines below carry the short text that may reach a
      // DSN; the detail (which step failed, the smarthost's reply, the TLS
      // version it offered) is what the admin needs to fix it.
      log::warn("delivery.smarthost_failed", {{"id", id},
                                              {"method", p.method},
                                              {"status", sent.error().enhanced},
                                              {"error", sent.error().what()}});
      for (const auto& r : p.message.rcpts)
        outcomes[r.address] = from_error(sent.error(), p.method, sent.error().smtp_code >= 400);
      continue;
    }
    for (const auto& r : p.message.rcpts)
      outcomes[r.address] = Outcome{0, "4.4.0", "no reply for this recipient", p.method, false};
    for (const auto& o : *sent)
      if (outcomes.count(o.address) != 0)
        outcomes[o.address] = Outcome{o.code, o.enhanced, o.reply, p.method, true};
  }
  return outcomes;
}

// Spools a DSN for the failed recipients that want one; its id, or "" if none.
Result<std::string> spool_dsn(AttemptContext& ctx, const SpoolEnvelope& env,
                              const std::vector<FailedRecipient>& failed, std::string_view data,
                              std::int64_t now) {
  auto dsn = compose_failure_dsn(env, failed, data, DsnContext{ctx.hostname, ctx.remote_mta, now});
  if (!dsn) return std::string();
  auto writer = ctx.spool.begin();
  if (!writer) return writer.error();
  if (auto w = (*writer)->write(*dsn); !w) return w.error();
  SpoolEnvelope bounce;
  bounce.mail_from = "";  // null reverse-path: a DSN never triggers another DSN
  bounce.kind = "dsn";
  bounce.arrival = now;
  bounce.smtputf8 = env.smtputf8;
  // The attached header block may carry raw 8-bit text from an 8BITMIME original.
  if (std::any_of(dsn->begin(), dsn->end(),
                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
    bounce.body = "8BITMIME";
  SpoolRecipient sender;
  sender.address = env.mail_from;
  sender.notify = "NEVER";
  bounce.rcpts.push_back(std::move(sender));
  auto id = (*writer)->commit(std::move(bounce));
  if (id)
    log::info("delivery.dsn", {{"id", env.id}, {"dsn_id", *id}, {"recipients", failed.size()}});
  return id;
}

}  // namespace

AttemptResult attempt_message(AttemptContext& ctx, const std::string& id, bool force,
                              std::int64_t now) {
  AttemptResult result;
  auto env = ctx.spool.load_envelope(id);
  if (!env) {
    if (!ctx.spool.data_path(id)) return gone();  // deleted or set aside
    log::error("delivery.load_failed", {{"id", id}, {"error", env.error().what()}});
    return retry_at(now + kLocalRetrySeconds);
  }

  std::vector<SpoolRecipient> due;
  for (const auto& r : env->rcpts)
    if (r.status == RcptStatus::Pending && (force || r.next_attempt <= now)) due.push_back(r);

  if (!due.empty() && !ctx.audit.healthy()) {
    ctx.audit.sync();  // retries what is queued; healthy again if the disk has room
    if (!ctx.audit.healthy()) {
      // Every decision and delivery is audited (GDPR Art. 5(2)): nothing is
      // sent while the record cannot be written. The mail waits in the spool.
      log::warn("delivery.audit_unavailable", {{"id", id}});
      return retry_at(now + kLocalRetrySeconds);
    }
  }
  if (!due.empty()) {
    auto data = ctx.spool.load_body(id);
    if (!data) {
      log::error("delivery.load_failed", {{"id", id}, {"error", data.error().what()}});
      return retry_at(now + kLocalRetrySeconds);
    }
    const auto outcomes = send_all(ctx, id, prepare(ctx, *env, due, *data));

    std::vector<FailedRecipient> failed;
    std::vector<std::size_t> failed_index;
    std::vector<std::size_t> touched;  // the recipients this attempt has news of
    for (std::size_t i = 0; i < env->rcpts.size(); ++i) {
      auto& r = env->rcpts[i];
      if (r.status != RcptStatus::Pending || !(force || r.next_attempt <= now)) continue;
      touched.push_back(i);
      const auto it = outcomes.find(r.address);
      // Neither sent nor held: the transformer forgot it. Never guess: defer.
      Outcome o =
          it != outcomes.end()
              ? it->second
              : Outcome{0, "4.3.0", "recipient was not prepared for delivery", "none", false};
      r.attempts += 1;
      r.last_reply = reply_line(o);
      r.method = o.method;
      if (o.code >= 200 && o.code < 300) {
        r.status = RcptStatus::Delivered;
        report(ctx, id, r, o, "delivered");
      } else if (o.hold) {
        r.status = RcptStatus::Held;
        report(ctx, id, r, o, "held");
      } else if (o.code >= 500 || expired(ctx.queue, env->arrival, now)) {
        r.status = RcptStatus::Failed;
        const bool too_old = o.code < 500;
        FailedRecipient f{
            r, too_old ? "4.4.7" : (o.enhanced.empty() ? "5.0.0" : o.enhanced),
            too_old ? "message expired in queue; last error: " + r.last_reply : r.last_reply,
            o.remote && !too_old};
        if (too_old) r.last_reply = f.diagnostic;
        failed.push_back(std::move(f));
        failed_index.push_back(i);
        report(ctx, id, r, o, too_old ? "expired" : "failed");
      } else {
        r.next_attempt = now + retry_delay(ctx.queue, r.attempts).count();
        report(ctx, id, r, o, "deferred");
      }
    }

    // The attempt's audit events (decision, scrub, delivery) are durable before
    // the spool changes: a crash can repeat an event, never lose one.
    ctx.audit.sync();

    if (!failed.empty()) {
      // The bounce is made durable before the failure is recorded: a crash in
      // between can duplicate a DSN, never lose one.
      // A DSN carries the original's identifying headers only (dsn.h).
      auto head = data->head(kDsnHeaderBytes);
      auto dsn =
          head ? spool_dsn(ctx, *env, failed, *head, now) : Result<std::string>(head.error());
      if (!dsn) {
        log::error("delivery.dsn_spool_failed", {{"id", id}, {"error", dsn.error().what()}});
        for (std::size_t i : failed_index) {
          env->rcpts[i].status = RcptStatus::Pending;
          env->rcpts[i].next_attempt = now + kLocalRetrySeconds;
        }
      } else if (!dsn->empty()) {
        result.new_ids.push_back(*dsn);
      }
    }

    // A finished message is removed straight away: the removal is durable on
    // its own, and skipping the envelope rewrite saves two fsyncs per message.
    if (env->done()) {
      if (auto r = ctx.spool.remove(id); r || !ctx.spool.data_path(id)) {
        result.next = AttemptResult::Next::Done;
        return result;
      } else {
        log::error("delivery.remove_failed", {{"id", id}, {"error", r.error().what()}});
      }
      // Could not remove: record the outcomes instead, so nothing is sent twice.
    }
    // Recorded on the envelope as it is *now*, under the message's lock: an
    // admin may have held or flushed meanwhile (`sealpost queue`), and our
    // older copy must not undo that. A deferral or a hold yields to a change
    // made meanwhile; a delivery or a failure (its DSN is spooled) happened
    // and is always recorded, or a later release would send it twice. What is
    // already delivered or failed there is never overwritten.
    auto u = ctx.spool.modify(id, [&](SpoolEnvelope& current) {
      for (std::size_t i : touched) {
        if (i >= current.rcpts.size() || current.rcpts[i].address != env->rcpts[i].address)
          continue;
        const auto done = [](RcptStatus st) {
          return st == RcptStatus::Delivered || st == RcptStatus::Failed;
        };
        if (done(current.rcpts[i].status)) continue;
        if (!done(env->rcpts[i].status) && current.rcpts[i].status != RcptStatus::Pending) continue;
        current.rcpts[i] = env->rcpts[i];
      }
      *env = current;
      return true;
    });
    if (u && env->done()) {  // the admin's change finished it
      if (auto r = ctx.spool.remove(id); !r && ctx.spool.data_path(id))
        log::error("delivery.remove_failed", {{"id", id}, {"error", r.error().what()}});
      result.next = AttemptResult::Next::Done;
      return result;
    }
    if (!u) {
      if (!ctx.spool.data_path(id)) {  // removed meanwhile (queue delete)
        result.next = AttemptResult::Next::Gone;
        return result;
      }
      log::error("delivery.update_failed", {{"id", id}, {"error", u.error().what()}});
      result.next = AttemptResult::Next::RetryAt;
      result.retry_at = now + kLocalRetrySeconds;
      return result;
    }
  }

  if (env->done()) {
    if (auto r = ctx.spool.remove(id); !r && ctx.spool.data_path(id))
      log::error("delivery.remove_failed", {{"id", id}, {"error", r.error().what()}});
    result.next = AttemptResult::Next::Done;
    return result;
  }
  std::int64_t next = INT64_MAX;
  for (const auto& r : env->rcpts)
    if (r.status == RcptStatus::Pending) next = std::min(next, r.next_attempt);
  result.next = AttemptResult::Next::RetryAt;
  result.retry_at = next;
  return result;
}

}  // namespace sealpost::delivery
