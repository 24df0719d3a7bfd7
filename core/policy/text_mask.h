// The text transformations behind the masking ops (core/policy/mask_op.h). All of them treat
// their input as untrusted: invalid UTF-8 never crashes them, and their output is always valid
// UTF-8 (a byte that is not part of a valid sequence counts as one character and, when it is
// kept, is written as U+FFFD). Masked characters become '*', one per character — so 张三丰
// with the first character kept is 张**, not 张 followed by one star per byte.
//
// When a value does not have the shape a transformation needs (a citizen ID that is not 15 or
// 18 characters, an address with no recognisable administrative unit), the result is the
// redaction marker "***": masking fails closed, never open.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gongshu::policy {

// What every redacted text value becomes. Fixed, so it does not reveal the value's length.
inline constexpr std::string_view kRedacted = "***";

// Number of characters (code points; an invalid byte counts as one).
size_t utf8_length(std::string_view text);

// Keeps the first `keep_first` and the last `keep_last` characters and replaces every other one
// with '*'. At least one character is always masked: when the text has no more characters than
// would be kept, the kept counts shrink (the last count first) until one is masked. Empty text
// stays empty.
std::string mask_characters(std::string_view text, size_t keep_first, size_t keep_last);

// Region generalisation of a citizen ID number (GB 11643: the first 6 digits are the GB/T 2260
// region of registration): keeps the first `level` characters (2 province, 4 prefecture city,
// 6 county / district) and masks the rest, so 130102199003071234 at level 6 is
// 130102************. Text that is not 15 digits or 17 digits and a digit or X is redacted.
std::string generalise_citizen_id(std::string_view id, int level);

// Region generalisation of a unified social credit code (GB 32100: characters 3-8 are the
// region code): keeps the registration authority and organisation type (2 characters) and the
// first `level` region digits, masks the rest. Text that is not 18 of [0-9A-Z] is redacted.
std::string generalise_credit_code(std::string_view code, int level);

// Region generalisation of a Chinese address: keeps the leading administrative units up to
// `level` (2 province, 4 prefecture city, 6 county / district) and replaces the rest with
// "***". 河北省石家庄市长安区中山东路39号 becomes 河北省石家庄市长安区*** at level 6 and
// 河北省石家庄市*** at level 4. The rule, documented in docs/policy.md:
//  - a unit is 1..8 CJK ideographs followed by a suffix: 省 自治区 特别行政区 (province);
//    市 地区 自治州 盟 (city); 区 县 旗 自治县 自治旗 (county); a 市 after a city is a
//    county-level city;
//  - units are read from the start while their level rises; anything else ends the scan;
//  - 小区 社区 园区 景区 校区 厂区 营区 片区 街区 and 超市 菜市 夜市 门市 are not units;
//  - a unit above `level` is never kept; if no unit is kept the result is "***".
// So the output is never more precise than the requested level, only sometimes coarser.
std::string generalise_address(std::string_view address, int level);

// The year of a citizen ID number's birth date, every other character masked:
// 130102199003071234 -> ******1990********; a 15-digit number keeps its two year digits.
// Anything else is redacted.
std::string citizen_id_year_only(std::string_view id);

// "1990-03-07", "1990/3/7", "1990年3月7日", "19900307" -> "1990"; anything else is redacted.
std::string text_date_year_only(std::string_view text);

// Returns text with every invalid UTF-8 byte replaced by U+FFFD.
std::string utf8_sanitise(std::string_view text);

}  // namespace gongshu::policy
