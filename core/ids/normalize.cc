#include "core/ids/normalize.h"

#include <cstdio>
#include <string>

#include "core/util/utf8.h"

namespace gongshu::ids {
namespace {

constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";  // U+3000 in UTF-8

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (true) {
    if (!s.empty() && is_ascii_space(s.front())) {
      s.remove_prefix(1);
    } else if (s.starts_with(kIdeographicSpace)) {
      s.remove_prefix(kIdeographicSpace.size());
    } else {
      break;
    }
  }
  while (true) {
    if (!s.empty() && is_ascii_space(s.back())) {
      s.remove_suffix(1);
    } else if (s.ends_with(kIdeographicSpace)) {
      s.remove_suffix(kIdeographicSpace.size());
    } else {
      break;
    }
  }
  return s;
}

}  // namespace

Result<std::string> normalize_identifier(std::string_view raw) {
  const std::string_view s = trim(raw);
  if (s.empty()) return fail(ErrorCode::kInvalidArgument, "empty identifier");
  if (s.size() > kMaxIdentifierBytes) {
    return fail(ErrorCode::kInvalidArgument, "too long: " + std::to_string(s.size()) +
                                                 " bytes after trimming, at most " +
                                                 std::to_string(kMaxIdentifierBytes));
  }
  // Most identifiers arrive already normal (ASCII digits and capitals): nothing to map.
  bool normal = true;
  for (char c : s) normal &= (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
  if (normal) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = utf8_decode(s, i, &cp);
    if (n == 0) {
      const size_t byte = static_cast<size_t>(s.data() - raw.data()) + i + 1;
      return fail(ErrorCode::kInvalidArgument, "invalid UTF-8 at byte " + std::to_string(byte));
    }
    if (cp >= U'\uFF10' && cp <= U'\uFF19') {  // full-width digits
      out.push_back(static_cast<char>('0' + (cp - U'\uFF10')));
    } else if (cp >= U'\uFF21' && cp <= U'\uFF3A') {  // full-width A-Z
      out.push_back(static_cast<char>('A' + (cp - U'\uFF21')));
    } else if (cp >= U'\uFF41' && cp <= U'\uFF5A') {  // full-width a-z
      out.push_back(static_cast<char>('A' + (cp - U'\uFF41')));
    } else if (cp >= 'a' && cp <= 'z') {
      out.push_back(static_cast<char>(cp - 'a' + 'A'));
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

size_t utf8_length(std::string_view valid_utf8) {
  size_t n = 0;
  for (char c : valid_utf8) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string bad_character_reason(std::string_view valid_utf8, size_t offset) {
  const size_t position = utf8_length(valid_utf8.substr(0, offset)) + 1;
  char32_t cp = 0;
  if (offset >= valid_utf8.size() || utf8_decode(valid_utf8, offset, &cp) == 0) {
    cp = 0xFFFD;  // not reached for valid text; keep the reason well-formed anyway
  }
  char what[16];
  if (cp >= 0x21 && cp <= 0x7E) {
    std::snprintf(what, sizeof what, "'%c'", static_cast<char>(cp));
  } else {
    std::snprintf(what, sizeof what, "U+%04X", static_cast<unsigned>(cp));
  }
  return std::string("bad character ") + what + " at position " + std::to_string(position);
}

size_t first_non_ascii(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) >= 0x80) return i;
  }
  return text.size();
}

}  // namespace gongshu::ids
