#include "relay/spool/envelope_codec.h"

#include <catch2/catch.hpp>

using namespace sealpost;
using namespace sealpost::spool;

namespace {

SpoolEnvelope sample() {
  SpoolEnvelope env;
  env.id = "0005f1a2b3c4dabcdefghijklm";
  env.mail_from = "arzt@praxis.example";
  env.ret = "HDRS";
  env.envid = "QQ314159";
  env.body = "8BITMIME";
  env.smtputf8 = true;
  env.auth_user = "dr-mueller";
  env.client_addr = "192.0.2.7";
  env.helo = "pc-empfang";
  env.listener = "127.0.0.1:587";
  env.arrival = 1732800000;
  env.size = 123456789012ull;
  env.kind = "";
  SpoolRecipient a;
  a.address = "patient@example.org";
  a.notify = "FAILURE,DELAY";
  a.orcpt = "rfc822;patient@example.org";
  a.status = RcptStatus::Pending;
  a.attempts = 3;
  a.next_attempt = 1732803600;
  a.last_reply = "451 4.3.0 try later";
  a.method = "pgp";
  SpoolRecipient b;
  b.address = "labor@labor-nord.example";
  b.status = RcptStatus::Delivered;
  b.last_reply = "250 2.0.0 ok";
  SpoolRecipient c;
  c.address = "weg@example.net";
  c.status = RcptStatus::Failed;
  env.rcpts = {a, b, c};
  return env;
}

void require_equal(const SpoolEnvelope& x, const SpoolEnvelope& y) {
  CHECK(x.id == y.id);
  CHECK(x.mail_from == y.mail_from);
  CHECK(x.ret == y.ret);
  CHECK(x.envid == y.envid);
  CHECK(x.body == y.body);
  CHECK(x.smtputf8 == y.smtputf8);
  CHECK(x.auth_user == y.auth_user);
  CHECK(x.client_addr == y.client_addr);
  CHECK(x.helo == y.helo);
  CHECK(x.listener == y.listener);
  CHECK(x.arrival == y.arrival);
  CHECK(x.size == y.size);
  CHECK(x.kind == y.kind);
  REQUIRE(x.rcpts.size() == y.rcpts.size());
  for (std::size_t i = 0; i < x.rcpts.size(); ++i) {
    CHECK(x.rcpts[i].address == y.rcpts[i].address);
    CHECK(x.rcpts[i].notify == y.rcpts[i].notify);
    CHECK(x.rcpts[i].orcpt == y.rcpts[i].orcpt);
    CHECK(x.rcpts[i].status == y.rcpts[i].status);
    CHECK(x.rcpts[i].attempts == y.rcpts[i].attempts);
    CHECK(x.rcpts[i].next_attempt == y.rcpts[i].next_attempt);
    CHECK(x.rcpts[i].last_reply == y.rcpts[i].last_reply);
    CHECK(x.rcpts[i].method == y.rcpts[i].method);
  }
}

}  // namespace

TEST_CASE("envelope round-trips through the record format") {
  const auto env = sample();
  const auto bytes = encode_envelope(env);
  auto back = decode_envelope(bytes);
  REQUIRE(back.ok());
  require_equal(env, *back);

  SpoolEnvelope dsn;
  dsn.id = "abc";
  dsn.kind = "dsn";
  auto back2 = decode_envelope(encode_envelope(dsn));
  REQUIRE(back2.ok());
  require_equal(dsn, *back2);
}

TEST_CASE("a torn envelope (any truncation) is detected") {
  const auto bytes = encode_envelope(sample());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    INFO("truncated to " << cut << " bytes");
    CHECK_FALSE(decode_envelope(std::string_view(bytes).substr(0, cut)).ok());
  }
}

TEST_CASE("any single flipped bit is detected") {
  const auto bytes = encode_envelope(sample());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      auto damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      INFO("byte " << i << " bit " << bit);
      CHECK_FALSE(decode_envelope(damaged).ok());
    }
  }
}

TEST_CASE("unknown version, cipher or trailing garbage are refused") {
  auto bytes = encode_envelope(sample());
  auto v2 = bytes;
  v2[4] = 2;
  CHECK_FALSE(decode_envelope(v2).ok());
  auto enc = bytes;
  enc[5] = 1;  // at-rest encryption is not implemented yet: refuse, do not guess
  CHECK_FALSE(decode_envelope(enc).ok());
  CHECK_FALSE(decode_envelope(bytes + "x").ok());
  CHECK_FALSE(decode_envelope("").ok());
  CHECK_FALSE(decode_envelope(std::string(100, '\0')).ok());
}
