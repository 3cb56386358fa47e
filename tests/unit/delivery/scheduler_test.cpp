#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <functional>

#include "relay/delivery/delivery_scheduler.h"
#include "relay/delivery/message_attempt.h"
#include "relay/delivery/pass_through_transformer.h"
#include "relay/spool/file_spool.h"
#include "tests/unit/delivery/fakes.h"
#include "tests/unit/spool/temp_dir.h"

using namespace sealpost;
using namespace sealpost::testing;
using namespace std::chrono_literals;

namespace {

Config test_config() {
  Config cfg;
  cfg.hostname = "relay.test";
  cfg.smarthost.host = "smarthost.test";
  cfg.queue.workers = 2;
  cfg.queue.retry_schedule = {std::chrono::seconds(60), std::chrono::seconds(600)};
  return cfg;
}

SpoolRecipient rcpt(const std::string& address, const std::string& notify = "") {
  SpoolRecipient r;
  r.address = address;
  r.notify = notify;
  return r;
}

std::string spool_message(Spool& spool, std::vector<SpoolRecipient> rcpts,
                          const std::string& from = "arzt@praxis.example", std::int64_t arrival = 0,
                          const std::string& data = "Subject: Befund\r\n\r\nSECRET-BODY\r\n") {
  auto w = spool.begin();
  REQUIRE(w.ok());
  REQUIRE((*w)->write(data).ok());
  SpoolEnvelope env;
  env.mail_from = from;
  env.arrival = arrival;
  env.rcpts = std::move(rcpts);
  auto id = (*w)->commit(env);
  REQUIRE(id.ok());
  return *id;
}

const SpoolRecipient& find(const SpoolEnvelope& env, const std::string& address) {
  for (const auto& r : env.rcpts)
    if (r.address == address) return r;
  FAIL("recipient " << address << " missing");
  return env.rcpts.front();
}

std::string text(const Body& b) {
  auto s = b.to_string(SIZE_MAX);
  REQUIRE(s.ok());
  return *s;
}

std::vector<OutboundMessage> dsns_in(const std::vector<OutboundMessage>& sent) {
  std::vector<OutboundMessage> out;
  for (const auto& m : sent)
    if (m.mail_from.empty()) out.push_back(m);
  return out;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<spool::FileSpool> spool = std::move(spool::FileSpool::open(dir.path()).value());
  delivery::PassThroughTransformer transformer;
  FakeTransport transport;
  RecordingAudit audit;
  Config cfg = test_config();
};

}  // namespace

TEST_CASE("per-recipient outcomes: delivered, deferred with retry time, failed with DSN") {
  Fixture f;
  f.transport.reply_for("later@x.example", {451, "4.2.0", "mailbox busy"});
  f.transport.reply_for("gone@x.example", {550, "5.1.1", "no such user"});
  const auto id = spool_message(
      *f.spool, {rcpt("ok@x.example"), rcpt("later@x.example"), rcpt("gone@x.example")});
  const auto before = static_cast<std::int64_t>(std::time(nullptr));
  {
    DeliveryScheduler s(f.cfg, *f.spool, f.transformer, f.transport, f.audit);
    s.start();
    REQUIRE(s.wait_idle(10s));
    s.stop();
  }
  auto env = f.spool->load_envelope(id);
  REQUIRE(env.ok());
  CHECK(find(*env, "ok@x.example").status == RcptStatus::Delivered);
  const auto& later = find(*env, "later@x.example");
  CHECK(later.status == RcptStatus::Pending);
  CHECK(later.attempts == 1);
  CHECK(later.next_attempt >= before + 60);
  CHECK(later.next_attempt <= before + 62);
  CHECK(later.last_reply == "451 4.2.0 mailbox busy");
  CHECK(find(*env, "gone@x.example").status == RcptStatus::Failed);

  const auto dsns = dsns_in(f.transport.sent());
  REQUIRE(dsns.size() == 1);
  REQUIRE(dsns[0].rcpts.size() == 1);
  CHECK(dsns[0].rcpts[0].address == "arzt@praxis.example");
  CHECK(text(dsns[0].data).find("Final-Recipient: rfc822; gone@x.example") != std::string::npos);
  CHECK(text(dsns[0].data).find("later@x.example") == std::string::npos);
  CHECK(text(dsns[0].data).find("SECRET-BODY") == std::string::npos);
  // The delivered DSN left the spool; only the original (one pending recipient) remains.
  CHECK(f.spool->list() == std::vector<std::string>{id});

  CHECK(f.audit.results_for("ok@x.example") == std::vector<std::string>{"delivered"});
  CHECK(f.audit.results_for("later@x.example") == std::vector<std::string>{"deferred"});
  CHECK(f.audit.results_for("gone@x.example") == std::vector<std::string>{"failed"});
}

TEST_CASE("a restarted scheduler resumes only due recipients; flush retries now") {
  Fixture f;
  f.transport.reply_for("later@x.example", {451, "4.2.0", "busy"});
  const auto id = spool_message(*f.spool, {rcpt("ok@x.example"), rcpt("later@x.example")});
  {
    DeliveryScheduler s(f.cfg, *f.spool, f.transformer, f.transport, f.audit);
    s.start();
    REQUIRE(s.wait_idle(10s));
  }  // destructor stops: the "crash/restart" boundary
  REQUIRE(f.transport.sent().size() == 1);
  f.transport.clear_replies();

  DeliveryScheduler restarted(f.cfg, *f.spool, f.transformer, f.transport, f.audit);
  restarted.start();
  REQUIRE(restarted.wait_idle(10s));
  CHECK(f.transport.sent().size() == 1);  // not due for another minute: nothing sent
  CHECK(f.spool->list().size() == 1);

  restarted.flush();
  REQUIRE(restarted.wait_idle(10s));
  const auto sent = f.transport.sent();
  REQUIRE(sent.size() == 2);
  REQUIRE(sent[1].rcpts.size() == 1);  // the delivered recipient is not sent again
  CHECK(sent[1].rcpts[0].address == "later@x.example");
  CHECK(f.spool->list().empty());
  CHECK_FALSE(f.spool->load_envelope(id).ok());
}

TEST_CASE("a message older than max_age bounces instead of being retried") {
  Fixture f;
  f.transport.reply_for("later@x.example", {451, "4.2.0", "busy"});
  const auto old = static_cast<std::int64_t>(std::time(nullptr)) - f.cfg.queue.max_age.count() - 10;
  spool_message(*f.spool, {rcpt("later@x.example")}, "arzt@praxis.example", old);
  DeliveryScheduler s(f.cfg, *f.spool, f.transformer, f.transport, f.audit);
  s.start();
  REQUIRE(s.wait_idle(10s));
  const auto dsns = dsns_in(f.transport.sent());
  REQUIRE(dsns.size() == 1);
  CHECK(text(dsns[0].data).find("Status: 4.4.7") != std::string::npos);
  CHECK(f.spool->list().empty());
  CHECK(f.audit.results_for("later@x.example") == std::vector<std::string>{"expired"});
}

TEST_CASE("no DSN for NOTIFY=NEVER or a null sender; a failing DSN is not bounced") {
  Fixture f;
  f.transport.reply_for("gone@x.example", {550, "5.1.1", "no such user"});
  spool_message(*f.spool, {rcpt("gone@x.example", "NEVER")});
  spool_message(*f.spool, {rcpt("gone@x.example")}, "");
  // A bounce to a sender that itself fails permanently: dropped, never looped.
  f.transport.reply_for("bouncing@praxis.example", {550, "5.1.1", "no such user"});
  spool_message(*f.spool, {rcpt("gone@x.example")}, "bouncing@praxis.example");
  DeliveryScheduler s(f.cfg, *f.spool, f.transformer, f.transport, f.audit);
  s.start();
  REQUIRE(s.wait_idle(10s));
  const auto dsns = dsns_in(f.transport.sent());
  CHECK(dsns.size() == 2);  // the null-sender original + exactly one DSN (to bouncing@)
  std::size_t to_bouncing = 0;
  for (const auto& d : dsns)
    if (!d.rcpts.empty() && d.rcpts[0].address == "bouncing@praxis.example") ++to_bouncing;
  CHECK(to_bouncing == 1);
  CHECK(f.spool->list().empty());
}

TEST_CASE("a connection failure defers every recipient; enqueue delivers a fresh message") {
  Fixture f;
  f.transport.fail_all(Error::make(421, "4.4.1", "Cannot connect to smarthost", "refused"));
  DeliveryScheduler s(f.cfg, *f.spool, f.transformer, f.transport, f.audit);
  s.start();
  const auto id = spool_message(*f.spool, {rcpt("a@x.example"), rcpt("b@x.example")});
  s.enqueue(id);
  REQUIRE(s.wait_idle(10s));
  auto env = f.spool->load_envelope(id);
  REQUIRE(env.ok());
  for (const auto& r : env->rcpts) {
    CHECK(r.status == RcptStatus::Pending);
    CHECK(r.attempts == 1);
    CHECK(r.last_reply == "421 4.4.1 Cannot connect to smarthost");
  }
  f.transport.fail_all(std::nullopt);
  s.flush();
  REQUIRE(s.wait_idle(10s));
  CHECK(f.spool->list().empty());
}

TEST_CASE("transformer holds: temporary retries, permanent bounces, nothing else leaves") {
  Fixture f;
  HoldingTransformer holding;
  holding.holds.emplace("nokey@x.example", Error::temp("4.7.0", "no key yet"));
  holding.holds.emplace("refused@x.example", Error::perm("5.7.1", "policy forbids plain mail"));
  const auto id = spool_message(
      *f.spool, {rcpt("nokey@x.example"), rcpt("refused@x.example"), rcpt("ok@x.example")});
  DeliveryScheduler s(f.cfg, *f.spool, holding, f.transport, f.audit);
  s.start();
  REQUIRE(s.wait_idle(10s));
  auto env = f.spool->load_envelope(id);
  REQUIRE(env.ok());
  CHECK(find(*env, "nokey@x.example").status == RcptStatus::Pending);
  CHECK(find(*env, "nokey@x.example").method == "hold");
  CHECK(find(*env, "refused@x.example").status == RcptStatus::Failed);
  CHECK(find(*env, "ok@x.example").status == RcptStatus::Delivered);
  const auto sent = f.transport.sent();
  for (const auto& m : sent)
    for (const auto& r : m.rcpts) CHECK(r.address != "nokey@x.example");
  const auto dsns = dsns_in(sent);
  REQUIRE(dsns.size() == 1);
  CHECK(text(dsns[0].data).find("Status: 5.7.1") != std::string::npos);
  CHECK(text(dsns[0].data).find("x-local; 550 5.7.1 policy forbids plain mail") !=
        std::string::npos);
}

TEST_CASE("a hold for an admin stays in the spool: no retry, no bounce, no expiry") {
  Fixture f;
  HoldingTransformer holding;
  holding.holds.emplace("pat@x.example", Error::make(554, "5.6.0", "message structure refused"));
  holding.for_admin.insert("pat@x.example");
  const auto id = spool_message(*f.spool, {rcpt("pat@x.example"), rcpt("ok@x.example")});
  {
    DeliveryScheduler s(f.cfg, *f.spool, holding, f.transport, f.audit);
    s.start();
    REQUIRE(s.wait_idle(10s));
    s.flush();  // a flush does not release a held recipient
    REQUIRE(s.wait_idle(10s));
    s.stop();
  }
  auto env = f.spool->load_envelope(id);
  REQUIRE(env.ok());
  CHECK(find(*env, "pat@x.example").status == RcptStatus::Held);
  CHECK(find(*env, "pat@x.example").attempts == 1);
  CHECK(find(*env, "pat@x.example").last_reply.find("5.6.0") != std::string::npos);
  CHECK(find(*env, "ok@x.example").status == RcptStatus::Delivered);
  CHECK_FALSE(env->done());
  CHECK(dsns_in(f.transport.sent()).empty());
  for (const auto& m : f.transport.sent())
    for (const auto& r : m.rcpts) CHECK(r.address != "pat@x.example");

  // Long past max_age, a restarted daemon still neither bounces nor drops it.
  f.cfg.queue.max_age = std::chrono::seconds(1);
  DeliveryScheduler later(f.cfg, *f.spool, holding, f.transport, f.audit);
  later.start();
  REQUIRE(later.wait_idle(10s));
  later.stop();
  CHECK(find(*f.spool->load_envelope(id), "pat@x.example").status == RcptStatus::Held);
  CHECK(dsns_in(f.transport.sent()).empty());
}

TEST_CASE("a DSN quoting raw 8-bit headers is sent as 8BITMIME") {
  Fixture f;
  f.transport.reply_for("gone@x.example", {550, "5.1.1", "no such user"});
  spool_message(*f.spool, {rcpt("gone@x.example")}, "arzt@praxis.example", 0,
                "From: Dr. M\xc3\xbcller <arzt@praxis.example>\r\n"
                "Subject: Befund f\xc3\xbcr Frau M\xc3\xbcller\r\n\r\nSECRET-BODY\r\n");
  spool_message(*f.spool, {rcpt("gone@x.example")});
  DeliveryScheduler s(f.cfg, *f.spool, f.transformer, f.transport, f.audit);
  s.start();
  REQUIRE(s.wait_idle(10s));
  const auto dsns = dsns_in(f.transport.sent());
  REQUIRE(dsns.size() == 2);
  int eight_bit = 0;
  for (const auto& d : dsns) {
    const bool has_8bit = text(d.data).find("M\xc3\xbcller") != std::string::npos;
    CHECK(d.eight_bit == has_8bit);
    eight_bit += d.eight_bit ? 1 : 0;
  }
  CHECK(eight_bit == 1);
}

namespace {

// Plays the admin: while the attempt is busy with the message, a `sealpost
// queue` command changes its envelope (a modify() of its own, as the CLI
// does), then the message is passed through.
class AdminActsMidAttempt final : public Transformer {
 public:
  AdminActsMidAttempt(Spool& spool, std::function<void(SpoolRecipient&)> change)
      : spool_(spool), change_(std::move(change)) {}
  TransformResult prepare(const SpoolEnvelope& env, const std::vector<SpoolRecipient>& pending,
                          const Body& data) override {
    auto r = spool_.modify(env.id, [this](SpoolEnvelope& current) {
      for (auto& rc : current.rcpts) change_(rc);
      return true;
    });
    REQUIRE(r.ok());
    return inner_.prepare(env, pending, data);
  }

 private:
  Spool& spool_;
  std::function<void(SpoolRecipient&)> change_;
  delivery::PassThroughTransformer inner_;
};

}  // namespace

TEST_CASE("an admin's change made during an attempt is not overwritten by it") {
  Fixture f;
  f.transport.reply_for("later@x.example", {451, "4.2.0", "mailbox busy"});
  auto held = rcpt("held@x.example");
  held.status = RcptStatus::Held;
  const auto id = spool_message(*f.spool, {rcpt("later@x.example"), held});
  AdminActsMidAttempt admin(*f.spool, [](SpoolRecipient& rc) {  // queue release
    if (rc.status == RcptStatus::Held) rc.status = RcptStatus::Pending;
  });
  delivery::AttemptContext ctx{f.cfg.queue, "relay.test", "smarthost.test", *f.spool,
                               admin,       f.transport,  f.audit};
  const auto result = delivery::attempt_message(ctx, id, false, std::time(nullptr));
  CHECK(result.next == delivery::AttemptResult::Next::RetryAt);
  auto env = f.spool->load_envelope(id);
  REQUIRE(env.ok());
  // The attempt's own news is recorded ...
  CHECK(find(*env, "later@x.example").attempts == 1);
  CHECK(find(*env, "later@x.example").last_reply == "451 4.2.0 mailbox busy");
  // ... and the release it did not know about stands.
  CHECK(find(*env, "held@x.example").status == RcptStatus::Pending);
}

TEST_CASE("a delivery made during an admin's hold is recorded: a release never sends twice") {
  Fixture f;
  f.transport.reply_for("later@x.example", {451, "4.2.0", "mailbox busy"});
  const auto id = spool_message(*f.spool, {rcpt("sent@x.example"), rcpt("later@x.example")});
  AdminActsMidAttempt admin(*f.spool, [](SpoolRecipient& rc) { rc.status = RcptStatus::Held; });
  delivery::AttemptContext ctx{f.cfg.queue, "relay.test", "smarthost.test", *f.spool,
                               admin,       f.transport,  f.audit};
  (void)delivery::attempt_message(ctx, id, false, std::time(nullptr));
  auto env = f.spool->load_envelope(id);
  REQUIRE(env.ok());
  CHECK(find(*env, "sent@x.example").status == RcptStatus::Delivered);  // it happened
  CHECK(find(*env, "later@x.example").status == RcptStatus::Held);      // the deferral yields
}

TEST_CASE("nothing is sent while the audit record cannot be written") {
  Fixture f;
  const auto id = spool_message(*f.spool, {rcpt("p@x.example")});
  f.audit.broken = true;
  delivery::AttemptContext ctx{f.cfg.queue,   "relay.test", "smarthost.test", *f.spool,
                               f.transformer, f.transport,  f.audit};
  const auto now = std::time(nullptr);
  auto result = delivery::attempt_message(ctx, id, false, now);
  CHECK(result.next == delivery::AttemptResult::Next::RetryAt);
  CHECK(result.retry_at > now);
  CHECK(f.transport.sent().empty());
  CHECK(find(f.spool->load_envelope(id).value(), "p@x.example").status == RcptStatus::Pending);
  f.audit.broken = false;
  result = delivery::attempt_message(ctx, id, false, now);
  CHECK(result.next == delivery::AttemptResult::Next::Done);
  CHECK(f.transport.sent().size() == 1);
}
