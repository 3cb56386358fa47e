#include "relay/auth/user_directory.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/durable_file.h"

using namespace sealpost::auth;

namespace {

// Cheap parameters keep the tests fast; the production defaults are tested once.
const Argon2Params kFast{1, 1024, 1};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/sealpost-auth-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string yaml_for(const std::string& name, const std::string& hash, const std::string& addrs) {
  return "users:\n  - name: " + name + "\n    password: \"" + hash + "\"\n    addresses: " + addrs +
         "\n";
}

}  // namespace

TEST_CASE("argon2id hashes verify only the right password") {
  auto h = hash_password("correct horse", kFast);
  REQUIRE(h.ok());
  CHECK(h->rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0) == 0);
  CHECK(verify_password(*h, "correct horse"));
  CHECK(!verify_password(*h, "correct horsE"));
  CHECK(!verify_password(*h, ""));
  CHECK(!verify_password("$2y$10$bcrypt", "x"));
  auto d = hash_password("x");
  REQUIRE(d.ok());
  CHECK(d->find("m=65536,t=3,p=1") != std::string::npos);  // production defaults
}

TEST_CASE("users.yaml loads and answers verify / may_send_as") {
  auto h = hash_password("pw1", kFast);
  REQUIRE(h.ok());
  auto dir = UserDirectory::parse(
      yaml_for("anna", *h, "[Anna@Praxis.Example, empfang@praxis.example]"), "users.yaml");
  REQUIRE(dir.ok());
  CHECK(dir->verify("anna", "pw1"));
  CHECK(!dir->verify("anna", "pw2"));
  CHECK(!dir->verify("bob", "pw1"));
  CHECK(!dir->verify("ANNA", "pw1"));
  CHECK(dir->may_send_as("anna", "Anna@praxis.example"));
  CHECK(dir->may_send_as("anna", "Anna@PRAXIS.example"));   // domain case-insensitive
  CHECK(!dir->may_send_as("anna", "anna@praxis.example"));  // local part exact
  CHECK(dir->may_send_as("anna", "empfang@praxis.example"));
  CHECK(!dir->may_send_as("anna", "chef@praxis.example"));
  CHECK(!dir->may_send_as("bob", "empfang@praxis.example"));
}

TEST_CASE("users.yaml errors name file and line") {
  auto h = hash_password("pw", kFast);
  REQUIRE(h.ok());
  auto unknown = UserDirectory::parse(
      "users:\n  - name: anna\n    password: \"" + *h + "\"\n    adresses: [a@b.example]\n",
      "users.yaml");
  REQUIRE(!unknown.ok());
  CHECK(unknown.error().what().rfind("users.yaml:4:", 0) == 0);

  auto wildcard = UserDirectory::parse(yaml_for("anna", *h, "[\"*@praxis.example\"]"), "u.yaml");
  REQUIRE(!wildcard.ok());
  CHECK(wildcard.error().what().find("wildcard") != std::string::npos);

  auto plain = UserDirectory::parse(yaml_for("anna", "secret", "[a@b.example]"), "u.yaml");
  REQUIRE(!plain.ok());
  CHECK(plain.error().what().find("argon2id") != std::string::npos);

  auto dup =
      UserDirectory::parse(yaml_for("anna", *h, "[a@b.example]") +
                               "  - name: anna\n    password: \"" + *h + "\"\n    addresses: []\n",
                           "u.yaml");
  CHECK(!dup.ok());
  CHECK(!UserDirectory::parse(yaml_for("an na", *h, "[a@b.example]"), "u.yaml").ok());
  CHECK(UserDirectory::parse("users: []\n", "u.yaml").ok());
}

TEST_CASE("add_user creates a 0640 file that loads again") {
  TempDir t;
  const std::string path = (t.path / "users.yaml").string();
  REQUIRE(add_user(path, "anna", "pw-anna", {"anna@praxis.example"}, kFast).ok());
  REQUIRE(
      add_user(path, "bob", "pw-bob", {"bob@praxis.example", "Team@Praxis.example"}, kFast).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);

  auto dir = UserDirectory::load(path);
  REQUIRE(dir.ok());
  CHECK(dir->users().size() == 2);
  CHECK(dir->verify("anna", "pw-anna"));
  CHECK(dir->verify("bob", "pw-bob"));
  CHECK(!dir->verify("bob", "pw-anna"));
  CHECK(dir->may_send_as("bob", "Team@praxis.example"));

  auto again = add_user(path, "anna", "other", {}, kFast);
  REQUIRE(!again.ok());
  CHECK(again.error().what().find("already exists") != std::string::npos);
  CHECK(!add_user(path, "carl", "pw", {"*@praxis.example"}, kFast).ok());
  CHECK(!add_user(path, "dora", "", {"d@praxis.example"}, kFast).ok());
  CHECK(UserDirectory::load(path)->users().size() == 2);
}

TEST_CASE("add_user and set_password keep the mode of an existing users.yaml") {
  TempDir t;
  const std::string path = (t.path / "users.yaml").string();
  REQUIRE(sealpost::write_file_durable(path, "users: []\n", 0604).ok());
  REQUIRE(add_user(path, "anna", "pw-anna", {"anna@praxis.example"}, kFast).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0604);

  REQUIRE(set_password(path, "anna", "new-pw", kFast).ok());
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0604);
  auto dir = UserDirectory::load(path);
  REQUIRE(dir.ok());
  CHECK(dir->verify("anna", "new-pw"));
  CHECK(!dir->verify("anna", "pw-anna"));
  CHECK(dir->may_send_as("anna", "anna@praxis.example"));  // addresses unchanged

  auto unknown = set_password(path, "bob", "x", kFast);
  REQUIRE(!unknown.ok());
  CHECK(unknown.error().what().find("no user 'bob'") != std::string::npos);
  CHECK(!set_password(path, "anna", "", kFast).ok());
  CHECK(!set_password((t.path / "missing.yaml").string(), "anna", "x", kFast).ok());
}
