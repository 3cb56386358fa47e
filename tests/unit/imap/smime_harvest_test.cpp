// S/MIME signatures and certificate harvesting with openssl-made mail, the
// harvest policy (approve / never) for both kinds, and inline PGP, all through
// the InboundProcessor as the IMAP service drives it.
#include <catch2/catch.hpp>

#include "../keystore/test_material.h"
#include "imap/inbound_processor.h"
#include "imap/smime_signed.h"

using namespace sealpost;
using namespace sealpost::imap;
using sealpost::testing::CertWorld;
using sealpost::testing::GpgWorld;
using sealpost::testing::sh;
using sealpost::testing::slurp;
using sealpost::testing::Workdir;

namespace {

const std::string kPatient = "patient@example.test";

struct World {
  Workdir w;
  CertWorld ca{w, "ca"};
  std::unique_ptr<keystore::Keystore> ks;
  std::unique_ptr<KeyHarvester> harvester;
  NullAuditSink audit;
  std::unique_ptr<InboundProcessor> processor;
  World() {
    auto opened =
        keystore::Keystore::open(keystore::KeystoreOptions{w / "state", {ca.ca_pem()}, ""});
    REQUIRE(opened.ok());
    ks = std::move(opened.value());
    harvester = std::make_unique<KeyHarvester>(*ks, w / "state");
    processor = std::make_unique<InboundProcessor>(*ks, *harvester, audit,
                                                   CopyMarker(std::string(32, 'k')));
  }
  InboundResult process(const std::string& raw, HarvestPolicy policy = HarvestPolicy::Auto) {
    MessageRef ref;
    ref.account = "acct";
    ref.folder = "INBOX";
    ref.uid = 1;
    ref.harvest = HarvestRules{policy, KeyChangePolicy::Approve};
    return processor->process(raw, ref);
  }
  // A signed mail (openssl cms -sign, multipart/signed unless `opaque`) from `from`.
  std::string signed_mail(const std::string& cert_pem, const std::string& from,
                          const std::string& message_id, bool opaque = false) const {
    const std::string key = cert_pem.substr(0, cert_pem.size() - 4) + ".key";
    std::ofstream(w / "body.txt") << "Content-Type: text/plain\r\n\r\nBitte Termin.\r\n";
    return "Message-ID: " + message_id + "\r\n" +
           sh("openssl cms -sign -crlfeol " + std::string(opaque ? "-nodetach " : "") + "-in " +
              (w / "body.txt") + " -signer " + cert_pem + " -inkey " + key + " -from '" + from +
              "' -to praxis@praxis.test -subject Termin");
  }
  std::vector<keystore::SmimeCert> certs_for(const std::string& address) {
    auto r = ks->lookup(address);
    REQUIRE(r.ok());
    return r->smime;
  }
};

}  // namespace

TEST_CASE("a valid S/MIME signature from the sender's certificate is harvested") {
  World world;
  const std::string cert = world.ca.issue("patient", kPatient);

  SECTION("multipart/signed") {
    auto r = world.process(world.signed_mail(cert, kPatient, "<s-1@example.test>"));
    CHECK(r.outcome == "plain");
    CHECK_FALSE(r.replace);  // staff's client shows the signed original itself
  }
  SECTION("opaque signed-data") {
    CHECK(world.process(world.signed_mail(cert, kPatient, "<s-1@example.test>", true)).outcome ==
          "plain");
  }
  auto found = world.certs_for(kPatient);
  REQUIRE(found.size() == 1);
  CHECK(found[0].source.source == "harvested");
  CHECK(found[0].source.origin == "signature from " + kPatient + " in <s-1@example.test>");
  CHECK(found[0].source.added > 0);
  CHECK_FALSE(found[0].source.pending);

  // The same certificate again: nothing new.
  world.process(world.signed_mail(cert, kPatient, "<s-2@example.test>"));
  CHECK(world.certs_for(kPatient).size() == 1);

  // A new certificate for the address is a key change: stored, but it waits
  // for approval (imap[].key_change: approve) while the first stays in use.
  const std::string first = found[0].id;
  world.process(world.signed_mail(world.ca.issue("patient2", kPatient), kPatient, "<s-3@x>"));
  auto now = world.certs_for(kPatient);
  REQUIRE(now.size() == 1);
  CHECK(now[0].id == first);
  std::string second;
  auto listed = world.ks->list();
  REQUIRE(listed.ok());
  for (const auto& k : *listed)
    if (k.id != first) second = k.id;
  REQUIRE_FALSE(second.empty());
  CHECK(world.ks->source_of(second).pending);
  CHECK(world.ks->source_of(second).replaces == first);
  // Approved: the new one is used, the earlier one retires and says why.
  auto approval = world.ks->approve(second);
  REQUIRE(approval.ok());
  CHECK(approval->retired == std::vector<std::string>{first});
  now = world.certs_for(kPatient);
  REQUIRE(now.size() == 1);
  CHECK(now[0].id == second);
  auto r = world.ks->lookup(kPatient);
  REQUIRE(r.ok());
  REQUIRE(r->rejected.size() == 1);
  CHECK(r->rejected[0].reason.find("retired: replaced by " + second) == 0);
  // Mailed again, the retired certificate stays retired.
  world.process(world.signed_mail(cert, kPatient, "<s-4@x>"));
  now = world.certs_for(kPatient);
  REQUIRE(now.size() == 1);
  CHECK(now[0].id == second);
}

TEST_CASE("S/MIME certificates that are not harvested") {
  World world;
  SECTION("signed by a certificate of a CA we do not trust") {
    CertWorld stranger(world.w, "stranger");
    const std::string cert = stranger.issue("p", kPatient);
    world.process(world.signed_mail(cert, kPatient, "<m>"));
    auto listed = world.ks->list();
    REQUIRE(listed.ok());
    CHECK(listed->empty());
  }
  SECTION("the certificate is somebody else's") {
    world.process(world.signed_mail(world.ca.issue("lab", "lab@partner.test"), kPatient, "<m>"));
    CHECK(world.certs_for("lab@partner.test").empty());
    CHECK(world.certs_for(kPatient).empty());
  }
  SECTION("local part differs in case") {
    world.process(world.signed_mail(world.ca.issue("p", "Patient@example.test"), kPatient, "<m>"));
    CHECK(world.ks->list()->empty());
  }
  SECTION("no emailProtection usage") {
    world.process(world.signed_mail(
        world.ca.issue("p", kPatient, "digitalSignature,keyEncipherment", ""), kPatient, "<m>"));
    CHECK(world.ks->list()->empty());
  }
  SECTION("a signing-only certificate cannot be encrypted to") {
    world.process(
        world.signed_mail(world.ca.issue("p", kPatient, "digitalSignature"), kPatient, "<m>"));
    CHECK(world.ks->list()->empty());
  }
  SECTION("a tampered signed part") {
    std::string mail = world.signed_mail(world.ca.issue("p", kPatient), kPatient, "<m>");
    mail.replace(mail.find("Bitte Termin."), 5, "Komme");
    world.process(mail);
    CHECK(world.ks->list()->empty());
  }
  SECTION("harvest: never") {
    world.process(world.signed_mail(world.ca.issue("p", kPatient), kPatient, "<m>"),
                  HarvestPolicy::Never);
    CHECK(world.ks->list()->empty());
  }
}

TEST_CASE("a certificate naming a second address is not harvested") {
  World world;
  // Issued by hand: CertWorld puts one address in subjectAltName.
  const std::string base = world.w / "ca/two";
  sh("openssl req -new -newkey rsa:2048 -nodes -subj /CN=two -keyout " + base + ".key -out " +
     base + ".csr");
  std::ofstream(base + ".ext") << "subjectAltName=email:" << kPatient
                               << ",email:lab@partner.test\nkeyUsage=critical,digitalSignature,"
                                  "keyEncipherment\nextendedKeyUsage=emailProtection\n";
  sh("openssl x509 -req -in " + base + ".csr -CA " + world.ca.ca_pem() + " -CAkey " +
     (world.w / "ca/ca.key") + " -CAcreateserial -days 30 -extfile " + base + ".ext -out " + base +
     ".pem");
  world.process(world.signed_mail(base + ".pem", kPatient, "<m>"));
  CHECK(world.ks->list()->empty());
  CHECK(world.certs_for("lab@partner.test").empty());
}

TEST_CASE("an admin-imported certificate or key is never joined by a harvested one") {
  World world;
  SECTION("certificate") {
    REQUIRE(world.ks->import_data(slurp(world.ca.issue("admin", kPatient)), "admin.pem").ok());
  }
  SECTION("OpenPGP key") {
    GpgWorld gpg(world.w);
    REQUIRE(world.ks->import_data(gpg.export_key(gpg.gen("P <" + kPatient + ">")), "p.asc").ok());
  }
  world.process(world.signed_mail(world.ca.issue("harvest", kPatient), kPatient, "<m>"));
  auto listed = world.ks->list();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().source.source == "imported");
}

TEST_CASE("a harvested key of the other type is a key change that waits for approval") {
  World world;
  GpgWorld gpg(world.w);
  const std::string pgp = gpg.gen("P <" + kPatient + ">");
  const HarvestRules auto_harvest{HarvestPolicy::Auto, KeyChangePolicy::Approve};

  SECTION("an S/MIME certificate beside an approved OpenPGP key") {
    REQUIRE(world.harvester
                ->harvest_pgp(gpg.export_key(pgp), kPatient, "<k>", HarvestSource::Autocrypt,
                              HarvestRules{HarvestPolicy::Approve})
                .kind == HarvestOutcome::Kind::Imported);
    REQUIRE(world.ks->approve(pgp).ok());
    world.process(world.signed_mail(world.ca.issue("p", kPatient), kPatient, "<m>"));
    CHECK(world.certs_for(kPatient).empty());  // harvest: auto, but a key change
    auto r = world.ks->lookup(kPatient);
    REQUIRE(r.ok());
    REQUIRE(r->pgp.size() == 1);  // the approved key stays in use, not retired
    bool waits = false;
    for (const auto& x : r->rejected)
      waits =
          waits || (x.kind == "smime" && x.reason.find("awaiting approval") != std::string::npos);
    CHECK(waits);
  }
  SECTION("an OpenPGP key beside a harvested certificate") {
    world.process(world.signed_mail(world.ca.issue("p", kPatient), kPatient, "<m>"));
    REQUIRE(world.certs_for(kPatient).size() == 1);
    auto out = world.harvester->harvest_pgp(gpg.export_key(pgp), kPatient, "<k>",
                                            HarvestSource::Autocrypt, auto_harvest);
    REQUIRE(out.kind == HarvestOutcome::Kind::Imported);
    CHECK(out.pending);
    CHECK(out.reason.find("key change") != std::string::npos);
    CHECK(out.retired.empty());
    CHECK(world.ks->lookup(kPatient)->pgp.empty());
    CHECK(world.certs_for(kPatient).size() == 1);
    // Approved: used beside the certificate, which is not retired by a key of another type.
    auto approval = world.ks->approve(pgp);
    REQUIRE(approval.ok());
    CHECK(approval->retired.empty());
    CHECK(world.ks->lookup(kPatient)->pgp.size() == 1);
    CHECK(world.certs_for(kPatient).size() == 1);
  }
  SECTION("key_change: auto takes it at once, beside the other") {
    world.process(world.signed_mail(world.ca.issue("p", kPatient), kPatient, "<m>"));
    auto out =
        world.harvester->harvest_pgp(gpg.export_key(pgp), kPatient, "<k>", HarvestSource::Autocrypt,
                                     HarvestRules{HarvestPolicy::Auto, KeyChangePolicy::Auto});
    REQUIRE(out.kind == HarvestOutcome::Kind::Imported);
    CHECK_FALSE(out.pending);
    CHECK(world.ks->lookup(kPatient)->pgp.size() == 1);
  }
}

TEST_CASE("a key of unknown provenance is neither the admin's nor silently joined") {
  World world;
  GpgWorld gpg(world.w);
  // Put into the keyring by hand: no provenance record.
  const std::string by_hand = gpg.gen("P <" + kPatient + ">");
  REQUIRE(world.ks->pgp().import(gpg.export_key(by_hand)).ok());
  REQUIRE(world.ks->source_of(by_hand).source == "unknown");
  const std::string cert = world.ca.issue("p", kPatient);
  world.process(world.signed_mail(cert, kPatient, "<m>"));
  // Not refused as "the admin's", but a key change waiting for approval.
  CHECK(world.certs_for(kPatient).empty());
  auto listed = world.ks->list();
  REQUIRE(listed.ok());
  bool pending = false;
  for (const auto& k : *listed) pending = pending || (k.kind == "smime" && k.source.pending);
  CHECK(pending);
}

TEST_CASE("harvest: approve keeps certificates and keys out of use until approved") {
  World world;
  const std::string cert = world.ca.issue("p", kPatient);
  world.process(world.signed_mail(cert, kPatient, "<m>"), HarvestPolicy::Approve);
  auto r = world.ks->lookup(kPatient);
  REQUIRE(r.ok());
  CHECK(r->smime.empty());
  REQUIRE(r->rejected.size() == 1);
  CHECK(r->rejected[0].reason.find("awaiting approval") != std::string::npos);
  auto listed = world.ks->list();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().source.pending);
  // Mailed again while pending: still one, still pending.
  world.process(world.signed_mail(cert, kPatient, "<m2>"), HarvestPolicy::Approve);
  REQUIRE(world.ks->list()->size() == 1);
  CHECK(world.ks->list()->front().source.pending);
  REQUIRE(world.ks->approve(listed->front().id).ok());
  CHECK(world.certs_for(kPatient).size() == 1);

  // OpenPGP under approve: pending, and its signatures do not read "valid".
  GpgWorld gpg(world.w);
  const std::string practice = gpg.gen("Praxis <praxis@praxis.test>");
  REQUIRE(world.ks->import_data(gpg.gpg("--armor --export-secret-keys " + practice), "p.sec").ok());
  const std::string anna = gpg.gen("Anna <anna@pat.test>");
  auto out =
      world.harvester->harvest_pgp(gpg.export_key(anna), "anna@pat.test", "<a>",
                                   HarvestSource::Autocrypt, HarvestRules{HarvestPolicy::Approve});
  REQUIRE(out.kind == HarvestOutcome::Kind::Imported);
  CHECK(out.pending);
  CHECK(world.ks->lookup("anna@pat.test")->pgp.empty());
  CHECK(world.harvester
            ->harvest_pgp(gpg.export_key(anna), "anna@pat.test", "<a2>", HarvestSource::Autocrypt,
                          HarvestRules{HarvestPolicy::Approve})
            .kind == HarvestOutcome::Kind::Known);
  std::ofstream(world.w / "msg.txt") << "Content-Type: text/plain\r\n\r\nHallo\r\n";
  const std::string armored = gpg.gpg("--trust-model always --armor --sign --encrypt -u " + anna +
                                      " -r " + practice + " -o - " + (world.w / "msg.txt"));
  const std::string mail =
      "From: <anna@pat.test>\r\nMessage-ID: <e@pat.test>\r\n"
      "Content-Type: text/plain\r\n\r\n" +
      armored;
  auto pending = world.process(mail, HarvestPolicy::Approve);
  CHECK(pending.outcome == "decrypted");
  CHECK(pending.readable.find("X-Sealpost-Signature: none (signed by harvested key " + anna +
                              " awaiting approval)") != std::string::npos);
  REQUIRE(world.ks->approve(anna).ok());
  auto approved = world.process(mail, HarvestPolicy::Approve);
  CHECK(approved.readable.find("X-Sealpost-Signature: valid key " + anna) != std::string::npos);
  CHECK(world.ks->lookup("anna@pat.test")->pgp.size() == 1);
}

TEST_CASE("inline PGP is decrypted into a text part of its own") {
  World world;
  GpgWorld gpg(world.w);
  const std::string practice = gpg.gen("Praxis <praxis@praxis.test>");
  REQUIRE(world.ks->import_data(gpg.gpg("--armor --export-secret-keys " + practice), "p.sec").ok());
  std::ofstream(world.w / "msg.txt") << "Gr\xc3\xbc\xc3\x9f"
                                        "e,\nder Befund ist da.\n";
  const std::string armored = gpg.gpg("--trust-model always --armor --encrypt -r " + practice +
                                      " -o - " + (world.w / "msg.txt"));
  auto r = world.process(
      "From: <anna@pat.test>\r\nSubject: Befund\r\nMessage-ID: <i@pat.test>\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n\r\n" +
      armored);
  CHECK(r.outcome == "decrypted");
  REQUIRE(r.replace);
  CHECK(r.readable.find("X-Sealpost-Decrypted: yes\r\n") != std::string::npos);
  CHECK(r.readable.find("X-Sealpost-Signature: none") != std::string::npos);
  CHECK(r.readable.find("BEGIN PGP MESSAGE") == std::string::npos);
  CHECK(r.readable.find("der Befund ist da.") != std::string::npos);
  CHECK(r.readable.find("Gr=C3=BC=C3=9Fe") != std::string::npos);
  CHECK(r.readable.find("Subject: Befund") != std::string::npos);

  // The same block quoted inside other text stays as it is.
  auto quoted = world.process("From: <anna@pat.test>\r\nMessage-ID: <q@pat.test>\r\n\r\n> " +
                              std::string("Anbei:\r\n") + armored);
  CHECK(quoted.outcome == "plain");
}

TEST_CASE("S/MIME signed inside the envelope: verified, unwrapped, harvested") {
  World world;
  const std::string practice = world.ca.issue("practice", "praxis@praxis.test");
  sh("openssl pkcs12 -export -in " + practice + " -inkey " + (world.w / "ca/practice.key") +
     " -passout pass: -out " + (world.w / "practice.p12"));
  REQUIRE(world.ks->import_data(slurp(world.w / "practice.p12"), "practice.p12").ok());
  const std::string patient = world.ca.issue("patient", kPatient);
  std::ofstream(world.w / "inner.txt") << "Content-Type: text/plain\r\n\r\nLaborwerte ok.\r\n";

  for (bool opaque : {true, false}) {
    sh("openssl cms -sign -crlfeol -binary " + std::string(opaque ? "-nodetach " : "") + "-in " +
       (world.w / "inner.txt") + " -signer " + patient + " -inkey " + (world.w / "ca/patient.key") +
       " -out " + (world.w / "signed.eml"));
    const std::string enveloped = sh("openssl cms -encrypt -binary -aes-256-cbc -in " +
                                     (world.w / "signed.eml") + " " + practice);
    std::string mail = "From: <" + kPatient + ">\r\nMessage-ID: <env@example.test>\r\n";
    mail += enveloped;
    auto r = world.process(mail);
    INFO(r.readable);
    CHECK(r.outcome == "decrypted");
    const std::string id =
        keystore::SmimeStore::describe(
            ossl::share(std::move(keystore::parse_certificates(slurp(patient))[0])))
            .id;
    CHECK(r.readable.find("X-Sealpost-Signature: valid certificate " + id) != std::string::npos);
    // A valid signature by the sender covers the plaintext: CBC is authenticated then.
    CHECK(r.readable.find("X-Sealpost-Decrypted: yes\r\n") != std::string::npos);
    CHECK(r.readable.find("Laborwerte ok.") != std::string::npos);
    CHECK(r.readable.find("pkcs7") == std::string::npos);
    REQUIRE(world.certs_for(kPatient).size() == 1);
    CHECK(world.certs_for(kPatient)[0].source.source == "harvested");

    // Under somebody else's From the same content is not the sender's.
    std::string other = mail;
    other.replace(other.find(kPatient), kPatient.size(), "mallory@evil.test");
    auto m = world.process(other);
    CHECK(m.readable.find("X-Sealpost-Signature: invalid (good signature by certificate " + id +
                          " which does not belong to mallory@evil.test)") != std::string::npos);
    CHECK(m.readable.find("X-Sealpost-Decrypted: yes; unauthenticated") != std::string::npos);
  }
}
