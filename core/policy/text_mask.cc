#include "core/policy/text_mask.h"

#include <array>
#include <cstdint>

namespace gongshu::policy {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// One decoded character: its code point (U+FFFD for an invalid byte) and its length in bytes.
struct Char {
  char32_t cp;
  size_t len;
  bool valid;
};

// Decodes the character at text[i] (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF). An invalid sequence yields one invalid byte.
Char decode(std::string_view text, size_t i) {
  const auto b0 = static_cast<uint8_t>(text[i]);
  if (b0 < 0x80) return {b0, 1, true};
  size_t len;
  char32_t cp;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {0xFFFD, 1, false};
  }
  if (text.size() - i < len) return {0xFFFD, 1, false};
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(text[i + k]);
    if ((b & 0xC0) != 0x80) return {0xFFFD, 1, false};
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0xFFFD, 1, false};
  return {cp, len, true};
}

void append_char(std::string& out, std::string_view text, size_t i, const Char& c) {
  if (c.valid) {
    out.append(text.substr(i, c.len));
  } else {
    out.append(kReplacement);
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

bool is_citizen_id_shape(std::string_view id) {
  if (id.size() == 15) return all_digits(id);
  if (id.size() != 18) return false;
  const char last = id[17];
  return all_digits(id.substr(0, 17)) && (is_digit(last) || last == 'X' || last == 'x');
}

bool valid_level(int level) { return level == 2 || level == 4 || level == 6; }

// ---- addresses ----

bool is_ideograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF);
}

enum UnitRank { kProvince = 1, kCity = 2, kCounty = 3 };

struct Suffix {
  std::u32string_view text;
  int rank;
};
// Longest first, so 自治区 wins over 区 at the same position.
constexpr std::array<Suffix, 12> kSuffixes = {{{U"特别行政区", kProvince},
                                               {U"自治区", kProvince},
                                               {U"自治州", kCity},
                                               {U"自治县", kCounty},
                                               {U"自治旗", kCounty},
                                               {U"地区", kCity},
                                               {U"省", kProvince},
                                               {U"市", kCity},
                                               {U"盟", kCity},
                                               {U"区", kCounty},
                                               {U"县", kCounty},
                                               {U"旗", kCounty}}};

// Two-character endings that look like a unit suffix but name a place below the county.
constexpr std::array<std::u32string_view, 13> kNotUnits = {
    U"小区", U"社区", U"园区", U"景区", U"校区", U"厂区", U"营区",
    U"片区", U"街区", U"超市", U"菜市", U"夜市", U"门市"};

constexpr size_t kMaxUnitName = 8;  // ideographs before the suffix

bool is_suffix_start(char32_t cp) {
  for (const Suffix& s : kSuffixes) {
    if (s.text[0] == cp) return true;
  }
  return false;
}

}  // namespace

size_t utf8_length(std::string_view text) {
  size_t n = 0;
  for (size_t i = 0; i < text.size(); i += decode(text, i).len) ++n;
  return n;
}

std::string utf8_sanitise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    Char c = decode(text, i);
    append_char(out, text, i, c);
    i += c.len;
  }
  return out;
}

std::string mask_characters(std::string_view text, size_t keep_first, size_t keep_last) {
  const size_t n = utf8_length(text);
  if (n == 0) return {};
  // At least one character is masked.
  while (keep_first + keep_last >= n) {
    if (keep_last > 0) {
      --keep_last;
    } else {
      --keep_first;
    }
  }
  std::string out;
  out.reserve(text.size());
  size_t index = 0;
  for (size_t i = 0; i < text.size(); ++index) {
    Char c = decode(text, i);
    if (index < keep_first || index >= n - keep_last) {
      append_char(out, text, i, c);
    } else {
      out.push_back('*');
    }
    i += c.len;
  }
  return out;
}

std::string generalise_citizen_id(std::string_view id, int level) {
  if (!valid_level(level) || !is_citizen_id_shape(id)) return std::string(kRedacted);
  std::string out(id.substr(0, size_t(level)));
  out.append(id.size() - size_t(level), '*');
  return out;
}

std::string generalise_credit_code(std::string_view code, int level) {
  if (!valid_level(level) || code.size() != 18) return std::string(kRedacted);
  for (char c : code) {
    if (!is_digit(c) && !(c >= 'A' && c <= 'Z')) return std::string(kRedacted);
  }
  const size_t keep = 2 + size_t(level);
  std::string out(code.substr(0, keep));
  out.append(code.size() - keep, '*');
  return out;
}

std::string citizen_id_year_only(std::string_view id) {
  if (!is_citizen_id_shape(id)) return std::string(kRedacted);
  // 18 characters: YYYY at 6..9; 15 characters: YY at 6..7.
  const size_t year_len = id.size() == 18 ? 4 : 2;
  std::string out(6, '*');
  out.append(id.substr(6, year_len));
  out.append(id.size() - 6 - year_len, '*');
  return out;
}

std::string text_date_year_only(std::string_view text) {
  if (text.size() < 8 || !all_digits(text.substr(0, 4))) return std::string(kRedacted);
  std::string_view rest = text.substr(4);
  const bool separated = rest[0] == '-' || rest[0] == '/' || rest[0] == '.' ||
                         rest.substr(0, 3) == "\xE5\xB9\xB4";  // 年
  const bool compact = text.size() == 8 && all_digits(text);
  if (!separated && !compact) return std::string(kRedacted);
  return std::string(text.substr(0, 4));
}

std::string generalise_address(std::string_view address, int level) {
  if (!valid_level(level)) return std::string(kRedacted);
  const int target = level / 2;  // 1 province, 2 city, 3 county
  // Decode once; addresses are short, and anything past 64 characters is never part of the
  // kept prefix.
  constexpr size_t kScan = 64;
  std::array<char32_t, kScan> cps{};
  std::array<size_t, kScan + 1> offsets{};
  size_t n = 0;
  for (size_t i = 0; i < address.size() && n < kScan;) {
    Char c = decode(address, i);
    cps[n] = c.valid ? c.cp : char32_t(0xFFFD);
    offsets[n] = i;
    i += c.len;
    offsets[++n] = i;
  }
  auto matches_at = [&](size_t pos, std::u32string_view s) {
    if (pos + s.size() > n) return false;
    for (size_t k = 0; k < s.size(); ++k) {
      if (cps[pos + k] != s[k]) return false;
    }
    return true;
  };

  size_t start = 0;     // where the next unit's name begins
  int rank = 0;         // rank of the last unit read
  size_t kept_end = 0;  // byte offset after the last unit kept
  while (start < n) {
    // Find the first suffix after 1..kMaxUnitName ideographs.
    size_t unit_end = 0;
    int unit_rank = 0;
    for (size_t pos = start + 1; pos < n && pos - start <= kMaxUnitName; ++pos) {
      if (!is_ideograph(cps[pos - 1])) break;
      if (!is_suffix_start(cps[pos])) continue;
      for (const Suffix& s : kSuffixes) {
        if (!matches_at(pos, s.text)) continue;
        bool excluded = false;
        for (std::u32string_view x : kNotUnits) {
          if (pos >= 1 && matches_at(pos - 1, x)) excluded = true;
        }
        if (excluded) break;
        unit_end = pos + s.text.size();
        unit_rank = s.rank;
        break;
      }
      if (unit_end != 0) break;
    }
    if (unit_end == 0) break;
    // A 市 after a city is a county-level city.
    if (unit_rank == kCity && rank == kCity) unit_rank = kCounty;
    if (unit_rank <= rank || unit_rank > target) break;
    rank = unit_rank;
    kept_end = offsets[unit_end];
    start = unit_end;
    if (rank == target) break;
  }
  if (kept_end == 0) return std::string(kRedacted);
  std::string out(address.substr(0, kept_end));
  out.append(kRedacted);
  return out;
}

}  // namespace gongshu::policy
