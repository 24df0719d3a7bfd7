#include "core/util/local_time.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "core/util/clock.h"

namespace gongshu {

namespace {

constexpr const char* kDefaultZone = "Asia/Shanghai";

std::string& zone_name() {
  static std::string name;
  return name;
}

// Whether the zone named by a TZ value has its zoneinfo file (POSIX rule strings such as
// "CST-8" need none; "UTC" is built into the C library).
bool zone_available(const std::string& tz) {
  std::string name = tz;
  if (!name.empty() && name[0] == ':') name.erase(0, 1);
  if (name.empty() || name == "UTC" || name == "UTC0" || name == "GMT") return true;
  if (name[0] == '/') {
    struct stat st;
    return ::stat(name.c_str(), &st) == 0;
  }
  if (name.find('/') == std::string::npos) return true;  // a POSIX rule, or a bare name
  const char* dir = std::getenv("TZDIR");
  const std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + name;
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void settle() {
  const char* tz = std::getenv("TZ");
  std::string chosen = tz != nullptr ? tz : kDefaultZone;
  if (!zone_available(chosen)) {
    zone_name() = "UTC (" + chosen + ": no zoneinfo; install tzdata)";
    ::setenv("TZ", "UTC0", 1);
  } else {
    // ":Asia/Shanghai" (the C library's explicit form) is shown as the zone's name.
    zone_name() = chosen.size() > 1 && chosen[0] == ':' ? chosen.substr(1) : chosen;
    if (zone_name().empty() || zone_name() == ":") zone_name() = "UTC";
    if (tz == nullptr) ::setenv("TZ", kDefaultZone, 1);
  }
  ::tzset();
}

bool to_local(int64_t unix_ms, struct tm* out) {
  int64_t s = unix_ms / 1000;
  if (unix_ms < 0 && unix_ms % 1000 != 0) --s;
  const time_t t = static_cast<time_t>(s);
  return ::localtime_r(&t, out) != nullptr;
}

}  // namespace

void init_local_time() {
  static std::once_flag once;
  std::call_once(once, settle);
}

const std::string& local_zone_name() {
  init_local_time();
  return zone_name();
}

std::string format_local_time(int64_t unix_ms, bool with_zone) {
  init_local_time();
  struct tm tm {};
  if (!to_local(unix_ms, &tm)) return format_utc(unix_ms * 1'000'000);
  char buf[64];
  std::strftime(buf, sizeof buf, with_zone ? "%Y-%m-%d %H:%M:%S %Z" : "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (with_zone) out += " (" + zone_name() + ")";
  return out;
}

std::string format_local_date(int64_t unix_ms) {
  init_local_time();
  struct tm tm {};
  if (!to_local(unix_ms, &tm)) return format_utc(unix_ms * 1'000'000).substr(0, 10);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

Result<int64_t> local_time_to_ms(int year, unsigned month, unsigned day, int hour, int minute,
                                 int second) {
  init_local_time();
  if (!is_valid_civil_date(year, month, day) || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60) {
    return fail(ErrorCode::kInvalidArgument, "not a valid date and time");
  }
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = int(month) - 1;
  tm.tm_mday = int(day);
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;  // the zone's rules say whether summer time applies
  errno = 0;
  const time_t t = ::mktime(&tm);
  if (t == static_cast<time_t>(-1) && errno != 0) {
    return fail(ErrorCode::kInvalidArgument, "not representable in the local zone");
  }
  return static_cast<int64_t>(t) * 1000;
}

Result<int64_t> parse_local_date(std::string_view text) {
  init_local_time();
  int y = 0, m = 0, d = 0;
  char tail = 0;
  const std::string s(text.substr(0, 32));
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' ||
      std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
      !is_valid_civil_date(y, unsigned(m), unsigned(d))) {
    return fail(ErrorCode::kInvalidArgument, "'" + s + "' is not a date YYYY-MM-DD");
  }
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  tm.tm_isdst = -1;  // the zone's rules say whether summer time applies
  const time_t t = ::mktime(&tm);
  if (t == static_cast<time_t>(-1) && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31)) {
    return fail(ErrorCode::kInvalidArgument, "'" + s + "': not representable in the local zone");
  }
  return static_cast<int64_t>(t) * 1000;
}

}  // namespace gongshu
