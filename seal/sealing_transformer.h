// The Transformer that delivery runs between spool and transport: per pending
// recipient it looks up keys, asks the policy for a Plan, and produces one
// complete outgoing message per method group (all OpenPGP recipients in one
// encryption, all S/MIME recipients in another, one pickup notice each), or a
// hold with a reason. Nothing half-built ever leaves: a crypto failure holds
// the whole group with a temporary error.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "audit/audit_sink.h"
#include "keystore/keystore.h"
#include "policy/plan.h"
#include "portal/pickup_service.h"
#include "relay/delivery/transform.h"
#include "seal/gmime_ptr.h"
#include "seal/mime_limits.h"

namespace sealpost::seal {

using Decider =
    std::function<policy::Plan(const policy::EnvelopeFacts&, const policy::MessageFacts&,
                               const std::map<std::string, policy::KeyAvailability>&)>;
// Removes tracking metadata in place according to the named profile.
// `queue_id` and `recipients` (comma-separated) only label the audit event.
using ScrubHook =
    std::function<Result<void>(GMimeMessage*, const std::string& profile,
                               const std::string& queue_id, const std::string& recipients)>;

struct SealingOptions {
  keystore::Keystore* keystore = nullptr;  // required
  Decider decide;                          // empty: default_decide
  ScrubHook scrub;                         // empty: no scrubbing
  PickupService* pickup = nullptr;         // null: pickup recipients are deferred
  // Fills in how the recipient authenticates (SMS number, passphrase hash)
  // from the consent registry before a deposit; empty: nothing to add.
  std::function<void(PickupRequest&)> complete_pickup;
  // Writes the notice mail from the admin's templates. An error holds the
  // recipient (temporary, the deposit withdrawn) until the templates are
  // fixed; empty (tools, tests): the built-in bilingual notice.
  std::function<Result<std::string>(const PickupRequest&, const PickupDeposit&)> compose_notice;
  // May the staff member `user` (SMTP AUTH) send as `address`? Decides whether
  // a From: other than the envelope sender chooses the signing identity;
  // empty: only the envelope sender's own address signs.
  std::function<bool(const std::string& user, const std::string& address)> may_sign_as;
  AuditSink* audit = nullptr;  // null: no audit events
  MimeLimits limits;
  std::string hostname;  // for pickup notice Message-IDs
  // Where the sealed copies of big messages go while they wait for the
  // transport (FileSpool::spill_settings()); default: in memory.
  SpillSettings spill;
};

class SealingTransformer final : public Transformer {
 public:
  explicit SealingTransformer(SealingOptions options);
  TransformResult prepare(const SpoolEnvelope& envelope, const std::vector<SpoolRecipient>& pending,
                          const Body& data) override;

 private:
  friend class Run;
  // Pickups deposited for (queue id, recipient) whose notice may not have
  // left yet: a retry withdraws the earlier deposit before making a new one.
  // In memory only; after a restart an orphaned pickup simply expires.
  std::string remember_deposit(const std::string& key, const std::string& pickup_id);

  SealingOptions opt_;
  NullAuditSink null_audit_;
  std::mutex deposits_mu_;
  std::map<std::string, std::string> deposits_;
};

}  // namespace sealpost::seal
