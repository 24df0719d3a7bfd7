// Unified social credit codes, GB 32100-2015 (统一社会信用代码).
//
// 18 characters from the 31-character set 0123456789ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z):
// position 1 the registration authority, 2 the organisation type, 3-8 the region code (digits),
// 9-17 the organisation code (GB 11714), 18 the check character: with the value of a character
// being its index in the set, check = 31 - (sum(value_i * weight_i) mod 31), 31 -> 0, weights
// 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28.
// Positions 1 and 2 are not checked against a list of authorities and types: the list is
// amended from time to time, and a stale list would reject real organisations.
// The embedded organisation code carries its own GB 11714 check character (position 17); codes
// issued without a real organisation code do not always satisfy it, so a failure there is a
// warning, not a reason to reject.
#pragma once

#include <optional>
#include <string_view>

#include "core/ids/id_check.h"

namespace gongshu::ids {

// Normalises `raw` (core/ids/normalize.h) and checks it as a unified social credit code. The
// result has kind kCreditCode whatever the input.
[[nodiscard]] IdCheck check_credit_code(std::string_view raw);

// The check character for the first 17 characters of a code, or nullopt when `body` is not 17
// characters of the GB 32100 character set.
std::optional<char> credit_code_check_char(std::string_view body);

// The GB 11714 check character ('0'..'9' or 'X') of an 8-character organisation code body
// (digits and upper-case letters, A = 10 .. Z = 35; weights 3 7 9 10 5 8 4 2;
// check = 11 - (sum mod 11), 10 -> X, 11 -> 0), or nullopt when `body` is not such a body.
std::optional<char> organization_code_check_char(std::string_view body);

}  // namespace gongshu::ids
