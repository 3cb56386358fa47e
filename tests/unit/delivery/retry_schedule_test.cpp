#include "relay/delivery/retry_schedule.h"

#include <catch2/catch.hpp>

using namespace sealpost;
using namespace sealpost::delivery;
using std::chrono::seconds;

TEST_CASE("retry delay follows the schedule and repeats its last entry") {
  QueueConfig q;
  q.retry_schedule = {seconds(60), seconds(300), seconds(900)};
  CHECK(retry_delay(q, 1) == seconds(60));
  CHECK(retry_delay(q, 2) == seconds(300));
  CHECK(retry_delay(q, 3) == seconds(900));
  CHECK(retry_delay(q, 4) == seconds(900));
  CHECK(retry_delay(q, 1000) == seconds(900));
  CHECK(retry_delay(q, 0) == seconds(60));  // defensive: treated as the first failure
  q.retry_schedule.clear();
  CHECK(retry_delay(q, 3) == seconds(300));
}

TEST_CASE("a message expires exactly at max_age") {
  QueueConfig q;
  q.max_age = seconds(5 * 24 * 3600);
  const std::int64_t arrival = 1'700'000'000;
  CHECK_FALSE(expired(q, arrival, arrival));
  CHECK_FALSE(expired(q, arrival, arrival + q.max_age.count() - 1));
  CHECK(expired(q, arrival, arrival + q.max_age.count()));
}
