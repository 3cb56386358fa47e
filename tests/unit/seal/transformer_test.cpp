#include <catch2/catch.hpp>
#include <string>

#include "../keystore/test_material.h"
#include "seal/default_decider.h"
#include "seal/pickup_notice.h"
#include "seal/sealing_transformer.h"

using namespace sealpost;
using sealpost::testing::Workdir;

namespace {

std::string text(const Body& b) {
  auto s = b.to_string(SIZE_MAX);
  REQUIRE(s.ok());
  return *s;
}

}  // namespace

namespace {

const std::string kMessage =
    "From: Anna <anna@praxis.example>\r\n"
    "To: pat@example.org, doc@praxis.example\r\n"
    "Bcc: hidden@example.net\r\n"
    "Subject: Befund\r\n"
    "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <m1@praxis.example>\r\n"
    "\r\n"
    "Vertraulich\r\n";

class RecordingAudit final : public AuditSink {
 public:
  void record(const AuditEvent& e) override { events.push_back(e); }
  std::vector<AuditEvent> events;
};

class FakePickup final : public PickupService {
 public:
  Result<PickupDeposit> deposit(const PickupRequest& req, std::string_view mime) override {
    stored = std::string(mime);
    recipient = req.recipient;
    sms_number = req.sms_number;
    const std::string id = "p" + std::to_string(++deposits);
    return PickupDeposit{id, "https://pickup.test/p/SECRET", 1798473600};
  }
  Result<void> withdraw(const std::string& id) override {
    withdrawn.push_back(id);
    return {};
  }
  std::string stored, recipient, sms_number;
  int deposits = 0;
  std::vector<std::string> withdrawn;
};

struct Fixture {
  Workdir dir;
  std::unique_ptr<keystore::Keystore> ks;
  RecordingAudit audit;
  SpoolEnvelope env;
  std::vector<SpoolRecipient> pending;

  Fixture() {
    auto k = keystore::Keystore::open(keystore::KeystoreOptions{dir / "state", {}, ""});
    REQUIRE(k.ok());
    ks = std::move(k.value());
    env.id = "q1";
    env.mail_from = "anna@praxis.example";
    for (const char* a : {"pat@example.org", "doc@praxis.example"}) {
      SpoolRecipient r;
      r.address = a;
      r.notify = "FAILURE";
      pending.push_back(r);
    }
  }

  seal::SealingOptions options(std::map<std::string, policy::Method> methods) {
    seal::SealingOptions o;
    o.keystore = ks.get();
    o.audit = &audit;
    o.decide = [methods](const policy::EnvelopeFacts& e, const policy::MessageFacts& m,
                         const std::map<std::string, policy::KeyAvailability>& k) {
      policy::Plan p = seal::default_decide(e, m, k);
      for (auto& rp : p.recipients) {
        rp.method = methods.at(rp.address);
        rp.rule = "test";
      }
      return p;
    };
    return o;
  }
};

}  // namespace

TEST_CASE("default decider: pgp, then smime, else defer") {
  policy::EnvelopeFacts e{"a@b", "", {"p@x", "s@x", "n@x"}};
  std::map<std::string, policy::KeyAvailability> k;
  k["p@x"].pgp = true;
  k["p@x"].smime = true;
  k["s@x"].smime = true;
  const auto plan = seal::default_decide(e, {}, k);
  REQUIRE(plan.recipients.size() == 3);
  CHECK(plan.recipients[0].method == policy::Method::Pgp);
  CHECK(plan.recipients[1].method == policy::Method::Smime);
  CHECK(plan.recipients[2].method == policy::Method::Defer);
  CHECK(std::string(seal::method_label(policy::Method::Pickup)) == "pickup");
}

TEST_CASE("without keys the default policy defers every recipient") {
  Fixture f;
  seal::SealingOptions o;
  o.keystore = f.ks.get();
  seal::SealingTransformer t(o);
  const auto r = t.prepare(f.env, f.pending, kMessage);
  CHECK(r.outgoing.empty());
  REQUIRE(r.held.size() == 2);
  CHECK(r.held[0].error.temporary());
}

TEST_CASE("plain, reject and pickup follow the plan") {
  Fixture f;
  auto o = f.options(
      {{"pat@example.org", policy::Method::Pickup}, {"doc@praxis.example", policy::Method::Plain}});
  FakePickup pickup;
  o.pickup = &pickup;
  seal::SealingTransformer t(o);
  const auto r = t.prepare(f.env, f.pending, kMessage);
  CHECK(r.held.empty());
  REQUIRE(r.outgoing.size() == 2);
  const PreparedMessage* plain = nullptr;
  const PreparedMessage* notice = nullptr;
  for (const auto& pm : r.outgoing) (pm.method == "plain" ? plain : notice) = &pm;
  REQUIRE(plain);
  REQUIRE(notice);
  CHECK(notice->method == "pickup-notice");
  REQUIRE(plain->message.rcpts.size() == 1);
  CHECK(plain->message.rcpts[0].address == "doc@praxis.example");
  CHECK(plain->message.rcpts[0].notify == "FAILURE");
  CHECK(text(plain->message.data).find("Bcc") == std::string::npos);
  CHECK(text(plain->message.data).find("Vertraulich") != std::string::npos);
  // The notice carries the link, never the subject or content.
  CHECK(text(notice->message.data).find("https://pickup.test/p/SECRET") != std::string::npos);
  CHECK(text(notice->message.data).find("Befund") == std::string::npos);
  CHECK(text(notice->message.data).find("Vertraulich") == std::string::npos);
  CHECK(pickup.recipient == "pat@example.org");
  CHECK(pickup.stored.find("Vertraulich") != std::string::npos);
  CHECK(pickup.stored.find("hidden@example.net") == std::string::npos);
  bool decision = false;
  for (const auto& e : f.audit.events) decision = decision || e.type == "decision";
  CHECK(decision);

  // A retry (the notice did not get out) replaces the deposit: the first link
  // must not keep the message readable.
  const auto again = t.prepare(f.env, f.pending, kMessage);
  CHECK(again.held.empty());
  CHECK(pickup.deposits == 2);
  CHECK(pickup.withdrawn == std::vector<std::string>{"p1"});
}

TEST_CASE("a broken notice template holds the recipient and withdraws the deposit") {
  Fixture f;
  auto o = f.options(
      {{"pat@example.org", policy::Method::Pickup}, {"doc@praxis.example", policy::Method::Plain}});
  FakePickup pickup;
  o.pickup = &pickup;
  o.compose_notice = [](const PickupRequest&, const PickupDeposit&) -> Result<std::string> {
    return Error::plain("notice.de.txt:3: unknown placeholder {sender}");
  };
  seal::SealingTransformer t(o);
  const auto r = t.prepare(f.env, f.pending, kMessage);
  REQUIRE(r.outgoing.size() == 1);
  CHECK(r.outgoing[0].method == "plain");  // the other recipient is not held up
  REQUIRE(r.held.size() == 1);
  CHECK(r.held[0].address == "pat@example.org");
  CHECK(r.held[0].error.temporary());
  CHECK(r.held[0].error.reason.find("notice.de.txt:3") != std::string::npos);
  CHECK(pickup.withdrawn == std::vector<std::string>{"p1"});
}

TEST_CASE("pickup without a portal and reject are held with the right kind of error") {
  Fixture f;
  auto o = f.options({{"pat@example.org", policy::Method::Pickup},
                      {"doc@praxis.example", policy::Method::Reject}});
  seal::SealingTransformer t(o);
  const auto r = t.prepare(f.env, f.pending, kMessage);
  CHECK(r.outgoing.empty());
  REQUIRE(r.held.size() == 2);
  for (const auto& h : r.held) {
    if (h.address == "pat@example.org") {
      CHECK(h.error.temporary());
      CHECK(h.error.reason == "pickup portal not configured");
    } else {
      CHECK_FALSE(h.error.temporary());
      CHECK(h.error.enhanced == "5.7.1");
    }
  }
}

TEST_CASE("policy hold and unprocessable MIME are kept for an admin; reject and defer are not") {
  Fixture f;
  auto o = f.options(
      {{"pat@example.org", policy::Method::Hold}, {"doc@praxis.example", policy::Method::Reject}});
  seal::SealingTransformer t(o);
  const auto r = t.prepare(f.env, f.pending, kMessage);
  REQUIRE(r.held.size() == 2);
  for (const auto& h : r.held) CHECK(h.for_admin == (h.address == "pat@example.org"));

  // Nesting beyond the limit: the parser refuses it for every recipient, and
  // it waits for an admin instead of bouncing (mail accepted is never lost).
  std::string nested =
      "From: a@praxis.example\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n";
  for (int i = 0; i < 60; ++i)
    nested += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=b" +
              std::to_string(i + 1) + "\r\n\r\n";
  const auto bad = t.prepare(f.env, f.pending, nested);
  CHECK(bad.outgoing.empty());
  REQUIRE(bad.held.size() == 2);
  for (const auto& h : bad.held) {
    CHECK(h.for_admin);
    CHECK(h.error.enhanced == "5.6.0");
  }

  auto deferring = f.options(
      {{"pat@example.org", policy::Method::Pgp}, {"doc@praxis.example", policy::Method::Defer}});
  seal::SealingTransformer d(deferring);
  for (const auto& h : d.prepare(f.env, f.pending, kMessage).held) CHECK_FALSE(h.for_admin);
}

TEST_CASE("PGP without a key for the recipient never sends anything") {
  Fixture f;
  auto o = f.options(
      {{"pat@example.org", policy::Method::Pgp}, {"doc@praxis.example", policy::Method::Smime}});
  seal::SealingTransformer t(o);
  const auto r = t.prepare(f.env, f.pending, kMessage);
  CHECK(r.outgoing.empty());
  REQUIRE(r.held.size() == 2);
  for (const auto& h : r.held) CHECK(h.error.temporary());
}

TEST_CASE("scrub hook runs per group and its failure holds the group") {
  Fixture f;
  auto o = f.options(
      {{"pat@example.org", policy::Method::Plain}, {"doc@praxis.example", policy::Method::Plain}});
  int calls = 0;
  o.scrub = [&calls](GMimeMessage*, const std::string& profile, const std::string& queue_id,
                     const std::string& recipients) -> Result<void> {
    CHECK(queue_id == "q1");
    CHECK(recipients == "pat@example.org,doc@praxis.example");
    ++calls;
    if (profile == "standard") return Error::temp("4.3.0", "scrub failed", "test");
    return {};
  };
  seal::SealingTransformer t(o);
  const auto r = t.prepare(f.env, f.pending, kMessage);
  CHECK(calls == 1);  // both recipients share one group
  CHECK(r.outgoing.empty());
  CHECK(r.held.size() == 2);
}

TEST_CASE("pickup notice strips line breaks from its inputs") {
  seal::PickupNoticeInput in{"Anna <a@b.example>\r\nBcc: x@y", "p@x.example",
                             "https://p.test/x\r\nInjected: 1", 0, "relay.test"};
  const std::string n = seal::compose_pickup_notice(in);
  CHECK(n.find("\r\nBcc:") == std::string::npos);
  CHECK(n.find("\r\nInjected:") == std::string::npos);
  CHECK(n.find("To: <p@x.example>\r\n") != std::string::npos);
}

TEST_CASE("an [sms:...] subject tag sets the pickup's number and never leaves") {
  Fixture f;
  FakePickup pickup;
  auto o = f.options(
      {{"pat@example.org", policy::Method::Pickup}, {"doc@praxis.example", policy::Method::Plain}});
  o.pickup = &pickup;
  seal::SealingTransformer t(o);
  std::string tagged = kMessage;
  const auto at = tagged.find("Subject: ");
  REQUIRE(at != std::string::npos);
  tagged.insert(tagged.find("\r\n", at), " [sms:+49 151 12345678]");
  const auto r = t.prepare(f.env, f.pending, tagged);
  CHECK(pickup.sms_number == "+4915112345678");
  CHECK(pickup.stored.find("sms:") == std::string::npos);
  CHECK(pickup.stored.find("12345678") == std::string::npos);
  for (const auto& out : r.outgoing)
    CHECK(text(out.message.data).find("12345678") == std::string::npos);
}
