#include "core/ids/citizen_id.h"

#include <array>
#include <string>

#include "core/ids/normalize.h"

namespace gongshu::ids {
namespace {

constexpr std::array<int, 17> kWeights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
constexpr std::string_view kCheckChars = "10X98765432";

// China Standard Time has had no daylight saving since 1991, so a fixed offset gives "today"
// where the IDs are issued; UTC would call a birth date of today "in the future" until 08:00.
constexpr int64_t kChinaUtcOffsetS = 8 * 3600;
constexpr int64_t kSecondsPerDay = 86400;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

int digits_value(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

int64_t today_in_china(const Clock& clock) {
  const int64_t s = clock.now_s() + kChinaUtcOffsetS;
  return s / kSecondsPerDay - (s % kSecondsPerDay < 0 ? 1 : 0);
}

std::string dashed_date(std::string_view yyyymmdd) {
  std::string d;
  d.reserve(10);
  d.append(yyyymmdd.substr(0, 4)).append("-");
  d.append(yyyymmdd.substr(4, 2)).append("-");
  d.append(yyyymmdd.substr(6, 2));
  return d;
}

// Checks the normalised text `t` and fills in `r`; returns the reason it is invalid, or an empty
// string when it is valid.
std::string check_normalized(std::string_view t, int64_t today, IdCheck& r) {
  const size_t length = utf8_length(t);
  if (length != 18 && length != 15) {
    return "wrong length " + std::to_string(length) +
           ", expected 18 (or 15 for a first-generation number)";
  }
  if (const size_t i = first_non_ascii(t); i != t.size()) return bad_character_reason(t, i);

  std::string converted;  // the 18-character form of a 15-digit number
  if (length == 15) {
    for (size_t i = 0; i < 15; ++i) {
      if (!is_digit(t[i])) return bad_character_reason(t, i);
    }
    converted.reserve(18);
    converted.append(t.substr(0, 6)).append("19").append(t.substr(6));
    converted.push_back(*citizen_id_check_char(converted));
  } else {
    for (size_t i = 0; i < 17; ++i) {
      if (!is_digit(t[i])) return bad_character_reason(t, i);
    }
    if (!is_digit(t[17]) && t[17] != 'X') return bad_character_reason(t, 17);
  }

  const std::string_view f = length == 15 ? std::string_view(converted) : t;
  if (!is_known_province_code(f.substr(0, 2))) {
    return "unknown province code " + std::string(f.substr(0, 2)) + " in region code " +
           std::string(f.substr(0, 6));
  }

  const std::string_view date = f.substr(6, 8);
  const CivilDate birth{digits_value(date.substr(0, 4)),
                        static_cast<unsigned>(digits_value(date.substr(4, 2))),
                        static_cast<unsigned>(digits_value(date.substr(6, 2)))};
  if (!is_valid_civil_date(birth.year, birth.month, birth.day)) {
    return "impossible date " + dashed_date(date);
  }
  if (birth.year < 1900) return "birth date " + dashed_date(date) + " is before 1900-01-01";
  if (days_from_civil(birth) > today)
    return "birth date " + dashed_date(date) + " is in the future";

  const char expected = *citizen_id_check_char(f.substr(0, 17));
  if (f[17] != expected) {
    return std::string("check character should be ") + expected + ", found " + f[17];
  }

  r.citizen = CitizenIdDetails{std::string(f.substr(0, 6)), birth,
                               (f[16] - '0') % 2 == 1 ? Sex::kMale : Sex::kFemale, length == 15};
  // Last: `t` may be a view of r.normalized.
  if (length == 15) r.normalized = std::move(converted);
  return {};
}

}  // namespace

bool is_known_province_code(std::string_view two_digits) {
  static constexpr std::array<bool, 100> kKnown = [] {
    std::array<bool, 100> known{};
    for (int c : {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43,
                  44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}) {
      known[c] = true;
    }
    return known;
  }();
  if (two_digits.size() != 2 || !all_digits(two_digits)) return false;
  return kKnown[digits_value(two_digits)];
}

std::optional<char> citizen_id_check_char(std::string_view body) {
  if (body.size() != 17 || !all_digits(body)) return std::nullopt;
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (body[i] - '0') * kWeights[i];
  return kCheckChars[sum % 11];
}

IdCheck check_citizen_id(std::string_view raw, const Clock& clock) {
  IdCheck r;
  r.kind = IdKind::kCitizenId;
  auto normalized = normalize_identifier(raw);
  if (!normalized) {
    r.reason = normalized.error().message();
    return r;
  }
  r.normalized = std::move(*normalized);
  r.reason = check_normalized(r.normalized, today_in_china(clock), r);
  r.valid = r.reason.empty();
  return r;
}

}  // namespace gongshu::ids
