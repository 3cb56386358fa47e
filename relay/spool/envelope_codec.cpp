#include "relay/spool/envelope_codec.h"

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace sealpost::spool {
namespace {

constexpr std::string_view kMagic = "SPEV";
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kCipherNone = 0;
constexpr std::size_t kHeaderBytes = 6;  // magic + version + cipher
constexpr std::uint8_t kEnd = 0xFF;
constexpr std::size_t kRecordHead = 5;  // type + 32-bit length
constexpr std::size_t kTrailerBytes = kRecordHead + SHA256_DIGEST_LENGTH;

// Record types. Message-level fields first; a recipient starts with RcptAddress
// and the following recipient records belong to it.
enum Type : std::uint8_t {
  Id = 1,
  MailFrom = 2,
  Ret = 3,
  EnvId = 4,
  Body = 5,
  SmtpUtf8 = 6,
  AuthUser = 7,
  ClientAddr = 8,
  Helo = 9,
  Listener = 10,
  Arrival = 11,
  Size = 12,
  Kind = 13,
  RcptAddress = 32,
  RcptNotify = 33,
  RcptOrcpt = 34,
  RcptStatusT = 35,
  RcptAttempts = 36,
  RcptNextAttempt = 37,
  RcptLastReply = 38,
  RcptMethod = 39,
};

void put_record(std::string& out, std::uint8_t type, std::string_view value) {
  const auto n = static_cast<std::uint32_t>(value.size());
  out.push_back(static_cast<char>(type));
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xFF));
  out.append(value);
}

void put_u64(std::string& out, std::uint8_t type, std::uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i, v >>= 8) buf[i] = static_cast<char>(v & 0xFF);
  put_record(out, type, std::string_view(buf, 8));
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> sha256(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d.data());
  return d;
}

Error corrupt(std::string what) {
  return Error::plain("corrupt envelope: " + std::move(what));
}

std::uint64_t get_u64(std::string_view v) {
  std::uint64_t n = 0;
  for (unsigned char c : v) n = (n << 8) | c;
  return n;
}

// Applies one record to the envelope under construction; false = not valid here.
bool apply(SpoolEnvelope& env, std::uint8_t type, std::string_view v) {
  const bool fixed8 = v.size() == 8;
  SpoolRecipient* rcpt = env.rcpts.empty() ? nullptr : &env.rcpts.back();
  switch (type) {
    case Id:
      env.id.assign(v);
      return true;
    case MailFrom:
      env.mail_from.assign(v);
      return true;
    case Ret:
      env.ret.assign(v);
      return true;
    case EnvId:
      env.envid.assign(v);
      return true;
    case Body:
      env.body.assign(v);
      return true;
    case SmtpUtf8:
      if (v.size() != 1 || (v[0] != 0 && v[0] != 1)) return false;
      env.smtputf8 = v[0] == 1;
      return true;
    case AuthUser:
      env.auth_user.assign(v);
      return true;
    case ClientAddr:
      env.client_addr.assign(v);
      return true;
    case Helo:
      env.helo.assign(v);
      return true;
    case Listener:
      env.listener.assign(v);
      return true;
    case Arrival:
      if (!fixed8) return false;
      env.arrival = static_cast<std::int64_t>(get_u64(v));
      return true;
    case Size:
      if (!fixed8) return false;
      env.size = get_u64(v);
      return true;
    case Kind:
      env.kind.assign(v);
      return true;
    case RcptAddress:
      if (env.rcpts.size() >= kMaxRecipients) return false;
      env.rcpts.emplace_back().address.assign(v);
      return true;
    default:
      break;
  }
  if (rcpt == nullptr) return false;  // recipient record before any RcptAddress
  switch (type) {
    case RcptNotify:
      rcpt->notify.assign(v);
      return true;
    case RcptOrcpt:
      rcpt->orcpt.assign(v);
      return true;
    case RcptStatusT:
      if (v.size() != 1 || static_cast<unsigned char>(v[0]) > 3) return false;
      rcpt->status = static_cast<RcptStatus>(v[0]);
      return true;
    case RcptAttempts:
      if (!fixed8 || get_u64(v) > UINT32_MAX) return false;
      rcpt->attempts = static_cast<std::uint32_t>(get_u64(v));
      return true;
    case RcptNextAttempt:
      if (!fixed8) return false;
      rcpt->next_attempt = static_cast<std::int64_t>(get_u64(v));
      return true;
    case RcptLastReply:
      rcpt->last_reply.assign(v);
      return true;
    case RcptMethod:
      rcpt->method.assign(v);
      return true;
    default:
      return false;  // unknown type: a newer or corrupt file, refuse it
  }
}

}  // namespace

std::string encode_envelope(const SpoolEnvelope& env) {
  std::string out;
  out.reserve(256 + env.rcpts.size() * 96);
  out.append(kMagic);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(kCipherNone));
  put_record(out, Id, env.id);
  put_record(out, MailFrom, env.mail_from);
  put_record(out, Ret, env.ret);
  put_record(out, EnvId, env.envid);
  put_record(out, Body, env.body);
  put_record(out, SmtpUtf8, std::string_view(env.smtputf8 ? "\1" : "\0", 1));
  put_record(out, AuthUser, env.auth_user);
  put_record(out, ClientAddr, env.client_addr);
  put_record(out, Helo, env.helo);
  put_record(out, Listener, env.listener);
  put_u64(out, Arrival, static_cast<std::uint64_t>(env.arrival));
  put_u64(out, Size, env.size);
  put_record(out, Kind, env.kind);
  for (const auto& r : env.rcpts) {
    put_record(out, RcptAddress, r.address);
    put_record(out, RcptNotify, r.notify);
    put_record(out, RcptOrcpt, r.orcpt);
    const char status = static_cast<char>(r.status);
    put_record(out, RcptStatusT, std::string_view(&status, 1));
    put_u64(out, RcptAttempts, r.attempts);
    put_u64(out, RcptNextAttempt, static_cast<std::uint64_t>(r.next_attempt));
    put_record(out, RcptLastReply, r.last_reply);
    put_record(out, RcptMethod, r.method);
  }
  append_envelope_trailer(out);
  return out;
}

void append_envelope_trailer(std::string& bytes) {
  const auto digest = sha256(bytes);
  put_record(bytes, kEnd,
             std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Result<SpoolEnvelope> decode_envelope(std::string_view bytes) {
  if (bytes.size() > kMaxEnvelopeBytes) return corrupt("too large");
  if (bytes.size() < kHeaderBytes + kTrailerBytes) return corrupt("truncated");
  if (bytes.substr(0, kMagic.size()) != kMagic) return corrupt("bad magic");
  if (static_cast<std::uint8_t>(bytes[4]) != kVersion) return corrupt("unknown version");
  if (static_cast<std::uint8_t>(bytes[5]) != kCipherNone) return corrupt("unknown cipher");

  // The END record must be last and carry the checksum of everything before it:
  // a torn write (missing tail) or any flipped bit fails here.
  const std::size_t body_end = bytes.size() - kTrailerBytes;
  const std::string_view trailer = bytes.substr(body_end);
  if (static_cast<std::uint8_t>(trailer[0]) != kEnd || get_u64(trailer.substr(1, 4)) != 32)
    return corrupt("missing END record");
  const auto digest = sha256(bytes.substr(0, body_end));
  if (std::memcmp(digest.data(), trailer.data() + kRecordHead, digest.size()) != 0)
    return corrupt("checksum mismatch");

  SpoolEnvelope env;
  std::size_t pos = kHeaderBytes;
  while (pos < body_end) {
    if (body_end - pos < kRecordHead) return corrupt("record header past end");
    const auto type = static_cast<std::uint8_t>(bytes[pos]);
    const std::uint64_t len = get_u64(bytes.substr(pos + 1, 4));
    pos += kRecordHead;
    if (len > kMaxFieldBytes || len > body_end - pos) return corrupt("record length out of bounds");
    if (!apply(env, type, bytes.substr(pos, len)))
      return corrupt("unexpected record type " + std::to_string(type));
    pos += len;
  }
  if (env.id.empty()) return corrupt("no queue id");
  return env;
}

}  // namespace sealpost::spool
