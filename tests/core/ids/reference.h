// Independent reference arithmetic for the ids tests. The library uses the weight tables printed
// in the standards; these derive the weights from the underlying ISO 7064 schemes instead, so a
// typo in one table cannot hide behind the same typo in the test.
//  - GB 11643 is ISO 7064 MOD 11-2: weight of position i (1-based from the left, 18 positions)
//    is 2^(18-i) mod 11, and the check c makes sum + c == 1 (mod 11), with 10 written X.
//  - GB 32100: weight of position i is 3^(i-1) mod 31, and the check c makes sum + c == 0
//    (mod 31).
//  - GB 11714: the check c makes sum + c == 0 (mod 11), with 10 written X.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/clock.h"

namespace gongshu::ids::testing {

inline constexpr std::string_view kUsccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY";

inline int pow_mod(int base, int exp, int mod) {
  int r = 1;
  for (int i = 0; i < exp; ++i) r = r * base % mod;
  return r;
}

inline char ref_citizen_check(std::string_view body17) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body17[size_t(i)] - '0') * pow_mod(2, 17 - i, 11);
  for (int c = 0; c < 11; ++c) {
    if ((sum + c) % 11 == 1) return c == 10 ? 'X' : char('0' + c);
  }
  return '?';
}

inline char ref_credit_check(std::string_view body17) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    sum += int(kUsccCharset.find(body17[size_t(i)])) * pow_mod(3, i, 31);
  }
  for (int c = 0; c < 31; ++c) {
    if ((sum + c) % 31 == 0) return kUsccCharset[size_t(c)];
  }
  return '?';
}

inline char ref_org_check(std::string_view body8) {
  static constexpr int kWeights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 8; ++i) {
    const char ch = body8[size_t(i)];
    sum += (ch <= '9' ? ch - '0' : ch - 'A' + 10) * kWeights[i];
  }
  for (int c = 0; c < 11; ++c) {
    if ((sum + c) % 11 == 0) return c == 10 ? 'X' : char('0' + c);
  }
  return '?';
}

inline std::string with_citizen_check(std::string body17) {
  body17.push_back(ref_citizen_check(body17));
  return body17;
}

inline std::string with_credit_check(std::string body17) {
  body17.push_back(ref_credit_check(body17));
  return body17;
}

// Unix nanoseconds of a UTC date and hour.
inline int64_t utc_ns(CivilDate d, int hour = 0) {
  return (days_from_civil(d) * 86400 + int64_t(hour) * 3600) * 1'000'000'000;
}

}  // namespace gongshu::ids::testing
