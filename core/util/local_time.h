// Times for people: civil time in the zone the people using gongshu live in, with the zone
// named — "2026-12-07 15:04:05 CST (Asia/Shanghai)". JSON, audit entries and receipts stay UTC
// ISO 8601 (format_utc in core/util/clock.h); only what a person reads goes through here.
//
// The zone: TZ when it is set (any form the C library takes: "Asia/Shanghai", "UTC",
// ":/etc/localtime"), else Asia/Shanghai — Beijing time, whatever zone the server's clock is
// kept in. The rules come from the C library's zoneinfo (the tzdata package), never a fixed
// offset. If the zone's file is missing, times are shown in UTC and the zone name says why.
//
// The first call settles the zone (it sets TZ in the environment when it was unset, then
// tzset()): make it from main() before starting threads — i18n::init() does. Afterwards every
// function is safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/error.h"

namespace gongshu {

// Settles the zone (see above). Idempotent.
void init_local_time();

// "Asia/Shanghai", the TZ value, or "UTC (Asia/Foo: no zoneinfo; install tzdata)".
const std::string& local_zone_name();

// "2026-12-07 15:04:05 CST (Asia/Shanghai)"; with_zone = false leaves out " CST (...)".
std::string format_local_time(int64_t unix_ms, bool with_zone = true);
// "2026-12-07" in the local zone.
std::string format_local_date(int64_t unix_ms);

// A date as a person types it, "2027-12-07", read as midnight starting that day in the local
// zone; milliseconds since the epoch. Error: not a valid YYYY-MM-DD date.
Result<int64_t> parse_local_date(std::string_view text);

// A civil time in the local zone (hour 0..23, minute, second 0..60), as a person typed it
// without an offset; milliseconds since the epoch. Error: not a valid date or time, or not
// representable.
Result<int64_t> local_time_to_ms(int year, unsigned month, unsigned day, int hour, int minute,
                                 int second);

}  // namespace gongshu
