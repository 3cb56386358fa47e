#include "seal/sealing_transformer.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "common/log.h"
#include "keystore/address_match.h"
#include "seal/default_decider.h"
#include "seal/header_protection.h"
#include "seal/message_facts.h"
#include "seal/message_parser.h"
#include "seal/pickup_notice.h"
#include "seal/seal_message.h"
#include "seal/sms_subject_tag.h"
#include "seal/visible_recipients.h"

namespace sealpost::seal {

namespace {

// Recipients sealed together: same method and the same way of doing it.
struct Group {
  policy::Method method;
  bool sign = true;
  std::string cipher;
  std::string scrub_profile;
  std::vector<const policy::RecipientPlan*> plans;
};

// Recipients sharing a key share one sealed copy. A blind-copy recipient of
// pgp/smime gets a copy of their own: the ciphertext names its recipients'
// keys (seal/visible_recipients.h).
std::string group_key(const policy::RecipientPlan& p, const std::set<std::string>& visible) {
  std::string key = std::string(method_label(p.method)) + '\n' + (p.sign ? "s" : "-") + '\n' +
                    p.smime_cipher + '\n' + p.scrub_profile;
  const bool encrypted = p.method == policy::Method::Pgp || p.method == policy::Method::Smime;
  std::string lowered = p.address;
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (encrypted && visible.count(lowered) == 0) key += "\nblind:" + p.address;
  return key;
}

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The minimal Received field sealpostd wrote at submission (no client IP;
// relay/smtp/received_header.cpp), with its folded lines. The scrub removes
// every Received field, so this one is put back on top of what leaves.
std::string own_received(const Body& body) {
  auto head = body.head(4096);
  if (!head) return {};
  const std::string_view data = *head;
  if (!data.starts_with("Received: from submission by ") &&
      !data.starts_with("Received: from filter by "))
    return {};
  std::size_t end = 0;
  do {
    const std::size_t nl = data.find("\r\n", end);
    if (nl > 1000) return {};  // also npos: no line end within a sane field length
    end = nl + 2;
  } while (end < data.size() && (data[end] == ' ' || data[end] == '\t'));
  const std::string_view field = data.substr(0, end);
  if (field.find(" (Sealpost) with ") == std::string_view::npos) return {};
  return std::string(field);
}

constexpr const char* kFromNotSender =
    "From: is not the envelope sender or an address the sender may use";

// The first mailbox address in From: (what a reader's client checks the
// signature against); empty when there is none.
std::string from_header_address(GMimeMessage* msg) {
  InternetAddressList* list = g_mime_message_get_from(msg);
  const int n = list ? internet_address_list_length(list) : 0;
  for (int i = 0; i < n; ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a))
      if (const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)))
        return addr;
  }
  return {};
}

}  // namespace

class Run {
 public:
  Run(SealingTransformer& owner, const SealingOptions& opt, AuditSink& audit,
      const SpoolEnvelope& env, const std::vector<SpoolRecipient>& pending, const Body& data)
      : owner_(owner), opt_(opt), audit_(audit), env_(env), pending_(pending), data_(data) {}

  TransformResult go();

 private:
  void hold(const std::string& address, Error e, bool for_admin = false) {
    log::warn("seal.hold", {{"queue_id", env_.id},
                            {"code", e.smtp_code},
                            {"for_admin", for_admin},
                            {"reason", e.what()}});
    result_.held.push_back({address, std::move(e), for_admin});
  }
  // A message we cannot process (MIME refused by the limits, a cleaner that
  // failed) stays in the spool for an admin: a retry gives the same answer and
  // a bounce would lose the mail. Temporary errors still retry on their own.
  void hold_unprocessable(const std::string& address, Error e) {
    const bool permanent = e.smtp_code >= 500;
    hold(address, std::move(e), permanent);
  }
  void hold_group(const Group& g, const Error& e) {
    for (const auto* p : g.plans) hold_unprocessable(p->address, e);
  }
  void audit_decision(const policy::RecipientPlan& p, const std::string& extra_key = {},
                      const std::string& extra_value = {});
  void emit(const Group& g, Body bytes, const char* method, bool eight_bit);
  // Emits the sealed copy, or holds the group when sealing failed or the
  // source could not be read to its end (nothing half-built leaves).
  void emit_sealed(const Group& g, Result<Body> sealed, const ParsedMessage& src,
                   const char* method, bool eight_bit);
  void seal_group(const Group& g, const ParsedMessage& msg);
  // Who signs: the From address (what the reader's client checks the
  // signature against) when it is the envelope sender, which SMTP AUTH bound
  // to the staff member, or another address that member may send as. Any
  // other From: -- typed freely by a client, or arriving through filter mode
  // where nobody vouches for it -- gets no signature at all: it must neither
  // borrow a colleague's identity nor carry a signer that does not match it.
  std::optional<std::string> signing_address(GMimeMessage* msg) const {
    const std::string from = from_header_address(msg);
    if (from.empty()) return std::nullopt;
    if (keystore::address_matches(from, env_.mail_from)) return from;
    if (!env_.auth_user.empty() && opt_.may_sign_as && opt_.may_sign_as(env_.auth_user, from))
      return from;
    return std::nullopt;
  }
  void pickup(const Group& g, const ParsedMessage& msg);

  SealingTransformer& owner_;
  const SealingOptions& opt_;
  AuditSink& audit_;
  const SpoolEnvelope& env_;
  const std::vector<SpoolRecipient>& pending_;
  const Body& data_;
  std::string own_received_;  // our Received field from submission, put back on top
  TransformResult result_;
  policy::MessageFacts facts_;
  std::set<std::string> visible_;              // To/Cc addresses, lower-cased
  std::optional<std::string> subject_;         // the Subject with the policy's tag removed
  std::optional<std::string> sms_tag_number_;  // from `[sms:...]`, for a single pickup recipient
  void take_sms_subject_tag(const policy::Plan& plan);
  std::map<std::string, keystore::LookupResult> keys_;
};

void Run::audit_decision(const policy::RecipientPlan& p, const std::string& extra_key,
                         const std::string& extra_value) {
  AuditEvent ev{"decision",
                {{"queue_id", env_.id},
                 {"sender", env_.mail_from},
                 {"recipient", p.address},
                 {"method", method_label(p.method)},
                 {"rule", p.rule}}};
  const auto it = keys_.find(p.address);
  if (it != keys_.end() && p.method == policy::Method::Pgp) {
    std::vector<std::string> fprs, sources;
    for (const auto& k : it->second.pgp) {
      fprs.push_back(k.fingerprint);
      sources.push_back(k.source.source);
    }
    ev.fields.emplace_back("key", join(fprs));
    ev.fields.emplace_back("source", join(sources));
    ev.fields.emplace_back("cipher", "openpgp");
  } else if (it != keys_.end() && p.method == policy::Method::Smime) {
    std::vector<std::string> serials, sources;
    for (const auto& c : it->second.smime) {
      serials.push_back(c.serial);
      sources.push_back(c.source.source);
    }
    ev.fields.emplace_back("cert_serial", join(serials));
    ev.fields.emplace_back("source", join(sources));
    ev.fields.emplace_back("cipher", p.smime_cipher);
  }
  if (!extra_key.empty()) ev.fields.emplace_back(extra_key, extra_value);
  audit_.record_later(ev);  // synced by the delivery attempt before the spool changes
}

void Run::emit(const Group& g, Body bytes, const char* method, bool eight_bit) {
  PreparedMessage pm;
  pm.method = method;
  pm.message.mail_from = env_.mail_from;
  pm.message.ret = env_.ret;
  pm.message.envid = env_.envid;
  pm.message.smtputf8 = env_.smtputf8;
  pm.message.eight_bit = eight_bit;
  pm.message.data = std::move(bytes);
  for (const auto* p : g.plans) {
    for (const auto& r : pending_) {
      if (r.address == p->address) {
        pm.message.rcpts.push_back({r.address, r.notify, r.orcpt});
        break;
      }
    }
  }
  log::info("seal.prepared", {{"queue_id", env_.id},
                              {"method", method},
                              {"rcpts", pm.message.rcpts.size()},
                              {"bytes", pm.message.data.size()}});
  result_.outgoing.push_back(std::move(pm));
}

void Run::emit_sealed(const Group& g, Result<Body> sealed, const ParsedMessage& src,
                      const char* method, bool eight_bit) {
  if (auto e = src.source_error()) return hold_group(g, *e);
  if (!sealed) return hold_group(g, sealed.error());
  emit(g, std::move(sealed.value()), method, eight_bit);
}

void Run::seal_group(const Group& g, const ParsedMessage& parsed) {
  GMimeMessage* msg = parsed.get();
  const bool eight_bit_in = env_.body == "8BITMIME";
  if (g.method == policy::Method::Plain || facts_.already_encrypted) {
    // Plain by policy, or encrypted end to end by the sender already: never
    // wrap it a second time.
    BodyWriter out(opt_.spill);
    Result<void> w = out.append(own_received_);
    if (w) w = serialise_without_bcc(msg, out);
    Result<Body> body = w ? out.finish() : Result<Body>(w.error());
    return emit_sealed(g, std::move(body), parsed,
                       g.method == policy::Method::Plain ? "plain" : method_label(g.method),
                       eight_bit_in);
  }
  if (g.method == policy::Method::Pgp) {
    std::vector<std::string> fprs;
    for (const auto* p : g.plans)
      for (const auto& k : keys_[p->address].pgp)
        if (std::find(fprs.begin(), fprs.end(), k.fingerprint) == fprs.end())
          fprs.push_back(k.fingerprint);
    std::string signer;
    if (g.sign) {
      if (const auto who = signing_address(msg)) {
        auto s = opt_.keystore->pgp_signer_for(*who);
        if (!s) return hold_group(g, s.error());
        signer = s->fingerprint;
        if (signer.empty()) log::warn("seal.unsigned", {{"queue_id", env_.id}, {"why", s->reason}});
      } else {
        log::warn("seal.unsigned", {{"queue_id", env_.id}, {"why", kFromNotSender}});
      }
    }
    return emit_sealed(g,
                       seal_pgp(msg, own_received_, opt_.keystore->pgp(), fprs, signer, opt_.spill),
                       parsed, method_label(g.method), false);
  }
  std::vector<ossl::SharedX509> certs;
  for (const auto* p : g.plans)
    for (const auto& c : keys_[p->address].smime) certs.push_back(c.cert);
  auto cipher = parse_smime_cipher(g.cipher);
  if (!cipher) return hold_group(g, cipher.error());
  std::shared_ptr<const keystore::SmimeSigner> signer;
  if (g.sign) {
    if (const auto who = signing_address(msg)) {
      auto s = opt_.keystore->smime_signer_for(*who);
      if (!s) return hold_group(g, s.error());
      signer = s->signer;
      if (!signer) log::warn("seal.unsigned", {{"queue_id", env_.id}, {"why", s->reason}});
    } else {
      log::warn("seal.unsigned", {{"queue_id", env_.id}, {"why", kFromNotSender}});
    }
  }
  emit_sealed(g, seal_smime(msg, own_received_, certs, signer.get(), *cipher, opt_.spill), parsed,
              method_label(g.method), false);
}

void Run::pickup(const Group& g, const ParsedMessage& parsed) {
  GMimeMessage* msg = parsed.get();
  if (!opt_.pickup)
    return hold_group(g, Error::temp("4.7.0", "recipient cannot be reached securely yet",
                                     "pickup portal not configured"));
  // Read before serialising: the writer marks the tree for raw copying.
  const char* from_header = g_mime_object_get_header(GMIME_OBJECT(msg), "From");
  const std::string from = from_header ? from_header : "<" + env_.mail_from + ">";
  BodyWriter out;  // the pickup store encrypts it whole (it is held in memory once)
  if (auto w = serialise_without_bcc(msg, out); !w) return hold_group(g, w.error());
  if (auto e = parsed.source_error()) return hold_group(g, *e);
  auto body = out.finish();
  if (!body) return hold_group(g, body.error());
  const std::string& mime = *body->memory();
  for (const auto* p : g.plans) {
    PickupRequest req;
    req.queue_id = env_.id;
    req.recipient = p->address;
    req.sender = env_.mail_from;
    req.auth_method = p->pickup.auth;
    req.expires = p->pickup.expires;
    if (sms_tag_number_) req.sms_number = *sms_tag_number_;  // staff's number wins
    if (opt_.complete_pickup) opt_.complete_pickup(req);
    auto dep = opt_.pickup->deposit(req, mime);
    if (!dep) {
      hold(p->address, dep.error());
      continue;
    }
    const std::string earlier =
        owner_.remember_deposit(env_.id + '\n' + p->address, dep->pickup_id);
    if (!earlier.empty()) {
      if (auto w = opt_.pickup->withdraw(earlier); !w)
        log::warn("seal.pickup_withdraw", {{"queue_id", env_.id}, {"error", w.error().what()}});
    }
    Group one{g.method, g.sign, g.cipher, g.scrub_profile, {p}};
    std::string notice_mail;
    if (opt_.compose_notice) {
      auto composed = opt_.compose_notice(req, *dep);
      if (!composed) {
        // The admin's templates are broken (or refused a value): a notice of
        // our own would say what they chose not to (the sender's name) and
        // leave out what they say (how to authenticate). The deposit goes; the
        // recipient waits for the templates to be fixed.
        log::error("seal.notice_template",
                   {{"queue_id", env_.id}, {"error", composed.error().what()}});
        if (auto w = opt_.pickup->withdraw(dep->pickup_id); !w)
          log::warn("seal.pickup_withdraw", {{"queue_id", env_.id}, {"error", w.error().what()}});
        hold(p->address, Error::temp("4.3.5", "pickup notice could not be composed",
                                     "notice template: " + composed.error().what()));
        continue;
      }
      notice_mail = std::move(composed.value());
    } else {
      // No templates configured (tools, tests): the built-in bilingual notice.
      PickupNoticeInput notice{from, p->address, dep->url, dep->expires_at, opt_.hostname};
      notice_mail = compose_pickup_notice(notice);
    }
    emit(one, std::move(notice_mail), "pickup-notice", true);
    audit_.record_later(AuditEvent{
        "pickup.deposit",
        {{"queue_id", env_.id}, {"recipient", p->address}, {"pickup_id", dep->pickup_id}}});
  }
}

// `[sms:+49...]` in the subject names the mobile number for an sms pickup.
// It is always removed; the number is used only when exactly one recipient
// gets a pickup, since one number cannot belong to several patients.
void Run::take_sms_subject_tag(const policy::Plan& plan) {
  std::string subject = subject_ ? *subject_ : facts_.subject;
  const SmsTag tag = take_sms_tag(subject);
  if (!tag.found) return;
  subject_ = subject;
  const auto pickups =
      std::count_if(plan.recipients.begin(), plan.recipients.end(),
                    [](const auto& p) { return p.method == policy::Method::Pickup; });
  if (tag.number && pickups == 1)
    sms_tag_number_ = tag.number;
  else
    log::warn("seal.sms_tag_ignored",
              {{"queue_id", env_.id},
               {"why", tag.number ? "more than one pickup recipient" : "not a +country number"}});
}

TransformResult Run::go() {
  auto parsed = parse_body(data_, opt_.limits);
  if (!parsed) {
    for (const auto& r : pending_) hold_unprocessable(r.address, parsed.error());
    return std::move(result_);
  }
  own_received_ = own_received(data_);
  facts_ = message_facts(parsed->get());
  visible_ = visible_recipients(parsed->get());
  // The facts read part contents (is it PGP/MIME?): a failed read there would
  // steer the policy by a wrong fact.
  if (auto e = parsed->source_error()) {
    for (const auto& r : pending_) hold(r.address, *e);
    return std::move(result_);
  }

  policy::EnvelopeFacts ef{env_.mail_from, env_.auth_user, {}};
  std::map<std::string, policy::KeyAvailability> avail;
  for (const auto& r : pending_) {
    auto found = opt_.keystore->lookup(r.address);
    if (!found) {  // fail closed: no decision without knowing the keys
      hold(r.address, found.error().temporary()
                          ? found.error()
                          : Error::temp("4.7.0", "key lookup failed", found.error().what()));
      continue;
    }
    policy::KeyAvailability& a = avail[r.address];
    a.pgp = !found->pgp.empty();
    a.smime = !found->smime.empty();
    keys_[r.address] = std::move(found.value());
    ef.recipients.push_back(r.address);
  }
  if (ef.recipients.empty()) return std::move(result_);

  const policy::Plan plan =
      opt_.decide ? opt_.decide(ef, facts_, avail) : default_decide(ef, facts_, avail);
  if (!plan.subject_tag_removed.empty()) subject_ = plan.subject_without_tag;
  take_sms_subject_tag(plan);
  std::map<std::string, Group> groups;
  for (const auto& address : ef.recipients) {
    const auto it = std::find_if(plan.recipients.begin(), plan.recipients.end(),
                                 [&](const auto& p) { return p.address == address; });
    if (it == plan.recipients.end()) {
      hold(address, Error::temp("4.7.0", "no delivery decision", "policy returned no plan"));
      continue;
    }
    const policy::RecipientPlan& p = *it;
    audit_decision(p, "reasons", join(p.reasons, "; "));
    switch (p.method) {
      case policy::Method::Reject:
        hold(address,
             Error::perm("5.7.1", p.reject_text.empty() ? "rejected by policy" : p.reject_text,
                         "policy rule " + p.rule));
        break;
      case policy::Method::Hold:
        hold(address, Error::temp("4.7.0", "held by policy", "policy rule " + p.rule), true);
        break;
      case policy::Method::Defer:
        hold(address, Error::temp("4.7.0", "no secure way to reach this recipient yet",
                                  "rule " + p.rule + ": " + join(p.reasons, "; ")));
        break;
      case policy::Method::Pgp:
      case policy::Method::Smime:
      case policy::Method::Plain:
      case policy::Method::Pickup: {
        auto& g = groups[group_key(p, visible_)];
        if (g.plans.empty()) {
          g.method = p.method;
          g.sign = p.sign;
          g.cipher = p.smime_cipher;
          g.scrub_profile = p.scrub_profile;
        }
        g.plans.push_back(&p);
        break;
      }
    }
  }

  // Scrubbing changes the message in place: every group after the first gets a
  // fresh parse so profiles never leak into each other.
  bool first = true;
  for (const auto& [key, g] : groups) {
    ParsedMessage msg;
    if (first) {
      msg = std::move(parsed.value());
      first = false;
    } else {
      auto again = parse_body(data_, opt_.limits, /*prescanned=*/true);
      if (!again) {
        hold_group(g, again.error());
        continue;
      }
      msg = std::move(again.value());
    }
    // The tag told Sealpost what to do; the recipient never sees it.
    if (subject_) g_mime_message_set_subject(msg.get(), subject_->c_str(), "utf-8");
    if (opt_.scrub) {
      std::vector<std::string> group_rcpts;
      for (const auto* p : g.plans) group_rcpts.push_back(p->address);
      if (auto r = opt_.scrub(msg.get(), g.scrub_profile, env_.id, join(group_rcpts)); !r) {
        hold_group(g, r.error());
        continue;
      }
    }
    if (g.method == policy::Method::Pickup)
      pickup(g, msg);
    else
      seal_group(g, msg);
  }
  return std::move(result_);
}

SealingTransformer::SealingTransformer(SealingOptions options) : opt_(std::move(options)) {
  ensure_gmime();
}

TransformResult SealingTransformer::prepare(const SpoolEnvelope& envelope,
                                            const std::vector<SpoolRecipient>& pending,
                                            const Body& data) {
  if (!opt_.keystore) {
    TransformResult r;
    for (const auto& p : pending)
      r.held.push_back({p.address, Error::temp("4.7.0", "keystore unavailable", "no keystore")});
    return r;
  }
  Run run(*this, opt_, opt_.audit ? *opt_.audit : null_audit_, envelope, pending, data);
  return run.go();
}

std::string SealingTransformer::remember_deposit(const std::string& key,
                                                 const std::string& pickup_id) {
  std::lock_guard lock(deposits_mu_);
  std::string earlier;
  if (auto it = deposits_.find(key); it != deposits_.end()) earlier = it->second;
  // Bounded: a relay with this many pickups in retry at once has other worries.
  if (deposits_.size() >= 10000 && earlier.empty()) deposits_.erase(deposits_.begin());
  deposits_[key] = pickup_id;
  return earlier;
}

}  // namespace sealpost::seal
