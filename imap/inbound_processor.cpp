#include "imap/inbound_processor.h"

#include "common/log.h"
#include "imap/autocrypt.h"
#include "imap/header_fields.h"
#include "imap/inline_pgp.h"
#include "imap/pgp_decrypt.h"
#include "imap/readable_message.h"
#include "imap/smime_decrypt.h"
#include "imap/smime_signed.h"
#include "keystore/address_match.h"
#include "seal/message_parser.h"

namespace sealpost::imap {
namespace {

// First word of the signature status: enough for the audit, never a fingerprint mix-up.
std::string first_word(const std::string& s) {
  return s.substr(0, s.find(' '));
}

}  // namespace

std::string from_address(const std::string& from_header) {
  if (from_header.empty()) return {};
  seal::ensure_gmime();
  seal::GPtr<InternetAddressList> list(internet_address_list_parse(nullptr, from_header.c_str()));
  if (!list || internet_address_list_length(list.get()) != 1) return {};
  InternetAddress* a = internet_address_list_get_address(list.get(), 0);
  if (!INTERNET_ADDRESS_IS_MAILBOX(a)) return {};
  const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
  return addr ? keystore::normalise_address(addr) : std::string();
}

void InboundProcessor::report_harvest(const HarvestOutcome& out, HarvestSource source,
                                      const std::string& from, const MessageRef& ref) {
  if (out.kind == HarvestOutcome::Kind::Known) return;
  const char* result = out.kind == HarvestOutcome::Kind::Refused ? "refused"
                       : out.pending                             ? "pending"
                                                                 : "imported";
  // Refusals and key changes are what an admin should look at.
  const bool noteworthy = out.kind == HarvestOutcome::Kind::Refused || !out.reason.empty();
  std::string retired;
  for (const auto& id : out.retired) retired += (retired.empty() ? "" : ",") + id;
  log::write(noteworthy ? log::Level::Warn : log::Level::Info, "imap.harvest",
             {{"account", ref.account},
              {"folder", ref.folder},
              {"uid", ref.uid},
              {"address", from},
              {"source", harvest_source_name(source)},
              {"fingerprint", out.fingerprint},
              {"result", result},
              {"reason", out.reason},
              {"retired", retired}});
  audit_.record(AuditEvent{"imap.harvest",
                           {{"account", ref.account},
                            {"folder", ref.folder},
                            {"uid", std::to_string(ref.uid)},
                            {"address", from},
                            {"source", harvest_source_name(source)},
                            {"fingerprint", out.fingerprint},
                            {"result", result},
                            {"reason", out.reason},
                            {"retired", retired}}});
}

void InboundProcessor::harvest(const std::string& from, const std::vector<std::string>& values,
                               const std::string& message_id, const MessageRef& ref) {
  if (from.empty() || ref.harvest.harvest == HarvestPolicy::Never) return;
  auto header = pick_autocrypt(values, from);
  if (!header) return;
  report_harvest(harvester_.harvest_pgp(header->keydata, from, message_id, HarvestSource::Autocrypt,
                                        ref.harvest),
                 HarvestSource::Autocrypt, from, ref);
}

void InboundProcessor::harvest_signer(const SmimeVerified& v, const std::string& from,
                                      const std::string& message_id, const MessageRef& ref) {
  if (ref.harvest.harvest == HarvestPolicy::Never || from.empty() || !v.valid()) return;
  report_harvest(harvester_.harvest_smime(v, from, message_id, ref.harvest),
                 HarvestSource::Signature, from, ref);
}

// Content the envelope decrypted to may be S/MIME-signed (opaque signed-data,
// as Sealpost itself sends, or multipart/signed): verified, unwrapped to the
// signed entity, and a valid signature by the From address's certificate
// makes CBC content authenticated (altering the ciphertext breaks it).
void InboundProcessor::verify_inner_smime(Decrypted& d, const std::string& from) {
  auto sig = find_smime_signature(d.plaintext);
  if (!sig) return;
  auto v = std::make_shared<SmimeVerified>(smime_verify(keystore_.smime(), *sig, from));
  d.signature = v->facts;
  if (!v->content.empty()) d.plaintext = v->content;
  if (v->valid()) d.authenticated = true;
  d.smime_signature = std::move(v);
}

Result<InboundProcessor::Decrypted> InboundProcessor::decrypt(const EncryptedEntity& e,
                                                              const std::string& from,
                                                              const std::string& message_id) {
  Decrypted out;
  if (e.kind == EncryptionKind::Pgp) {
    auto r = pgp_decrypt(keystore_.pgp(), e.ciphertext, from);
    if (!r) return r.error();
    out.plaintext =
        e.inline_text ? inline_plaintext_entity(r->plaintext, e.charset) : std::move(r->plaintext);
    out.signature = r->signature;
    // gpg verifies against every key in the keyring: only a key the admin
    // imported or approved reads "valid key"; a harvested one says so.
    if (out.signature.kind == SignatureFacts::Kind::Good && !out.signature.fingerprint.empty())
      out.signature.trust = key_trust(keystore_.source_of(out.signature.fingerprint), message_id);
    out.authenticated = true;  // pgp_decrypt refuses anything without MDC/AEAD
    return out;
  }
  auto identity = keystore_.smime_signer();
  if (!identity) return identity.error();
  if (!*identity) {
    Error none = Error::plain("no S/MIME identity imported");
    none.enhanced = "not-for-us";
    return none;
  }
  auto r = smime_decrypt(**identity, e.ciphertext);
  if (!r) return r.error();
  out.plaintext = std::move(r->plaintext);
  out.authenticated = r->authenticated;
  out.signature.sender = from;
  out.signature.certificate = true;
  verify_inner_smime(out, from);
  return out;
}

InboundResult InboundProcessor::process(const std::string& raw, const MessageRef& ref) {
  const SplitEntity outer = split_entity(raw);
  // Our own readable copy, seen again after the APPEND: nothing to do (and its
  // status fields are the genuine ones).
  if (marker_.is_ours(outer)) return InboundResult{false, {}, "own-copy"};
  InboundResult result = process_foreign(raw, outer, ref);
  if (result.replace) {
    result.readable = marker_.stamp(result.readable, ref.origin_tag);
    return result;
  }
  // Not decrypted (plain, refused, unparsable) yet claiming a Sealpost status:
  // the original moves to the originals folder, staff get it without the claim.
  if (has_status_fields(outer.fields)) {
    result.replace = true;
    result.readable = marker_.stamp(without_status_fields(outer), ref.origin_tag);
    log::warn("imap.status_fields_removed", {{"account", ref.account},
                                             {"folder", ref.folder},
                                             {"uid", ref.uid},
                                             {"outcome", result.outcome}});
  }
  return result;
}

InboundResult InboundProcessor::process_foreign(const std::string& raw, const SplitEntity& outer,
                                                const MessageRef& ref) {
  InboundResult result;
  const std::string from = from_address(header_value(outer.fields, "From"));
  const std::string message_id = header_value(outer.fields, "Message-ID");
  // The Autocrypt key is learnt only after this message's own signature was
  // checked: a key must never vouch for the message that brought it.
  const auto autocrypt = [&] {
    harvest(from, header_values(outer.fields, "Autocrypt"), message_id, ref);
  };

  auto parsed = seal::parse_message(raw, seal::MimeLimits{});
  if (!parsed) {
    result.outcome = "unparsable";
    return result;
  }
  auto encrypted = find_encrypted(parsed->get());
  if (!encrypted) {
    // Signed, not encrypted: staff's client shows and checks the signature
    // itself; Sealpost only learns the certificate from it.
    if (auto sig = find_smime_signature(raw); sig && ref.harvest.harvest != HarvestPolicy::Never)
      harvest_signer(smime_verify(keystore_.smime(), *sig, from), from, message_id, ref);
    autocrypt();
    result.outcome = "plain";
    return result;
  }
  auto decrypted = decrypt(*encrypted, from, message_id);
  autocrypt();
  if (!decrypted) {
    // Left untouched in the folder: staff see the original, nothing misleading.
    result.outcome = decrypted.error().enhanced;
    log::warn("imap.decrypt_refused", {{"account", ref.account},
                                       {"folder", ref.folder},
                                       {"uid", ref.uid},
                                       {"outcome", result.outcome},
                                       {"reason", decrypted.error().what()}});
    audit_.record(AuditEvent{"imap.decrypt",
                             {{"account", ref.account},
                              {"folder", ref.folder},
                              {"uid", std::to_string(ref.uid)},
                              {"from", from},
                              {"result", result.outcome}}});
    return result;
  }
  ReadableStatus status;
  if (decrypted->smime_signature)
    harvest_signer(*decrypted->smime_signature, from, message_id, ref);
  status.decrypted = decrypted->authenticated
                         ? "yes"
                         : "yes; unauthenticated (S/MIME CBC: content may have been altered)";
  status.signature = signature_header(decrypted->signature);
  if (encrypted->nested)
    status.note = "unencrypted parts of the original were left out; see " + ref.originals_folder;
  const SplitEntity inner = split_entity(decrypted->plaintext);
  // Header protection: the real Subject etc. are inside; the outside says "[...]".
  std::vector<HeaderField> promoted;
  if (is_header_protected(header_value(inner.fields, "Content-Type"))) {
    const std::string inner_from = header_value(inner.fields, "From");
    promoted = protected_fields(inner, !inner_from.empty() && from_address(inner_from) == from);
  }
  int remote_removed = 0;
  result.readable =
      drop_remote_html(build_readable(outer.fields, inner, status, promoted), remote_removed);
  result.replace = true;
  result.outcome = "decrypted";
  audit_.record(AuditEvent{"imap.decrypt",
                           {{"account", ref.account},
                            {"folder", ref.folder},
                            {"uid", std::to_string(ref.uid)},
                            {"from", from},
                            {"result", "decrypted"},
                            {"method", encrypted->kind == EncryptionKind::Smime ? "smime"
                                       : encrypted->inline_text                 ? "pgp-inline"
                                                                                : "pgp"},
                            {"authenticated", decrypted->authenticated ? "yes" : "no"},
                            {"signature", first_word(status.signature)},
                            {"signer", decrypted->signature.fingerprint},
                            {"html_remote_removed", std::to_string(remote_removed)}}});
  return result;
}

}  // namespace sealpost::imap
