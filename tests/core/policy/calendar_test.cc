#include <catch2/catch.hpp>

#include <string>

#include "core/policy/calendar.h"
#include "tests/core/policy/policy_test_util.h"

namespace gongshu::policy {
namespace {

constexpr int64_t kHourMs = 3'600'000;

const WorkCalendar& shipped() {
  static const WorkCalendar cal = [] {
    auto c = WorkCalendar::load_dir(test::shipped_policy_dir());
    if (!c) FAIL(c.error().message());
    return *c;
  }();
  return cal;
}

// Local (UTC+8) time on a day, as ms since the epoch.
int64_t at(CivilDate d, int hour) { return WorkCalendar::local_day_start_ms(d) + hour * kHourMs; }

std::string error_of(const std::string& text) {
  auto c = WorkCalendar::parse("cal.toml", text);
  if (c) FAIL("the calendar parsed but should not have:\n" << text);
  return c.error().message();
}

TEST_CASE("the shipped calendar: 2026 holidays and adjusted working days", "[policy][calendar]") {
  const WorkCalendar& cal = shipped();
  CHECK(cal.covers(2026));
  CHECK(cal.covers(2027));
  CHECK_FALSE(cal.covers(2028));
  CHECK(cal.objection_working_days() == 5);
  // 元旦: Thursday 1 to Saturday 3 January off, Sunday 4 January worked (调休).
  CHECK_FALSE(cal.is_working_day({2026, 1, 1}));
  CHECK_FALSE(cal.is_working_day({2026, 1, 2}));
  CHECK(cal.is_holiday({2026, 1, 2}));
  CHECK(cal.is_working_day({2026, 1, 4}));
  CHECK(cal.is_adjusted_workday({2026, 1, 4}));
  CHECK(cal.is_working_day({2026, 1, 5}));
  // An ordinary weekend is off, an ordinary weekday worked.
  CHECK_FALSE(cal.is_working_day({2026, 1, 10}));
  CHECK_FALSE(cal.is_working_day({2026, 1, 11}));
  CHECK(cal.is_working_day({2026, 1, 12}));
  // 春节: Saturday 14 February worked, 15 to 23 off, Saturday 28 February worked.
  CHECK(cal.is_working_day({2026, 2, 14}));
  CHECK_FALSE(cal.is_working_day({2026, 2, 16}));
  CHECK_FALSE(cal.is_working_day({2026, 2, 23}));
  CHECK(cal.is_working_day({2026, 2, 24}));
  CHECK(cal.is_working_day({2026, 2, 28}));
  // 国庆: 1 to 7 October off, Sunday 20 September and Saturday 10 October worked.
  CHECK_FALSE(cal.is_working_day({2026, 10, 5}));
  CHECK(cal.is_working_day({2026, 9, 20}));
  CHECK(cal.is_working_day({2026, 10, 10}));
  // A year the file does not list counts weekdays only.
  CHECK(cal.is_working_day({2028, 1, 3}));
  CHECK_FALSE(cal.is_working_day({2028, 1, 1}));
}

TEST_CASE("local days are Asia/Shanghai days", "[policy][calendar]") {
  // 2026-01-04T16:30Z is 00:30 on 5 January in Shijiazhuang.
  const int64_t t = WorkCalendar::local_day_start_ms({2026, 1, 5}) + 30 * 60'000;
  CHECK(WorkCalendar::local_day(t) == CivilDate{2026, 1, 5});
  CHECK(WorkCalendar::local_day(t - 3'600'000) == CivilDate{2026, 1, 4});
  CHECK(WorkCalendar::local_day_start_ms({1970, 1, 1}) == -8 * kHourMs);
}

TEST_CASE("deadlines count working days after the day of receipt", "[policy][calendar]") {
  const WorkCalendar& cal = shipped();
  // Filed Monday 12 January 2026: 5 working days end with Monday 19 January.
  CHECK(cal.deadline_after(at({2026, 1, 12}, 10), 5) ==
        WorkCalendar::local_day_start_ms({2026, 1, 20}));
  // 0 working days: the end of the day of receipt.
  CHECK(cal.deadline_after(at({2026, 1, 12}, 23), 0) ==
        WorkCalendar::local_day_start_ms({2026, 1, 13}));
  // Filed Wednesday 31 December 2025: 1, 2 and 3 January are off, Sunday 4 January is worked,
  // so 2 working days end with Monday 5 January.
  CHECK(cal.deadline_after(at({2025, 12, 31}, 9), 2) ==
        WorkCalendar::local_day_start_ms({2026, 1, 6}));
  // Filed Friday 13 February 2026: Saturday 14 is worked (调休), then nine days off; 3 working
  // days are 14, 24 and 25 February.
  CHECK(cal.deadline_after(at({2026, 2, 13}, 15), 3) ==
        WorkCalendar::local_day_start_ms({2026, 2, 26}));
  // Filed on a holiday, 30 September 2026: working days 8, 9 and Saturday 10 October.
  CHECK(cal.deadline_after(at({2026, 9, 30}, 12), 3) ==
        WorkCalendar::local_day_start_ms({2026, 10, 11}));
  CHECK(cal.working_days_between(at({2026, 9, 30}, 12), at({2026, 10, 10}, 12)) == 3);
  CHECK(cal.working_days_between(at({2026, 1, 12}, 10), at({2026, 1, 12}, 20)) == 0);
}

TEST_CASE("a calendar file is checked line by line", "[policy][calendar]") {
  const std::string head = "[calendar]\ntimezone = \"Asia/Shanghai\"\nyears = [2026]\n";
  auto ok = WorkCalendar::parse("cal.toml", head +
                                                "[deadlines]\nobjection_working_days = 0\n"
                                                "[[holiday]]\nname = \"x\"\ndates = "
                                                "[\"2026-03-02\"]\n");
  REQUIRE(ok);
  CHECK(ok->objection_working_days() == 0);
  CHECK_FALSE(ok->is_working_day({2026, 3, 2}));

  CHECK_THAT(error_of("[calendar]\ntimezone = \"UTC\"\n"),
             Catch::Contains("cal.toml:2") && Catch::Contains("Asia/Shanghai"));
  CHECK_THAT(error_of(head + "[[holiday]]\nname = \"x\"\ndates = [\"2026-02-30\"]\n"),
             Catch::Contains("cal.toml:6") && Catch::Contains("'2026-02-30'"));
  // An adjusted working day is a weekend day; 2 March 2026 is a Monday.
  CHECK_THAT(error_of(head + "[[workday]]\nname = \"x\"\ndates = [\"2026-03-02\"]\n"),
             Catch::Contains("调休"));
  CHECK_THAT(error_of(head + "[[holiday]]\nname = \"x\"\ndates = [\"2025-03-03\"]\n"),
             Catch::Contains("does not list"));
  CHECK_THAT(error_of(head + "[deadlines]\nobjection_working_days = -1\n"),
             Catch::Contains("objection_working_days"));
  CHECK_THAT(error_of(head + "[deadlines]\nanswer_days = 3\n"), Catch::Contains("answer_days"));
  CHECK_THAT(error_of("years = 1\n"), Catch::Contains("no [calendar]"));
  // A year is an integer: not 2026.0, not a float past int64_t's range (which was cast first).
  for (const char* y : {"2026.0", "1e30", "nan"}) {
    CHECK_THAT(
        error_of(std::string("[calendar]\ntimezone = \"Asia/Shanghai\"\nyears = [") + y + "]\n"),
        Catch::Contains("cal.toml:3") && Catch::Contains("each is a year"));
  }
}

}  // namespace
}  // namespace gongshu::policy
