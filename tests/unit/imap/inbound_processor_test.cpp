// InboundProcessor on messages that need no key: status fields from outside
// never survive, on every path, and our own copies are left alone.
#include "imap/inbound_processor.h"

#include <catch2/catch.hpp>

#include "../keystore/test_material.h"

using namespace sealpost;
using namespace sealpost::imap;

namespace {

struct World {
  testing::Workdir w;
  std::unique_ptr<keystore::Keystore> ks;
  std::unique_ptr<KeyHarvester> harvester;
  NullAuditSink audit;
  std::unique_ptr<InboundProcessor> processor;
  World() {
    auto opened = keystore::Keystore::open(keystore::KeystoreOptions{w / "state", {}, ""});
    REQUIRE(opened.ok());
    ks = std::move(opened.value());
    harvester = std::make_unique<KeyHarvester>(*ks, w / "state");
    processor = std::make_unique<InboundProcessor>(*ks, *harvester, audit,
                                                   CopyMarker(std::string(32, 'k')));
  }
  InboundResult process(const std::string& raw) {
    MessageRef ref;
    ref.account = "acct";
    ref.folder = "INBOX";
    ref.uid = 1;
    return processor->process(raw, ref);
  }
};

const std::string kForged =
    "From: Mallory <mallory@evil.test>\r\nSubject: Befund\r\nMessage-ID: <f-1@evil.test>\r\n"
    "X-Sealpost-Decrypted: yes\r\nX-Sealpost-Signature: valid key FORGED\r\n";

void check_clean(World& world, const InboundResult& r, const std::string& outcome) {
  CHECK(r.outcome == outcome);
  REQUIRE(r.replace);
  CHECK(r.readable.find("FORGED") == std::string::npos);
  CHECK(r.readable.find("X-Sealpost-Decrypted") == std::string::npos);
  CHECK(r.readable.find("X-Sealpost-Note: status fields added outside Sealpost") !=
        std::string::npos);
  // The replacement, fetched again after the APPEND, is not processed again.
  const InboundResult again = world.process(r.readable);
  CHECK(again.outcome == "own-copy");
  CHECK_FALSE(again.replace);
}

}  // namespace

TEST_CASE("inbound: X-Sealpost-* from outside is removed on paths that decrypt nothing") {
  World world;
  SECTION("plain mail") {
    check_clean(world, world.process(kForged + "\r\nHallo\r\n"), "plain");
  }
  SECTION("encrypted, but not to us") {
    const std::string msg =
        kForged +
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\r\n"
        "\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
        "--e\r\nContent-Type: application/octet-stream\r\n\r\n"
        "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA0kAAAAAAAAA\r\n-----END PGP MESSAGE-----\r\n"
        "--e--\r\n";
    const InboundResult r = world.process(msg);
    CHECK(r.outcome != "decrypted");
    check_clean(world, r, r.outcome);
    CHECK(r.readable.find("multipart/encrypted") != std::string::npos);  // otherwise untouched
  }
  SECTION("plain mail without status fields stays where it is") {
    const InboundResult r = world.process("From: a@b.test\r\nSubject: x\r\n\r\nHallo\r\n");
    CHECK(r.outcome == "plain");
    CHECK_FALSE(r.replace);
  }
  SECTION("a forged copy mark does not help") {
    const InboundResult r =
        world.process("X-Sealpost-Copy: v1 00ff\r\n" + kForged + "\r\nHallo\r\n");
    check_clean(world, r, "plain");
    CHECK(r.readable.find("00ff") == std::string::npos);
  }
}
