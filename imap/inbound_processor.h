// What to do with one fetched message: harvest an Autocrypt key, and if the
// message is encrypted to the practice (PGP/MIME or S/MIME), build the readable copy.
// No IMAP in here (the service does that), so it is testable with bytes.
// Nothing decrypted is logged or audited; events carry outcomes only.
#pragma once

#include <memory>
#include <string>

#include "audit/audit_sink.h"
#include "imap/copy_marker.h"
#include "imap/key_harvest.h"
#include "imap/readable_message.h"
#include "imap/signature_status.h"
#include "keystore/keystore.h"

namespace sealpost::imap {

struct InboundResult {
  bool replace = false;  // APPEND `readable`, move the original away
  std::string readable;
  // plain | decrypted | not-for-us | no-integrity | damaged | unparsable |
  // own-copy (a readable copy Sealpost made earlier: left alone). Any outcome
  // may come with replace = true: a message arriving with X-Sealpost-* fields
  // is replaced by a copy without them, so no status reaches staff that
  // Sealpost did not set itself.
  std::string outcome;
};

struct MessageRef {  // where the message is (audit and log lines) and its account's rules
  std::string account;
  std::string folder;
  std::uint32_t uid = 0;
  HarvestRules harvest;
  std::string originals_folder = "Sealpost/Originals";  // named in the readable copy's note
  // Opaque tag naming this original (account, folder, UIDVALIDITY, UID), put
  // into the readable copy as X-Sealpost-Origin so that after a crash the
  // service can tell whether the copy was appended already. Empty: none.
  std::string origin_tag;
};

struct SmimeVerified;

class InboundProcessor {
 public:
  InboundProcessor(keystore::Keystore& keystore, KeyHarvester& harvester, AuditSink& audit,
                   CopyMarker marker)
      : keystore_(keystore), harvester_(harvester), audit_(audit), marker_(std::move(marker)) {}

  InboundResult process(const std::string& raw, const MessageRef& ref);

 private:
  InboundResult process_foreign(const std::string& raw, const SplitEntity& outer,
                                const MessageRef& ref);
  struct Decrypted {
    std::string plaintext;
    SignatureFacts signature;
    bool authenticated = false;
    std::shared_ptr<SmimeVerified> smime_signature;  // S/MIME signed inside the envelope
  };
  Result<Decrypted> decrypt(const EncryptedEntity& e, const std::string& from,
                            const std::string& message_id);
  void verify_inner_smime(Decrypted& d, const std::string& from);
  void harvest(const std::string& autocrypt_from, const std::vector<std::string>& values,
               const std::string& message_id, const MessageRef& ref);
  // A valid S/MIME signature (outside or inside an envelope) offers its certificate.
  void harvest_signer(const SmimeVerified& v, const std::string& from,
                      const std::string& message_id, const MessageRef& ref);
  void report_harvest(const HarvestOutcome& out, HarvestSource source, const std::string& from,
                      const MessageRef& ref);

  keystore::Keystore& keystore_;
  KeyHarvester& harvester_;
  AuditSink& audit_;
  CopyMarker marker_;
};

// The bare address of a From header value ("" when there is not exactly one mailbox).
std::string from_address(const std::string& from_header);

}  // namespace sealpost::imap
