#include "agent/values.h"

// Values as offices write them. A value's error is a rejected row's reason, stored in the spool:
// English whatever the agent's language (i18n-exempt); `gongshu-agent rejected list` shows its
// code's class in the reader's language beside it (core/util/refusal_text.h).

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/util/clock.h"
#include "core/util/encoding.h"
#include "core/util/utf8.h"

namespace gongshu::agent {
namespace {

tl::unexpected<Error> bad(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message));
}

// Short, printable rendering of input for error messages (never cut inside a UTF-8 character).
std::string quoted(std::string_view s) {
  std::string out = "'";
  size_t n = 0;
  for (char c : s) {
    if (++n > 40 && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  }
  out += "'";
  return out;
}

bool digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool parse_i64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e && b != e;
}

// Parses YYYY-MM-DD at the start of s into days; returns false if malformed or invalid.
bool date_prefix(std::string_view s, int64_t* days) {
  int y, m, d;
  if (s.size() < 10 || !digits(s, 0, 4, &y) || s[4] != '-' || !digits(s, 5, 2, &m) || s[7] != '-' ||
      !digits(s, 8, 2, &d)) {
    return false;
  }
  if (!is_valid_civil_date(y, unsigned(m), unsigned(d))) return false;
  *days = days_from_civil({y, unsigned(m), unsigned(d)});
  return true;
}

// Full-width forms as Chinese input methods type them (U+FF01..U+FF5E: "２０２４／１／２") and
// the ideographic space, as their ASCII counterparts; every other character as it is.
std::string narrow_full_width(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = utf8_decode(s, i, &cp);
    if (n == 3 && cp >= 0xFF01 && cp <= 0xFF5E) {
      out.push_back(static_cast<char>(cp - 0xFF01 + 0x21));
    } else if (n == 3 && cp == 0x3000) {
      out.push_back(' ');
    } else {
      out.append(s.substr(i, n == 0 ? 1 : n));
    }
    i += n == 0 ? 1 : n;
  }
  return out;
}

// Dates as offices write them, after narrow_full_width(): "2024年1月2日", "2024/1/2",
// "2024.01.02", "2024-1-2" (a four-digit year, then month and day of one or two digits).
bool office_date(std::string_view s, int64_t* days) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  int y, m = 0, d = 0;
  if (!digits(s, 0, 4, &y)) return false;
  size_t i = 4;
  auto number = [&](int* out) {
    size_t n = 0;
    while (i + n < s.size() && n < 3 && s[i + n] >= '0' && s[i + n] <= '9') ++n;
    if (n == 0 || n > 2) return false;
    digits(s, i, n, out);
    i += n;
    return true;
  };
  auto take = [&](std::string_view sep) {
    if (s.substr(i, sep.size()) != sep) return false;
    i += sep.size();
    return true;
  };
  if (take("年")) {
    if (!number(&m) || !take("月") || !number(&d) || !take("日")) return false;
  } else if (i < s.size() && (s[i] == '/' || s[i] == '.' || s[i] == '-')) {
    const std::string_view sep = s.substr(i, 1);
    ++i;
    if (!number(&m) || !take(sep) || !number(&d)) return false;
  } else {
    return false;
  }
  if (i != s.size() || !is_valid_civil_date(y, unsigned(m), unsigned(d))) return false;
  *days = days_from_civil({y, unsigned(m), unsigned(d)});
  return true;
}

}  // namespace

Result<int32_t> parse_date_days(std::string_view s) {
  int64_t days;
  if (s.size() == 10 && date_prefix(s, &days)) return static_cast<int32_t>(days);
  if (office_date(narrow_full_width(s), &days)) return static_cast<int32_t>(days);
  return bad(
      "expected a date (2024-01-02, 2024年1月2日, 2024/1/2 or 2024.01.02), got " +  // i18n-exempt
      quoted(s));
}

Result<int64_t> parse_timestamp_ms(std::string_view s) {
  int64_t ms;
  if (!s.empty() && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && s.size() <= 20 &&
      s.find_first_not_of("-0123456789") == std::string_view::npos) {
    if (parse_i64(s, &ms)) return ms;
  }
  auto err = [&] {
    return bad(
        "expected an ISO 8601 time with a zone (2024-05-01T08:30:00Z or +08:00) or "  // i18n-exempt
        "milliseconds, got " +
        quoted(s));
  };
  int64_t days;
  if (s.size() < 20 || !date_prefix(s, &days) || (s[10] != 'T' && s[10] != ' ')) return err();
  int hh, mm, ss;
  if (!digits(s, 11, 2, &hh) || s[13] != ':' || !digits(s, 14, 2, &mm) || s[16] != ':' ||
      !digits(s, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 60) {
    return err();
  }
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) return err();
  }
  if (pos >= s.size()) {
    return bad("timestamp " + quoted(s) + " has no time zone (add Z or +08:00)");  // i18n-exempt
  }
  int64_t offset_min = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!digits(s, pos + 1, 2, &oh) || pos + 6 != s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return err();
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return err();
  }
  if (pos != s.size()) return err();
  int64_t secs = days * 86400 + hh * 3600 + mm * 60 + std::min(ss, 59) - offset_min * 60;
  return secs * 1000 + frac_ms;
}

std::string format_date_days(int32_t days) {
  CivilDate d = civil_from_days(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string format_timestamp_ms(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t rem = ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  CivilDate d = civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", d.year, d.month, d.day,
                int(sod / 3600), int(sod / 60 % 60), int(sod % 60), int(rem));
  return buf;
}

Result<v1::RecordOp> parse_op(std::string_view text) {
  if (text.empty() || text == "upsert") return v1::RECORD_OP_UPSERT;
  if (text == "invalidate") return v1::RECORD_OP_INVALIDATE;
  return bad("op must be 'upsert' or 'invalidate', got " + quoted(text));  // i18n-exempt
}

Status value_from_text(v1::FieldType type, std::string_view s, v1::FieldValue& out) {
  switch (type) {
    case v1::FIELD_TYPE_TEXT:
      out.set_text(std::string(s));
      return {};
    case v1::FIELD_TYPE_INTEGER: {
      int64_t v;
      if (!parse_i64(s, &v)) return bad("expected an integer, got " + quoted(s));  // i18n-exempt
      out.set_integer(v);
      return {};
    }
    case v1::FIELD_TYPE_REAL: {
      double v = 0;
      const char* b = s.data();
      const char* e = s.data() + s.size();
      if (b != e && *b == '+') ++b;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || p != e || b == e || !std::isfinite(v)) {
        return bad("expected a number, got " + quoted(s));  // i18n-exempt
      }
      out.set_real(v);
      return {};
    }
    case v1::FIELD_TYPE_BOOLEAN:
      if (s == "true" || s == "1" || s == "TRUE" || s == "True") {
        out.set_boolean(true);
      } else if (s == "false" || s == "0" || s == "FALSE" || s == "False") {
        out.set_boolean(false);
      } else {
        return bad("expected true or false, got " + quoted(s));  // i18n-exempt
      }
      return {};
    case v1::FIELD_TYPE_BLOB: {
      auto b = base64_decode(s);
      if (!b) return bad("expected base64: " + b.error().message());  // i18n-exempt
      out.set_blob(std::string(as_chars(*b)));
      return {};
    }
    case v1::FIELD_TYPE_DATE: {
      GONGSHU_TRY(int32_t d, parse_date_days(s));
      out.set_date_days(d);
      return {};
    }
    case v1::FIELD_TYPE_TIMESTAMP: {
      GONGSHU_TRY(int64_t ms, parse_timestamp_ms(s));
      out.set_timestamp_ms(ms);
      return {};
    }
    default:
      return bad("the catalog gives this field an unknown type");  // i18n-exempt
  }
}

}  // namespace gongshu::agent
