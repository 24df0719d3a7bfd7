// Citizen ID numbers, GB 11643-1999 (公民身份号码).
//
// An 18-character number is: a 6-digit region code (GB/T 2260; its first two digits must be a
// province-level code: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, or 71/81/82/83 as used for
// Taiwan, Hong Kong and Macao residents and their residence permits), the birth date YYYYMMDD
// (a real date, not before 1900-01-01 and not after today in China Standard Time, UTC+8), a
// 3-digit sequence code whose parity gives the sex (odd male, even female) and a check character,
// ISO 7064 MOD 11-2 over the first 17 digits: "10X98765432"[sum(digit_i * weight_i) mod 11] with
// weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2.
// A 15-digit first-generation number (region, YYMMDD of a 19xx birth date, sequence) is accepted
// and converted to 18 characters; the result says so.
#pragma once

#include <optional>
#include <string_view>

#include "core/ids/id_check.h"
#include "core/util/clock.h"

namespace gongshu::ids {

// Normalises `raw` (core/ids/normalize.h) and checks it as a citizen ID number. The result has
// kind kCitizenId whatever the input. `clock` gives "today" for the birth-date check.
[[nodiscard]] IdCheck check_citizen_id(std::string_view raw, const Clock& clock);

// The check character ('0'..'9' or 'X') for the first 17 characters of an 18-character number,
// or nullopt when `body` is not exactly 17 ASCII digits.
std::optional<char> citizen_id_check_char(std::string_view body);

// Whether the two digits are a province-level code accepted in a region code (see above).
bool is_known_province_code(std::string_view two_digits);

}  // namespace gongshu::ids
