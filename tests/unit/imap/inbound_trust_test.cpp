// Who vouches for a signature's key, through the InboundProcessor with real
// gpg: a key that arrives in a message's own Autocrypt header never makes
// that message "valid"; a key harvested from earlier mail reads as harvested
// and unverified; only an admin-imported or approved key reads "valid key".
#include <catch2/catch.hpp>
#include <fstream>

#include "../keystore/test_material.h"
#include "imap/inbound_processor.h"

using namespace sealpost;
using namespace sealpost::imap;
using sealpost::testing::GpgWorld;
using sealpost::testing::Workdir;

namespace {

const std::string kPatient = "patient@example.test";

struct World {
  Workdir w;
  GpgWorld gpg{w};
  std::unique_ptr<keystore::Keystore> ks;
  std::unique_ptr<KeyHarvester> harvester;
  NullAuditSink audit;
  std::unique_ptr<InboundProcessor> processor;
  std::string practice;
  World() {
    keystore::KeystoreOptions o;
    o.state_dir = w / "state";
    auto opened = keystore::Keystore::open(o);
    REQUIRE(opened.ok());
    ks = std::move(opened.value());
    harvester = std::make_unique<KeyHarvester>(*ks, w / "state");
    processor = std::make_unique<InboundProcessor>(*ks, *harvester, audit,
                                                   CopyMarker(std::string(32, 'k')));
    practice = gpg.gen("Praxis <praxis@praxis.test>");
    REQUIRE(ks->import_data(gpg.gpg("--armor --export-secret-keys " + practice), "p.sec").ok());
  }
  InboundResult process(const std::string& raw, HarvestPolicy harvest) {
    MessageRef ref;
    ref.account = "acct";
    ref.folder = "INBOX";
    ref.uid = 1;
    ref.harvest = HarvestRules{harvest, KeyChangePolicy::Approve};
    return processor->process(raw, ref);
  }
  // A PGP/MIME reply signed with `signer`, From kPatient, optionally with
  // an Autocrypt header carrying `autocrypt_key`.
  std::string reply(const std::string& signer, const std::string& message_id,
                    const std::string& autocrypt_key = "",
                    const std::string& inner = "Content-Type: text/plain\r\n\r\nBitte Rezept.\r\n",
                    const std::string& outer_extra = "") const {
    std::ofstream(w / "inner.txt") << inner;
    const std::string armored = gpg.gpg("--trust-model always --armor --sign --encrypt -u " +
                                        signer + " -r " + practice + " -o - " + (w / "inner.txt"));
    std::string head =
        "From: <" + kPatient + ">\r\nMessage-ID: " + message_id + "\r\n" + outer_extra;
    if (!autocrypt_key.empty()) {
      const std::string b64 = gpg.gpg("--export " + autocrypt_key + " | base64 -w0");
      head += "Autocrypt: addr=" + kPatient + "; keydata=" + b64 + "\r\n";
    }
    return head +
           "MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; "
           "protocol=\"application/pgp-encrypted\"; boundary=e\r\n\r\n"
           "--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
           "--e\r\nContent-Type: application/octet-stream\r\n\r\n" +
           armored + "\r\n--e--\r\n";
  }
  static std::string signature(const InboundResult& r) {
    const auto at = r.readable.find("X-Sealpost-Signature: ");
    if (at == std::string::npos) return {};
    const auto end = r.readable.find("\r\n", at);
    return r.readable.substr(at + 22, end - at - 22);
  }
};

}  // namespace

TEST_CASE("a spoofed sender's own Autocrypt key never vouches for its message") {
  World world;
  // Mallory's key with the patient's address: anybody can make one.
  const std::string forged = world.gpg.gen("Patientin <" + kPatient + ">");
  const InboundResult first =
      world.process(world.reply(forged, "<spoof-1@evil.test>", forged), HarvestPolicy::Auto);
  REQUIRE(first.outcome == "decrypted");
  CHECK(World::signature(first) == "none (signed by unknown key " + forged + ")");
  // The key is learnt afterwards (harvest: auto) ...
  REQUIRE(world.ks->lookup(kPatient)->pgp.size() == 1);
  // ... and a retry of the same message (a crash before it was finished) still proves nothing.
  const InboundResult retry =
      world.process(world.reply(forged, "<spoof-1@evil.test>", forged), HarvestPolicy::Auto);
  CHECK(World::signature(retry) ==
        "none (signed by key " + forged + " that came with this message)");
  // Later mail signed with it matches, but all that vouches for it is earlier mail.
  const InboundResult later =
      world.process(world.reply(forged, "<spoof-2@evil.test>"), HarvestPolicy::Auto);
  CHECK(World::signature(later) == "valid harvested key " + forged + " (unverified)");
  // Never a plain "valid key" without an admin.
  CHECK(later.readable.find("X-Sealpost-Signature: valid key") == std::string::npos);
}

TEST_CASE("under the default harvest: approve, a learnt key is neither used nor trusted") {
  World world;
  const std::string key = world.gpg.gen("Patientin <" + kPatient + ">");
  const InboundResult first =
      world.process(world.reply(key, "<a-1@example.test>", key), HarvestPolicy::Approve);
  CHECK(World::signature(first) == "none (signed by unknown key " + key + ")");
  CHECK(world.ks->lookup(kPatient)->pgp.empty());  // outgoing mail does not use it
  const InboundResult second =
      world.process(world.reply(key, "<a-2@example.test>"), HarvestPolicy::Approve);
  CHECK(World::signature(second) == "none (signed by harvested key " + key + " awaiting approval)");
  REQUIRE(world.ks->approve(key).ok());
  const InboundResult third =
      world.process(world.reply(key, "<a-3@example.test>"), HarvestPolicy::Approve);
  CHECK(World::signature(third) == "valid key " + key);
}

TEST_CASE("an admin-imported key reads valid key") {
  World world;
  const std::string key = world.gpg.gen("Patientin <" + kPatient + ">");
  REQUIRE(world.ks->import_data(world.gpg.export_key(key), "patient.asc").ok());
  const InboundResult r =
      world.process(world.reply(key, "<i-1@example.test>"), HarvestPolicy::Auto);
  CHECK(World::signature(r) == "valid key " + key);
}

TEST_CASE("a reply with protected headers shows its real subject in the readable copy") {
  World world;
  const std::string key = world.gpg.gen("Patientin <" + kPatient + ">");
  REQUIRE(world.ks->import_data(world.gpg.export_key(key), "patient.asc").ok());
  const std::string inner =
      "Content-Type: multipart/mixed; boundary=\"b\"; hp=\"cipher\"\r\n"
      "From: <" +
      kPatient +
      ">\r\nTo: <praxis@praxis.test>\r\nSubject: Frage zum Befund\r\n"
      "HP-Outer: Subject: [...]\r\nX-Sealpost-Signature: valid key FORGED-INNER\r\n\r\n"
      "--b\r\nContent-Type: text/plain; charset=utf-8; hp-legacy-display=\"1\"\r\n\r\n"
      "Subject: Frage zum Befund\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nWann kann ich kommen?\r\n--b--\r\n";
  const InboundResult r =
      world.process(world.reply(key, "<hp-1@example.test>", "", inner,
                                "To: <praxis@praxis.test>\r\nSubject: [...]\r\n"),
                    HarvestPolicy::Approve);
  REQUIRE(r.outcome == "decrypted");
  INFO(r.readable);
  const std::string head = r.readable.substr(0, r.readable.find("\r\n\r\n"));
  CHECK(head.find("\r\nSubject: Frage zum Befund\r\n") != std::string::npos);
  CHECK(head.find("[...]") == std::string::npos);
  CHECK(r.readable.find("FORGED-INNER") == std::string::npos);
  CHECK(World::signature(r) == "valid key " + key);
  CHECK(r.readable.find("Wann kann ich kommen?") != std::string::npos);
}
