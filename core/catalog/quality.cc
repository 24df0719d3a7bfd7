#include "core/catalog/quality.h"

#include <algorithm>
#include <cmath>

#include "core/util/clock.h"
#include "core/util/printable.h"
#include "core/util/utf8.h"

namespace gongshu::catalog {
namespace {

bool is_ranged(v1::FieldType t) {
  return t == v1::FIELD_TYPE_INTEGER || t == v1::FIELD_TYPE_DATE || t == v1::FIELD_TYPE_TIMESTAMP;
}

std::string date_text(int64_t days) {
  const CivilDate d = civil_from_days(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string real_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string codepoint_text(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

// The first kExcerptChars characters of `s`, made printable, marked when cut.
std::string excerpt(std::string_view s) {
  size_t i = 0, n = 0;
  while (i < s.size() && n < kExcerptChars) {
    char32_t cp;
    const size_t len = utf8_decode(s, i, &cp);
    i += len == 0 ? 1 : len;
    ++n;
  }
  std::string out = "'" + printable(s.substr(0, i)) + "'";
  if (i < s.size()) out += " (first " + std::to_string(kExcerptChars) + " characters)";
  return out;
}

template <typename T>
std::string list_of(const std::vector<T>& values, auto&& show) {
  std::string out;
  const size_t shown = std::min<size_t>(values.size(), 8);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + show(values[i]);
  if (shown < values.size()) out += ", … (" + std::to_string(values.size()) + " in all)";
  return out;
}

}  // namespace

Result<std::vector<CharRange>> parse_char_class(std::string_view text) {
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, "the character class is empty");
  if (text.size() > kMaxCharClassBytes)
    return fail(ErrorCode::kInvalidArgument, "the character class is longer than " +
                                                 std::to_string(kMaxCharClassBytes) + " bytes");
  std::vector<char32_t> cps;
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    const size_t n = utf8_decode(text, i, &cp);
    if (n == 0) return fail(ErrorCode::kInvalidArgument, "the character class is not UTF-8");
    if (cp < 0x20 || cp == 0x7F)
      return fail(ErrorCode::kInvalidArgument, "the character class holds a control character");
    cps.push_back(cp);
    i += n;
  }
  std::vector<CharRange> out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i + 2 < cps.size() && cps[i + 1] == U'-') {
      if (cps[i] > cps[i + 2])
        return fail(ErrorCode::kInvalidArgument, "the range " + codepoint_text(cps[i]) + "-" +
                                                     codepoint_text(cps[i + 2]) +
                                                     " in the character class runs backwards");
      out.push_back({cps[i], cps[i + 2]});
      i += 2;
    } else {
      out.push_back({cps[i], cps[i]});
    }
  }
  return out;
}

void check_field_quality(const v1::FieldSpec& f, std::vector<std::string>& problems) {
  if (!f.has_quality()) return;
  const v1::FieldQuality& q = f.quality();
  const std::string who = "field '" + f.name() + "': ";
  const bool text = f.type() == v1::FIELD_TYPE_TEXT;
  auto only = [&](bool ok, const char* rule, const char* types) {
    if (!ok) problems.push_back(who + rule + " applies only to " + types + " fields");
  };
  only(!(q.has_min_int() || q.has_max_int()) || is_ranged(f.type()), "an integer/date range",
       "integer, date or timestamp");
  only(!(q.has_min_real() || q.has_max_real()) || f.type() == v1::FIELD_TYPE_REAL, "a real range",
       "real");
  only(!(q.has_min_length() || q.has_max_length()) || text, "min_length/max_length", "text");
  only(q.chars().empty() || text, "chars", "text");
  only(q.prefixes().empty() || text, "prefix", "text");
  only(q.allowed_text().empty() || text, "allowed text values", "text");
  only(q.allowed_int().empty() || f.type() == v1::FIELD_TYPE_INTEGER, "allowed integer values",
       "integer");
  only(q.references().empty() || text, "references", "text");
  only(q.pattern().empty() || text, "pattern", "text");
  if (!q.pattern().empty()) {
    auto p = Pattern::compile(q.pattern());
    if (!p) problems.push_back(who + "pattern: " + p.error().message());
  }
  if (!q.references().empty()) {
    const std::string& r = q.references();
    bool ok = r.size() >= 3 && r.size() <= 64;
    for (char c : r)
      ok = ok &&
           ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
    if (!ok)
      problems.push_back(who + "references '" + printable(r) +
                         "' is not a dataset id (3..64 of [a-z0-9_.-])");
  }
  if (q.has_min_int() && q.has_max_int() && q.min_int() > q.max_int())
    problems.push_back(who + "min is above max");
  if (q.has_min_real() && !std::isfinite(q.min_real()))
    problems.push_back(who + "min must be a finite number");
  if (q.has_max_real() && !std::isfinite(q.max_real()))
    problems.push_back(who + "max must be a finite number");
  if (q.has_min_real() && q.has_max_real() && q.min_real() > q.max_real())
    problems.push_back(who + "min is above max");
  if (q.has_min_length() && q.has_max_length() && q.min_length() > q.max_length())
    problems.push_back(who + "min_length is above max_length");
  if (q.has_max_length() && q.max_length() == 0)
    problems.push_back(who + "max_length must be at least 1");
  if (!q.chars().empty()) {
    auto c = parse_char_class(q.chars());
    if (!c) problems.push_back(who + "chars: " + c.error().message());
  }
  if (static_cast<size_t>(q.prefixes_size()) > kMaxPrefixes)
    problems.push_back(who + "more than " + std::to_string(kMaxPrefixes) + " prefixes");
  for (const auto& p : q.prefixes()) {
    if (p.empty() || p.size() > kMaxAllowedValueBytes || !is_printable(p)) {
      problems.push_back(who + "a prefix must be 1.." + std::to_string(kMaxAllowedValueBytes) +
                         " bytes of text without control characters");
      break;
    }
  }
  const size_t n_allowed =
      static_cast<size_t>(q.allowed_text_size()) + static_cast<size_t>(q.allowed_int_size());
  if (n_allowed > kMaxAllowedValues)
    problems.push_back(who + "more than " + std::to_string(kMaxAllowedValues) + " allowed values");
  for (const auto& a : q.allowed_text()) {
    if (a.size() > kMaxAllowedValueBytes || !is_printable(a)) {
      problems.push_back(who + "an allowed value must be at most " +
                         std::to_string(kMaxAllowedValueBytes) +
                         " bytes of text without control characters");
      break;
    }
  }
}

FieldRules::FieldRules(const v1::FieldSpec& f) : name_(f.name()), type_(f.type()) {
  personal_ = f.pii() != v1::PII_NONE;
  if (!f.has_quality()) return;
  const v1::FieldQuality& q = f.quality();
  if (q.has_min_int()) min_int_ = q.min_int();
  if (q.has_max_int()) max_int_ = q.max_int();
  if (q.has_min_real()) min_real_ = q.min_real();
  if (q.has_max_real()) max_real_ = q.max_real();
  if (q.has_min_length()) min_length_ = q.min_length();
  if (q.has_max_length()) max_length_ = q.max_length();
  if (!q.chars().empty()) {
    if (auto c = parse_char_class(q.chars())) {
      has_chars_ = true;
      chars_text_ = q.chars();
      for (const CharRange& r : *c) {
        for (char32_t x = r.lo; x <= r.hi && x < 128; ++x) ascii_[x] = true;
        if (r.hi >= 128) wide_.push_back({std::max<char32_t>(r.lo, 128), r.hi});
      }
      std::sort(wide_.begin(), wide_.end(),
                [](const CharRange& a, const CharRange& b) { return a.lo < b.lo; });
    }
  }
  prefixes_.assign(q.prefixes().begin(), q.prefixes().end());
  allowed_text_.assign(q.allowed_text().begin(), q.allowed_text().end());
  std::sort(allowed_text_.begin(), allowed_text_.end());
  allowed_int_.assign(q.allowed_int().begin(), q.allowed_int().end());
  std::sort(allowed_int_.begin(), allowed_int_.end());
  references_ = q.references();
  if (!q.pattern().empty()) {
    // check_field_quality() compiled it already; should it fail here all the same (a catalog
    // from an older, laxer daemon), the rule refuses every value rather than vanish.
    if (auto p = Pattern::compile(q.pattern()))
      pattern_ = std::move(*p);
    else
      pattern_error_ = "'" + printable(q.pattern()) + "' cannot be used: " + p.error().message();
  }
  any_ = min_int_ || max_int_ || min_real_ || max_real_ || min_length_ || max_length_ ||
         has_chars_ || !prefixes_.empty() || !allowed_text_.empty() || !allowed_int_.empty() ||
         !references_.empty() || !pattern_.empty() || !pattern_error_.empty();
}

std::string FieldRules::shown(std::string_view text) const {
  return personal_ ? std::string("(value withheld: personal field)") : excerpt(text);
}

std::string FieldRules::bound(int64_t v) const {
  if (type_ == v1::FIELD_TYPE_DATE) return date_text(v);
  if (type_ == v1::FIELD_TYPE_TIMESTAMP) {
    // Bounds come from the catalog, values are checked against them before being shown: a
    // value far outside the ns range is shown in ms.
    if (v > INT64_MAX / 1'000'000 || v < INT64_MIN / 1'000'000) return std::to_string(v) + " ms";
    return format_utc(v * 1'000'000);
  }
  return std::to_string(v);
}

std::optional<std::string> FieldRules::check(const FieldView& v) const {
  if (!any_) return std::nullopt;
  auto who = [&] { return "field '" + name_ + "': "; };
  switch (v.kind) {
    case v1::FieldValue::kInteger:
    case v1::FieldValue::kDateDays:
    case v1::FieldValue::kTimestampMs: {
      const int64_t x = v.integer;
      auto value = [&] {
        return personal_ ? std::string("(value withheld: personal field)") : bound(x);
      };
      if (min_int_ && x < *min_int_)
        return who() + "range rule: " + value() + " is below the minimum " + bound(*min_int_);
      if (max_int_ && x > *max_int_)
        return who() + "range rule: " + value() + " is above the maximum " + bound(*max_int_);
      if (!allowed_int_.empty() &&
          !std::binary_search(allowed_int_.begin(), allowed_int_.end(), x)) {
        return who() + "enumeration rule: " + value() + " is not one of the allowed values (" +
               list_of(allowed_int_, [](int64_t a) { return std::to_string(a); }) + ")";
      }
      return std::nullopt;
    }
    case v1::FieldValue::kReal: {
      const double x = v.real;
      auto value = [&] {
        return personal_ ? std::string("(value withheld: personal field)") : real_text(x);
      };
      // Written so that NaN fails both.
      if (min_real_ && !(x >= *min_real_))
        return who() + "range rule: " + value() + " is below the minimum " + real_text(*min_real_);
      if (max_real_ && !(x <= *max_real_))
        return who() + "range rule: " + value() + " is above the maximum " + real_text(*max_real_);
      return std::nullopt;
    }
    case v1::FieldValue::kText:
      return check_text(v.bytes);
    default:
      return std::nullopt;
  }
}

std::string FieldRules::reference_missing(std::string_view value) const {
  return "field '" + name_ + "': reference rule: " + shown(value) +
         " is not the key of a current record of dataset '" + references_ +
         "' (none, or invalidated)";
}

std::optional<std::string> FieldRules::check_text(std::string_view text) const {
  // A reference's form: what a record key may be (core/catalog/validate.h); its existence is
  // the daemon's to judge.
  if (!references_.empty() &&
      (text.empty() || text.size() > kMaxReferenceBytes || !is_printable(text))) {
    return "field '" + name_ + "': reference rule: " + shown(text) +
           " cannot be a record key of dataset '" + references_ + "' (1.." +
           std::to_string(kMaxReferenceBytes) + " bytes of text without control characters)";
  }
  // Enumeration first: a value from the list needs no further judging.
  if (!allowed_text_.empty()) {
    if (!std::binary_search(allowed_text_.begin(), allowed_text_.end(), text,
                            [](std::string_view a, std::string_view b) { return a < b; })) {
      return "field '" + name_ + "': enumeration rule: " + shown(text) +
             " is not one of the allowed values (" +
             list_of(allowed_text_, [](const std::string& a) { return "'" + printable(a) + "'"; }) +
             ")";
    }
  }
  if (!prefixes_.empty()) {
    bool ok = false;
    for (const std::string& p : prefixes_) ok = ok || text.starts_with(p);
    if (!ok) {
      return "field '" + name_ + "': prefix rule: " + shown(text) + " does not start with " +
             list_of(prefixes_, [](const std::string& a) { return "'" + printable(a) + "'"; });
    }
  }
  const bool has_pattern = !pattern_.empty() || !pattern_error_.empty();
  if (!min_length_ && !max_length_ && !has_chars_) {
    if (!has_pattern) return std::nullopt;
    if (!is_utf8(text)) return "field '" + name_ + "': not UTF-8 text";
    return check_pattern(text);
  }
  // One pass: count characters and test each against the class.
  size_t count = 0;
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    const auto b = static_cast<unsigned char>(text[i]);
    size_t n = 1;
    if (b < 0x80) {
      cp = b;
    } else {
      n = utf8_decode(text, i, &cp);
      if (n == 0) return "field '" + name_ + "': not UTF-8 text at byte " + std::to_string(i);
    }
    if (has_chars_) {
      bool in = cp < 128 ? ascii_[cp] : false;
      if (cp >= 128) {
        auto it = std::upper_bound(wide_.begin(), wide_.end(), cp,
                                   [](char32_t c, const CharRange& r) { return c < r.lo; });
        in = it != wide_.begin() && cp <= std::prev(it)->hi;
      }
      if (!in) {
        return "field '" + name_ + "': character rule: character " + std::to_string(count + 1) +
               (personal_
                    ? std::string()
                    : " '" + printable(text.substr(i, n)) + "' (" + codepoint_text(cp) + ")") +
               " is not in the allowed class '" + printable(chars_text_) + "'; value " +
               shown(text);
      }
    }
    ++count;
    i += n;
  }
  auto range = [&] {
    return std::to_string(min_length_.value_or(0)) + ".." +
           (max_length_ ? std::to_string(*max_length_) : std::string("any"));
  };
  if ((min_length_ && count < *min_length_) || (max_length_ && count > *max_length_)) {
    return "field '" + name_ + "': length rule: " + std::to_string(count) +
           " characters, the rule wants " + range() + "; value " + shown(text);
  }
  if (has_pattern) return check_pattern(text);
  return std::nullopt;
}

std::optional<std::string> FieldRules::check_pattern(std::string_view text) const {
  if (!pattern_error_.empty()) {
    return "field '" + name_ + "': pattern rule: the catalog's pattern " + pattern_error_ +
           "; value " + shown(text);
  }
  if (pattern_.full_match(text)) return std::nullopt;
  return "field '" + name_ + "': pattern rule: " + shown(text) + " does not match the pattern '" +
         pattern_.text() + "'";  // printable already: Pattern::compile() checked
}

}  // namespace gongshu::catalog
