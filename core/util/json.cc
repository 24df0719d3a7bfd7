#include "core/util/json.h"

#include <cstdio>

#include "core/util/check.h"
#include "core/util/printable.h"
#include "core/util/utf8.h"

namespace gongshu {

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  char buf[16];  // room for "\\u" and any value the format may see (-O3 checks it)
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const auto b = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (b < 0x20 || b == 0x7f) {
          std::snprintf(buf, sizeof buf, "\\u%04x", b);
          out += buf;
        } else if (b < 0x80) {
          out.push_back(c);
        } else {
          // JSON is UTF-8 (RFC 8259 §8.1): a byte that is not part of valid UTF-8 becomes
          // U+FFFD. Characters that act on a terminal (core/util/printable.h) are written as
          // \uNNNN, so the output is as safe to show as it is to parse.
          char32_t cp;
          const size_t n = utf8_decode(s, i, &cp);
          if (n == 0) {
            out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
          } else if (!is_printable(s.substr(i, n))) {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
            out += buf;
            i += n;
            continue;
          } else {
            out.append(s.substr(i, n));
            i += n;
            continue;
          }
        }
    }
    ++i;
  }
  out.push_back('"');
  return out;
}

std::string json_terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char buf[16];  // room for "\\u" and any value the format may see (-O3 checks it)
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    char32_t cp;
    const size_t n = b < 0x80 ? 1 : utf8_decode(text, i, &cp);
    if (b == 0x7f || (b >= 0x80 && n != 0 && !is_printable(text.substr(i, n)))) {
      std::snprintf(buf, sizeof buf, "\\u%04x", b == 0x7f ? 0x7fu : static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(text.substr(i, n ? n : 1));
    }
    i += n ? n : 1;
  }
  return out;
}

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  GONGSHU_CHECK(!first_.empty());
  first_.pop_back();
  out_.push_back('}');
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  GONGSHU_CHECK(!first_.empty());
  first_.pop_back();
  out_.push_back(']');
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
  separate();
  out_ += json_quote(k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::value(std::string_view v) {
  separate();
  out_ += json_quote(v);
  return *this;
}
JsonWriter& JsonWriter::value(int64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}
JsonWriter& JsonWriter::value(uint64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}
JsonWriter& JsonWriter::value(bool v) {
  separate();
  out_ += v ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

}  // namespace gongshu
