#include "core/util/clock.h"

#include <cstdio>
#include <string>

namespace gongshu {

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

int64_t SystemClock::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t days_from_civil(CivilDate d) {
  std::chrono::year_month_day ymd{std::chrono::year(d.year), std::chrono::month(d.month),
                                  std::chrono::day(d.day)};
  return std::chrono::sys_days(ymd).time_since_epoch().count();
}

CivilDate civil_from_days(int64_t days) {
  std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days))};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day())};
}

bool is_valid_civil_date(int year, unsigned month, unsigned day) {
  return std::chrono::year_month_day{std::chrono::year(year), std::chrono::month(month),
                                     std::chrono::day(day)}
      .ok();
}

std::string format_utc(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  if (unix_ns < 0 && unix_ns % 1'000'000'000 != 0) --secs;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  CivilDate d = civil_from_days(days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", d.year, d.month, d.day,
                int(rem / 3600), int(rem / 60 % 60), int(rem % 60));
  return buf;
}

}  // namespace gongshu
