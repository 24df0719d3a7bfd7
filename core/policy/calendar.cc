#include "core/policy/calendar.h"

#include <algorithm>

#include "core/policy/toml_reader.h"
#include "core/util/fd.h"

namespace gongshu::policy {
namespace {

using detail::TomlReader;

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kOffsetMs = 8 * 3'600'000;  // Asia/Shanghai: UTC+08:00, no DST since 1991
constexpr size_t kMaxCalendarBytes = 1 << 20;
constexpr size_t kMaxDays = 1000;
// A deadline reaches this many days past the start at most (a year of holidays could not
// stretch 250 working days beyond it).
constexpr int64_t kMaxSpanDays = 4000;

// 0 = Monday .. 6 = Sunday; 1970-01-01 was a Thursday.
unsigned weekday(int64_t days) { return unsigned(((days % 7) + 7 + 3) % 7); }

std::optional<CivilDate> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto num = [&](size_t at, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (!y || !m || !d || !is_valid_civil_date(*y, unsigned(*m), unsigned(*d))) return std::nullopt;
  return CivilDate{*y, unsigned(*m), unsigned(*d)};
}

}  // namespace

Result<WorkCalendar> WorkCalendar::parse(const std::string& name, std::string_view text) {
  std::vector<std::string> errors;
  auto root = detail::parse_toml(text, name, &errors);
  WorkCalendar cal;
  if (root) {
    TomlReader rd(name, &errors);
    rd.check_keys(*root, {"calendar", "deadlines", "holiday", "workday"}, "a calendar file");
    if (const toml::table* c = (*root)["calendar"].as_table()) {
      rd.check_keys(*c, {"timezone", "years"}, "[calendar]");
      if (auto tz = rd.string(*c, "timezone"); tz && *tz != "Asia/Shanghai") {
        rd.error(*c->get("timezone"),
                 "timezone must be \"Asia/Shanghai\" (deadlines count China's working days)");
      }
      if (const toml::array* ys = (*c)["years"].as_array()) {
        for (const toml::node& y : *ys) {
          // is_integer() first: value<int64_t>() takes 2026.0, and casts 1e30 (undefined).
          auto v = y.is_integer() ? y.value<int64_t>() : std::nullopt;
          if (!v || *v < 2000 || *v > 2200) {
            rd.error(y, "years: each is a year such as 2026");
          } else {
            cal.years_.push_back(int(*v));
          }
        }
      } else if (c->get("years")) {
        rd.error(*c->get("years"), "years must be an array of years");
      }
    } else {
      rd.error(1, "no [calendar] table (timezone, years)");
    }
    if (const toml::table* d = (*root)["deadlines"].as_table()) {
      rd.check_keys(*d, {"objection_working_days"}, "[deadlines]");
      if (auto n = rd.integer(*d, "objection_working_days", 0, 250)) cal.objection_days_ = *n;
    }
    for (const char* kind : {"holiday", "workday"}) {
      const toml::node* n = root->get(kind);
      if (!n) continue;
      const toml::array* a = n->as_array();
      if (!a || !a->is_array_of_tables()) {
        rd.error(*n, std::string(kind) + " must be written [[" + kind + "]]");
        continue;
      }
      auto& set = std::string_view(kind) == "holiday" ? cal.holidays_ : cal.workdays_;
      for (const toml::node& tn : *a) {
        const toml::table& t = *tn.as_table();
        rd.check_keys(t, {"name", "dates"}, std::string("[[") + kind + "]]");
        (void)rd.string(t, "name", true);
        auto dates = rd.strings(t, "dates", true);
        if (!dates) continue;
        for (const auto& l : *dates) {
          auto d = parse_date(l.value);
          if (!d) {
            rd.error(l.line, std::string(kind) + " date '" + l.value +
                                 "' is not a date written YYYY-MM-DD");
            continue;
          }
          const int64_t day = days_from_civil(*d);
          if (std::find(cal.years_.begin(), cal.years_.end(), d->year) == cal.years_.end()) {
            rd.error(l.line, std::string(kind) + " date " + l.value +
                                 " is in a year [calendar] years does not list");
          }
          const bool weekend = weekday(day) >= 5;
          if (std::string_view(kind) == "workday" && !weekend) {
            rd.error(l.line, "workday " + l.value +
                                 " is a Monday to Friday: adjusted working days (调休) are "
                                 "weekend days");
          }
          set.insert(day);
          if (set.size() > kMaxDays) {
            rd.error(l.line, "more than " + std::to_string(kMaxDays) + " " + kind + " dates");
            break;
          }
        }
      }
    }
    for (int64_t day : cal.workdays_) {
      if (cal.holidays_.count(day)) {
        const CivilDate d = civil_from_days(day);
        rd.error(1, "date " + std::to_string(d.year) + "-" + std::to_string(d.month) + "-" +
                        std::to_string(d.day) + " is both a holiday and a workday");
      }
    }
  }
  if (!errors.empty()) {
    std::string m;
    for (const auto& e : errors) m.append(m.empty() ? "" : "\n").append(e);
    return fail(ErrorCode::kInvalidArgument, m);
  }
  std::sort(cal.years_.begin(), cal.years_.end());
  return cal;
}

Result<WorkCalendar> WorkCalendar::load_dir(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kCalendarFile);
  GONGSHU_TRY(Bytes text, with_context(read_file(path, kMaxCalendarBytes), path));
  return parse(path, as_chars(text));
}

bool WorkCalendar::is_holiday(CivilDate d) const { return holidays_.count(days_from_civil(d)); }

bool WorkCalendar::is_adjusted_workday(CivilDate d) const {
  return workdays_.count(days_from_civil(d));
}

bool WorkCalendar::covers(int year) const {
  return std::binary_search(years_.begin(), years_.end(), year);
}

bool WorkCalendar::is_working_day(CivilDate d) const {
  const int64_t day = days_from_civil(d);
  if (workdays_.count(day)) return true;
  if (holidays_.count(day)) return false;
  return weekday(day) < 5;
}

CivilDate WorkCalendar::local_day(int64_t unix_ms) {
  const int64_t local = unix_ms + kOffsetMs;
  int64_t days = local / kDayMs;
  if (local % kDayMs < 0) --days;
  return civil_from_days(days);
}

int64_t WorkCalendar::local_day_start_ms(CivilDate d) {
  return days_from_civil(d) * kDayMs - kOffsetMs;
}

int64_t WorkCalendar::deadline_after(int64_t from_ms, uint32_t working_days) const {
  int64_t day = days_from_civil(local_day(from_ms));
  const int64_t start = day;
  for (uint32_t left = working_days; left > 0 && day - start < kMaxSpanDays;) {
    ++day;
    if (is_working_day(civil_from_days(day))) --left;
  }
  return local_day_start_ms(civil_from_days(day + 1));
}

uint32_t WorkCalendar::working_days_between(int64_t from_ms, int64_t to_ms) const {
  const int64_t from = days_from_civil(local_day(from_ms));
  const int64_t to = days_from_civil(local_day(to_ms));
  uint32_t n = 0;
  for (int64_t day = from + 1; day <= to && day - from < kMaxSpanDays; ++day) {
    if (is_working_day(civil_from_days(day))) ++n;
  }
  return n;
}

}  // namespace gongshu::policy
