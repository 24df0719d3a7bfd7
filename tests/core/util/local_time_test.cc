// core/util/local_time.h: Beijing time by default, from the C library's zoneinfo. (The zone is
// settled once per process, so TZ set by a person is tested through the real binaries in
// tests/tools/ctl_zh_test.cc.)
#include "core/util/local_time.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "core/util/clock.h"

using namespace gongshu;

TEST_CASE("local time: Asia/Shanghai when TZ is unset, named; dates read at local midnight") {
  ::unsetenv("TZ");
  init_local_time();
  REQUIRE(local_zone_name() == "Asia/Shanghai");
  CHECK(format_local_time(0) == "1970-01-01 08:00:00 CST (Asia/Shanghai)");
  const int64_t ms = days_from_civil({2026, 12, 7}) * 86'400'000LL + 7 * 3'600'000LL + 4 * 60'000;
  CHECK(format_local_time(ms + 5'000) == "2026-12-07 15:04:05 CST (Asia/Shanghai)");
  CHECK(format_local_time(ms, false) == "2026-12-07 15:04:00");
  // 16:00 UTC is already the next day in Beijing.
  CHECK(format_local_date(days_from_civil({2026, 12, 7}) * 86'400'000LL + 16 * 3'600'000LL) ==
        "2026-12-08");
  auto d = parse_local_date("2027-12-07");
  REQUIRE(d);
  CHECK(*d == days_from_civil({2027, 12, 7}) * 86'400'000LL - 8 * 3'600'000LL);
  // Summer time as the zoneinfo has it: China kept it 1986-1991, which a fixed +8 would miss.
  CHECK(format_local_time(days_from_civil({1988, 7, 1}) * 86'400'000LL) ==
        "1988-07-01 09:00:00 CDT (Asia/Shanghai)");
  CHECK_FALSE(parse_local_date("2027-02-30"));
  CHECK_FALSE(parse_local_date("2027-1-2"));
  CHECK_FALSE(parse_local_date("2027-01-02x"));
}
