#include "core/util/printable.h"

#include <algorithm>
#include <cstdio>

#include "core/util/utf8.h"

namespace gongshu {
namespace {

// Code points printable() writes as \uNNNN: they are valid UTF-8 but act on the display.
bool escaped_code_point(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

bool control_byte(unsigned char b) { return b < 0x20 || b == 0x7f; }

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char buf[16];  // room for "\\u" and any value the format may see (-O3 checks it)
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == '\\') {
      out += "\\\\";
      ++i;
    } else if (b == '\n') {
      out += "\\n";
      ++i;
    } else if (b == '\r') {
      out += "\\r";
      ++i;
    } else if (b == '\t') {
      out += "\\t";
      ++i;
    } else if (control_byte(b)) {
      std::snprintf(buf, sizeof buf, "\\x%02x", b);
      out += buf;
      ++i;
    } else if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
    } else {
      char32_t cp;
      const size_t n = utf8_decode(s, i, &cp);
      if (n == 0) {
        std::snprintf(buf, sizeof buf, "\\x%02x", b);
        out += buf;
        ++i;
      } else if (escaped_code_point(cp)) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
        out += buf;
        i += n;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
    }
  }
  return out;
}

std::string printable_lines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t start = 0; start <= s.size();) {
    const size_t end = std::min(s.find('\n', start), s.size());
    out += printable(s.substr(start, end - start));
    if (end == s.size()) break;
    out.push_back('\n');
    start = end + 1;
  }
  return out;
}

bool is_printable(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (control_byte(b)) return false;
      ++i;
      continue;
    }
    char32_t cp;
    const size_t n = utf8_decode(s, i, &cp);
    if (n == 0 || escaped_code_point(cp)) return false;
    i += n;
  }
  return true;
}

}  // namespace gongshu
