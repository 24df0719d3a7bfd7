// WorkCalendar: which days are working days in Shijiazhuang, for deadlines counted in working
// days (DESIGN §12; objections, R-11). It is read from calendar.toml in the policy directory
// (policies/policy/calendar.toml; the policy loader leaves that file to this reader), which
// operators edit when the State Council publishes the next year's holidays:
//
//   [calendar]  timezone = "Asia/Shanghai", years = [2026, 2027] (the years the file lists)
//   [deadlines] objection_working_days = 5
//   [[holiday]] name, dates = ["2026-01-01", ...]   official days off (法定节假日及调休放假)
//   [[workday]] name, dates = ["2026-01-04", ...]   adjusted working days (调休上班), weekends
//
// A day is a working day when it is an adjusted working day, or a Monday to Friday that is not a
// holiday. Days of years the file does not list count by the weekday alone. Asia/Shanghai has
// kept UTC+08:00 without daylight saving since 1991, so local days are UTC+8 days.
//
// Immutable after parse; pure; safe from any thread.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/clock.h"
#include "core/util/error.h"

namespace gongshu::policy {

inline constexpr std::string_view kCalendarFile = "calendar.toml";
inline constexpr uint32_t kDefaultObjectionWorkingDays = 5;

class WorkCalendar {
 public:
  // Parses the file's text; every problem is reported as "name:line: reason", one per line.
  static Result<WorkCalendar> parse(const std::string& name, std::string_view text);
  // Reads dir/calendar.toml (at most 1 MiB).
  static Result<WorkCalendar> load_dir(const std::string& dir);

  bool is_working_day(CivilDate d) const;
  bool is_holiday(CivilDate d) const;           // an official day off
  bool is_adjusted_workday(CivilDate d) const;  // 调休: a weekend day worked
  bool covers(int year) const;                  // the file lists the year's holidays

  // The local (UTC+8) day of an instant, and the instant a local day starts.
  static CivilDate local_day(int64_t unix_ms);
  static int64_t local_day_start_ms(CivilDate d);

  // The deadline of something received at from_ms with `working_days` to answer: the end (an
  // exclusive instant, ms) of the working_days-th working day after the local day of from_ms.
  // The day of receipt does not count; 0 working days is the end of that day.
  int64_t deadline_after(int64_t from_ms, uint32_t working_days) const;
  // Working days from the local day after from_ms up to and including the local day of to_ms.
  uint32_t working_days_between(int64_t from_ms, int64_t to_ms) const;

  uint32_t objection_working_days() const { return objection_days_; }
  const std::vector<int>& years() const { return years_; }

 private:
  WorkCalendar() = default;
  std::set<int64_t> holidays_;  // days since the epoch
  std::set<int64_t> workdays_;
  std::vector<int> years_;
  uint32_t objection_days_ = kDefaultObjectionWorkingDays;
};

}  // namespace gongshu::policy
