// Normalisation of identifier text before it is checked, and the helpers the checkers share for
// describing characters in their reasons.
//
// Identifiers arrive from forms, spreadsheets and OCR as untrusted UTF-8. normalize_identifier()
//  - trims surrounding ASCII whitespace (space, \t, \n, \v, \f, \r) and ideographic spaces
//    (U+3000);
//  - refuses empty text and text longer than kMaxIdentifierBytes bytes after trimming (no
//    identifier is that long; the limit bounds the work done on hostile input);
//  - refuses text that is not valid UTF-8 (RFC 3629: no overlong forms, no surrogates);
//  - maps full-width digits U+FF10..U+FF19 and full-width Latin letters U+FF21..U+FF3A,
//    U+FF41..U+FF5A to ASCII, and ASCII lower case to upper case (x -> X).
// Every other character is kept as it is, so the checkers can report it by position.
// Normalising normalised text changes nothing. Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/util/error.h"

namespace gongshu::ids {

inline constexpr size_t kMaxIdentifierBytes = 64;

// The normalised text (valid UTF-8, at most kMaxIdentifierBytes bytes), or kInvalidArgument with
// the reason: "empty identifier", "too long: 70 bytes after trimming, at most 64",
// "invalid UTF-8 at byte 3" (1-based, counted in `raw`).
[[nodiscard]] Result<std::string> normalize_identifier(std::string_view raw);

// Number of characters (code points) in valid UTF-8 text.
size_t utf8_length(std::string_view valid_utf8);

// "bad character 'Q' at position 5" for the character starting at byte `offset` of valid UTF-8
// text; the position is 1-based and counted in characters. Characters other than printable
// ASCII are written as U+XXXX, so the reason is always printable ASCII.
std::string bad_character_reason(std::string_view valid_utf8, size_t offset);

// Offset of the first byte that is not ASCII, or text.size() when there is none.
size_t first_non_ascii(std::string_view text);

}  // namespace gongshu::ids
