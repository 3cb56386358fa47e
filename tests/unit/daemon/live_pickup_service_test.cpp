// LivePickupService: deposits follow `portal:` across reloads.
#include "relay/live_pickup_service.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

using namespace sealpost;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/sealpost-livepickup-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

PickupRequest request() {
  PickupRequest r;
  r.queue_id = "Q1";
  r.recipient = "p@example.org";
  r.sender = "anna@praxis.example";
  r.auth_method = "code-to-sender";
  return r;
}

}  // namespace

TEST_CASE("live pickup service: refused without a portal, URL follows the config") {
  TempDir dir;
  auto store = pickup::PickupStore::open(dir.path / "pickup");
  REQUIRE(store.ok());
  LivePickupService live;
  auto none = live.deposit(request(), "Subject: x\r\n\r\nhi\r\n");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().smtp_code / 100 == 4);  // temporary: the mail waits

  live.configure(store->get(), std::string("https://old.example"));
  auto first = live.deposit(request(), "Subject: x\r\n\r\nhi\r\n");
  REQUIRE(first.ok());
  CHECK(first->url.rfind("https://old.example/p/", 0) == 0);

  live.configure(store->get(), std::string("https://new.example"));
  auto second = live.deposit(request(), "Subject: x\r\n\r\nhi\r\n");
  REQUIRE(second.ok());
  CHECK(second->url.rfind("https://new.example/p/", 0) == 0);

  // Portal removed: no new deposits, but an earlier one can still be withdrawn.
  live.configure(store->get(), std::nullopt);
  CHECK_FALSE(live.deposit(request(), "Subject: x\r\n\r\nhi\r\n").ok());
  CHECK(live.withdraw(first->pickup_id).ok());
}
