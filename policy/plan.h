// The Plan: what happens to each recipient of one message. policy::decide()
// produces it from facts alone (no I/O); seal/ and delivery carry it out.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sealpost::policy {

enum class Method { Pgp, Smime, Pickup, Plain, Reject, Hold, Defer };

// "pgp", "smime", "pickup", "plain", "reject", "hold", "defer".
const char* method_name(Method m);

struct PickupOptions {
  std::string auth = "sms";  // sms | passphrase | code-to-sender
  std::chrono::seconds expires{30 * 24 * 3600};
};

struct RecipientPlan {
  std::string address;
  Method method = Method::Defer;
  std::string rule;                  // name of the matched rule ("defaults" if none)
  std::string rule_location;         // "policy.yaml:12"
  std::vector<std::string> reasons;  // human-readable, why this method (and why not others)
  bool sign = true;
  std::string smime_cipher = "aes256-cbc";  // aes256-cbc | aes256-gcm
  std::string scrub_profile = "standard";
  PickupOptions pickup;
  std::string reject_text;  // for Reject: what staff see in the bounce / 5xx
};

struct Plan {
  std::vector<RecipientPlan> recipients;
  std::string subject_tag_removed;  // e.g. "[secure]" when a rule's tag matched
  // When subject_tag_removed is set: the Subject to send instead (tag and the
  // space around it removed). Applies to every outgoing copy of the message.
  std::string subject_without_tag;
};

// Inputs to decide(). Everything is already looked up: decide() does no I/O.
struct EnvelopeFacts {
  std::string sender;     // MAIL FROM
  std::string auth_user;  // "" for filter mode
  std::vector<std::string> recipients;
  // A fact about the relay, not the mail: is a pickup portal configured and
  // serving? False (the safe default) makes decide() skip `pickup`.
  bool pickup_available = false;
};

struct MessageFacts {
  std::string subject;
  std::multimap<std::string, std::string> headers;  // lower-case name -> value
  bool has_attachments = false;
  bool already_encrypted = false;
  bool already_signed = false;
};

struct KeyAvailability {
  bool pgp = false;    // at least one usable OpenPGP encryption key
  bool smime = false;  // at least one valid S/MIME certificate
  // Optional remark copied into the recipient's reasons, e.g. "keystore not
  // consulted" or "keystore error: ..." so an explanation shows why keys are missing.
  std::string note;
  // The keystore could not answer: sealpostd then defers the recipient
  // (no decision without knowing the keys), so an explanation must too.
  bool failed = false;
};

enum class Consent { Unknown, Granted, Revoked };

}  // namespace sealpost::policy
