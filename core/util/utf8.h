// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing beyond U+10FFFF.
// Pure functions over untrusted bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace gongshu {

// Decodes the sequence starting at s[i] (i < s.size()) into *cp and returns its length in
// bytes, or 0 when it is not a valid sequence.
inline size_t utf8_decode(std::string_view s, size_t i, char32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t n;
  char32_t c;
  if (b0 < 0xC2) {  // a continuation byte, or the lead byte of an overlong 2-byte form
    return 0;
  } else if (b0 < 0xE0) {
    n = 2;
    c = b0 & 0x1F;
  } else if (b0 < 0xF0) {
    n = 3;
    c = b0 & 0x0F;
  } else if (b0 < 0xF5) {
    n = 4;
    c = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3F);
  }
  if (n == 3 && c < 0x800) return 0;                      // overlong
  if (n == 4 && (c < 0x10000 || c > 0x10FFFF)) return 0;  // overlong or beyond Unicode
  if (c >= 0xD800 && c <= 0xDFFF) return 0;               // surrogate
  *cp = c;
  return n;
}

// Whether all of `s` is valid UTF-8. ASCII runs are checked eight bytes at a time.
inline bool is_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint64_t word;
    if (s.size() - i >= 8 &&
        (std::memcpy(&word, s.data() + i, 8), (word & 0x8080808080808080ULL) == 0)) {
      i += 8;
      continue;
    }
    char32_t cp;
    const size_t n = utf8_decode(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace gongshu
