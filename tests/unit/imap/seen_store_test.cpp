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

TEST_CASE("seen store: a crash leaves nothing lost and nothing done twice") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sealpost-seen-crash-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto s = open_sqlite_seen(path.string());
    REQUIRE(s);
    auto& db = **s;
    REQUIRE(*db.claim("a", "INBOX", 7, 1));
    REQUIRE(db.finish("a", "INBOX", 7, 1, "plain"));
    REQUIRE(*db.claim("a", "INBOX", 7, 2));  // crash while fetching/decrypting
    REQUIRE(*db.claim("a", "INBOX", 7, 3));
    REQUIRE(db.mark_appending("a", "INBOX", 7, 3, "decrypted"));  // crash around APPEND
    REQUIRE(*db.claim("a", "INBOX", 7, 4));
    REQUIRE(db.mark_appending("a", "INBOX", 7, 4, "decrypted"));
    REQUIRE(db.mark_appended("a", "INBOX", 7, 4, "decrypted"));    // crash before the move
    CHECK_FALSE(db.mark_appending("a", "INBOX", 7, 9, "x").ok());  // never claimed
  }
  auto s = open_sqlite_seen(path.string());
  REQUIRE(s);
  auto& db = **s;
  CHECK(*db.release_all_claims() == 1);  // UID 2 is done again ...
  CHECK(*db.claim("a", "INBOX", 7, 2));
  CHECK_FALSE(*db.claim("a", "INBOX", 7, 3));  // ... 3 and 4 are not claimed afresh
  auto left = db.unfinished("a", "INBOX", 7);
  REQUIRE(left);
  REQUIRE(left->size() == 2);
  CHECK(left->at(0).uid == 3);
  CHECK_FALSE(left->at(0).appended);
  CHECK(left->at(0).outcome == "decrypted");
  CHECK(left->at(1).uid == 4);
  CHECK(left->at(1).appended);
  // No copy of 3 was found: forgotten, so it is processed again.
  REQUIRE(db.forget("a", "INBOX", 7, 3));
  CHECK(*db.claim("a", "INBOX", 7, 3));
  REQUIRE(db.forget("a", "INBOX", 7, 4));  // only appending rows can be forgotten
  CHECK_FALSE(*db.claim("a", "INBOX", 7, 4));
  REQUIRE(db.finish("a", "INBOX", 7, 4, "decrypted"));
  CHECK(db.unfinished("a", "INBOX", 7)->empty());
  CHECK(*db.last_uid("a", "INBOX", 7) == 4);
  std::filesystem::remove(path);
}

TEST_CASE("seen store: refused APPENDs are counted per message across forget and reopen") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sealpost-seen-refused-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto s = open_sqlite_seen(path.string());
    REQUIRE(s);
    auto& db = **s;
    REQUIRE(*db.claim("a", "INBOX", 7, 5));
    REQUIRE(db.mark_appending("a", "INBOX", 7, 5, "decrypted"));
    CHECK(*db.count_append_refusal("a", "INBOX", 7, 5) == 1);
    REQUIRE(db.forget("a", "INBOX", 7, 5));                    // done again from the start
    CHECK(*db.count_append_refusal("a", "INBOX", 7, 6) == 1);  // per message
    CHECK(*db.count_append_refusal("a", "INBOX", 8, 5) == 1);  // per UIDVALIDITY
  }
  auto s = open_sqlite_seen(path.string());
  REQUIRE(s);
  CHECK(*(*s)->count_append_refusal("a", "INBOX", 7, 5) == 2);
  std::filesystem::remove(path);
}

TEST_CASE("seen store: connection state and per-outcome counts for imap status") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sealpost-seen-status-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto s = open_sqlite_seen(path.string());
  REQUIRE(s);
  auto& db = **s;
  for (std::uint32_t uid : {1u, 2u, 3u}) REQUIRE(*db.claim("a", "INBOX", 7, uid));
  REQUIRE(db.finish("a", "INBOX", 7, 1, "decrypted"));
  REQUIRE(db.finish("a", "INBOX", 7, 2, "decrypted"));
  REQUIRE(db.finish("a", "INBOX", 7, 3, "plain"));
  REQUIRE(db.set_status("a", "INBOX", 7, ""));
  REQUIRE(db.set_connection("a", "INBOX", "backing-off", "connection refused"));
  auto first = db.status();
  REQUIRE(first);
  REQUIRE(first->size() == 1);
  const auto& f = first->front();
  CHECK(f.outcomes.at("decrypted") == 2);
  CHECK(f.outcomes.at("plain") == 1);
  CHECK(f.connection == "backing-off");
  CHECK(f.connection_error == "connection refused");
  CHECK(f.connection_since > 0);
  // The same state again keeps its `since`; a new state starts a new one.
  const auto since = f.connection_since;
  ::sleep(1);
  REQUIRE(db.set_connection("a", "INBOX", "backing-off", "timeout"));
  CHECK(db.status()->front().connection_since == since);
  CHECK(db.status()->front().connection_error == "timeout");
  REQUIRE(db.set_connection("a", "INBOX", "connected", ""));
  CHECK(db.status()->front().connection_since > since);
  std::filesystem::remove(path);
}
