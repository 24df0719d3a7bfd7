#include "core/util/clock.h"

#include <catch2/catch.hpp>

namespace gongshu {
namespace {

TEST_CASE("civil dates round trip") {
  CHECK(days_from_civil({1970, 1, 1}) == 0);
  CHECK(days_from_civil({2000, 3, 1}) == 11017);
  for (int64_t d = -800000; d < 800000; d += 997) {
    CHECK(days_from_civil(civil_from_days(d)) == d);
  }
  CHECK(is_valid_civil_date(2024, 2, 29));
  CHECK(!is_valid_civil_date(2023, 2, 29));
  CHECK(!is_valid_civil_date(1900, 2, 29));
  CHECK(is_valid_civil_date(2000, 2, 29));
  CHECK(!is_valid_civil_date(2023, 13, 1));
  CHECK(!is_valid_civil_date(2023, 4, 31));
}

TEST_CASE("format_utc and the fake clock") {
  FakeClock clock(0);
  CHECK(format_utc(clock.now_ns()) == "1970-01-01T00:00:00Z");
  clock.set_ns(int64_t(1795748550) * 1'000'000'000);
  CHECK(format_utc(clock.now_ns()) == "2026-11-27T03:02:30Z");
  clock.advance(std::chrono::hours(24));
  CHECK(clock.now_s() == 1795748550 + 86400);
  CHECK(SystemClock::instance().now_s() > 1700000000);
}

}  // namespace
}  // namespace gongshu
