// RateLimiter on its own: bursts, refill, separate buckets, audited refusals, bounded table.
#include "daemon/rate_limiter.h"

#include <catch2/catch.hpp>

namespace gongshu::daemon {
namespace {

const policy::RateClass kClass{"public", 60, 3, ""};  // one a second, bursts of three

TEST_CASE("a bucket allows its burst, then one request per refill interval") {
  RateLimiter r;
  int64_t t = 1'000'000;
  for (int i = 0; i < 3; ++i) CHECK(r.take("k", kClass, t).allowed);
  auto refused = r.take("k", kClass, t);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_ms == 1000);
  CHECK(r.take("other", kClass, t).allowed);  // every caller has its own bucket
  CHECK_FALSE(r.take("k", kClass, t + 999).allowed);
  CHECK(r.take("k", kClass, t + 1000).allowed);
  // A clock that steps back refills nothing.
  CHECK_FALSE(r.take("k", kClass, t - 5000).allowed);
  // Refill stops at the burst.
  t += 3'600'000;
  for (int i = 0; i < 3; ++i) CHECK(r.take("k", kClass, t).allowed);
  CHECK_FALSE(r.take("k", kClass, t).allowed);
}

TEST_CASE("refusals are reported for audit once a minute, with the count in between") {
  RateLimiter r;
  const int64_t t = 5'000'000;
  for (int i = 0; i < 3; ++i) REQUIRE(r.take("k", kClass, t).allowed);
  auto first = r.take("k", kClass, t);
  CHECK(first.audit);
  CHECK(first.unaudited == 0);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(r.take("k", kClass, t + 1).audit);
  auto later = r.take("k", kClass, t + 60'000);
  CHECK(later.allowed);  // a minute refilled the bucket
  for (int i = 0; i < 2; ++i) REQUIRE(r.take("k", kClass, t + 60'000).allowed);
  auto next = r.take("k", kClass, t + 60'000);
  CHECK(next.audit);
  CHECK(next.unaudited == 5);
}

TEST_CASE("role denials are reported once a minute per caller and action, with the count") {
  RateLimiter r;
  const int64_t t = 5'000'000;
  auto first = r.deny("k", "add principals", t);
  CHECK_FALSE(first.allowed);
  CHECK(first.audit);
  CHECK(first.unaudited == 0);
  for (int i = 0; i < 7; ++i) CHECK_FALSE(r.deny("k", "add principals", t + 1 + i).audit);
  // Another action, another caller: each has its own minute.
  CHECK(r.deny("k", "revoke principals", t + 10).audit);
  CHECK(r.deny("other", "add principals", t + 10).audit);
  // A rate class of the same name as an action is a different bucket.
  CHECK(r.take("add principals", kClass, t).allowed);
  CHECK_FALSE(r.deny("k", "add principals", t + 59'999).audit);
  auto next = r.deny("k", "add principals", t + 60'000);
  CHECK(next.audit);
  CHECK(next.unaudited == 8);
  CHECK_FALSE(next.allowed);
}

TEST_CASE("denial buckets are kept for their minute, then forgotten at the bound") {
  RateLimiter r(4);
  for (int i = 0; i < 4; ++i) REQUIRE(r.deny("k" + std::to_string(i), "list", 1000).audit);
  REQUIRE(r.buckets() == 4);
  // At the bound, but every bucket's minute is running: a flood from k0 stays unaudited.
  CHECK_FALSE(r.deny("k0", "list", 1001).audit);
  CHECK(r.buckets() == 4);
  // A minute on, the audited ones go; k0 keeps its unaudited denial.
  CHECK(r.deny("k9", "list", 70'000).audit);
  CHECK(r.buckets() == 2);
  auto k0 = r.deny("k0", "list", 70'001);
  CHECK(k0.audit);
  CHECK(k0.unaudited == 1);
}

TEST_CASE("full buckets are forgotten when the table is at its bound") {
  RateLimiter r(4);
  for (int i = 0; i < 4; ++i) REQUIRE(r.take("k" + std::to_string(i), kClass, 0).allowed);
  CHECK(r.buckets() == 4);
  // Ten seconds later every bucket has refilled: the next new caller clears them.
  CHECK(r.take("new", kClass, 10'000).allowed);
  CHECK(r.buckets() == 1);
}

}  // namespace
}  // namespace gongshu::daemon
