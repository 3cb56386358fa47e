#include "imap/seen_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

using namespace sealpost::imap;

TEST_CASE("seen store: claim once, per UIDVALIDITY, across reopen") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sealpost-seen-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto s = open_sqlite_seen(path.string());
    REQUIRE(s);
    CHECK(*(*s)->claim("acct", "INBOX", 7, 3));
    CHECK_FALSE(*(*s)->claim("acct", "INBOX", 7, 3));
    CHECK(*(*s)->claim("acct", "INBOX", 8, 3));  // new UIDVALIDITY: a different message
    CHECK(*(*s)->last_uid("acct", "INBOX", 7) == 3);
    CHECK(*(*s)->last_uid("acct", "Other", 7) == 0);
    REQUIRE((*s)->finish("acct", "INBOX", 7, 3, "decrypted"));
    REQUIRE((*s)->claim("acct", "INBOX", 7, 4));
    REQUIRE((*s)->release("acct", "INBOX", 7, 4));  // nothing happened: may retry
    CHECK(*(*s)->last_uid("acct", "INBOX", 7) == 3);
    REQUIRE((*s)->set_status("acct", "INBOX", 7, ""));
    REQUIRE((*s)->set_status("acct", "INBOX", 0, "connection refused"));
  }
  auto s = open_sqlite_seen(path.string());
  REQUIRE(s);
  CHECK_FALSE(*(*s)->claim("acct", "INBOX", 7, 3));
  REQUIRE((*s)->release("acct", "INBOX", 7, 3));
  CHECK_FALSE(*(*s)->claim("acct", "INBOX", 7, 3));  // a finished claim is never released
  auto st = (*s)->status();
  REQUIRE(st);
  REQUIRE(st->size() == 1);
  CHECK(st->front().uidvalidity == 7);  // an error without SELECT keeps the last one
  CHECK(st->front().last_uid == 3);
  CHECK(st->front().last_error == "connection refused");
  std::filesystem::remove(path);
}

TEST_CASE("account key names user, host and port") {
  CHECK(account_key("praxis", "imap.example", 993) == "praxis@imap.example:993");
}
