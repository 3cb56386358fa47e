#include "portal/pickup_receipt.h"

#include <catch2/catch.hpp>

using namespace sealpost::portal;

namespace {

PickupReceipt receipt() {
  return PickupReceipt{"portal@praxis.example",      "dr@praxis.example", "patient@example.org",
                       "abcdefghijklmnopqrstuvwxyz", "Praxis Dr. Müller", 1'700'000'000};
}

}  // namespace

TEST_CASE("a pickup receipt is a plain staff mail with recipient, id and time") {
  auto m = compose_pickup_receipt(receipt(), 1'700'000'100);
  REQUIRE(m);
  CHECK(m->find("To: <dr@praxis.example>\r\n") != std::string::npos);
  CHECK(m->find("Subject: Abgeholt / Picked up: patient@example.org\r\n") != std::string::npos);
  CHECK(m->find("Auto-Submitted: auto-generated\r\n") != std::string::npos);
  for (std::size_t i = 0; i < m->size(); ++i)
    if ((*m)[i] == '\n') CHECK((i > 0 && (*m)[i - 1] == '\r'));
}

TEST_CASE("nothing unsafe reaches the receipt's headers") {
  for (auto mutate : std::initializer_list<void (*)(PickupReceipt&)>{
           [](PickupReceipt& r) { r.recipient = "p@example.org\r\nBcc: evil@x.example"; },
           [](PickupReceipt& r) { r.to = "dr@praxis.example>, <evil@x.example"; },
           [](PickupReceipt& r) { r.from = "portal@praxis.example\nX: y"; },
           [](PickupReceipt& r) { r.practice_name = "Praxis\r\nBcc: evil@x.example"; },
       }) {
    PickupReceipt r = receipt();
    mutate(r);
    CHECK_FALSE(compose_pickup_receipt(r, 1'700'000'100));
  }
}
