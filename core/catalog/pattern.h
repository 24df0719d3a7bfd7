// The catalog's pattern rule: `pattern = "..."` on a text field, a regular expression the
// whole value must match. The one module that includes RE2 (cmake/OwnedHeaders.cmake); the rest
// of the tree sees only Pattern.
//
// Why RE2 and not std::regex: a pattern is written by an agency and applied, on the daemon's
// per-record ingest path, to untrusted record text. std::regex (libstdc++) matches by recursive
// backtracking: (a+)+$ against a long run of 'a' followed by '!' takes exponential time, and a
// long value overflows the stack, so one careless pattern, or one crafted record against it,
// could stall or crash ingest. RE2 compiles a pattern to an automaton and matches in time linear
// in the value's length with bounded memory, whatever the pattern; it refuses what it cannot
// match that way (backreferences, lookaround), which a catalog needs no more than it can afford.
//
// Compiled once, when a catalog entry is loaded (DatasetSchema), with limits: the pattern's
// length (kMaxPatternBytes) and the automaton's memory (kPatternMaxMem; a larger one does not
// compile, and is a catalog error). UTF-8 mode: `.` and classes match characters, so
// ^[\p{Han}]{2,10}$ means 2 to 10 Chinese characters. The match is anchored at both ends, with or
// without ^ and $.
//
// Thread-safety: a Pattern is immutable after compile() and may be shared and matched from any
// thread (RE2 is thread-safe for matching).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/util/error.h"

namespace re2 {
class RE2;
}

namespace gongshu::catalog {

inline constexpr size_t kMaxPatternBytes = 512;
inline constexpr int64_t kPatternMaxMem = 1 << 20;  // RE2's budget for one compiled pattern

class Pattern {
 public:
  // The pattern compiled, or why not: too long, not printable UTF-8, RE2's own message (a
  // syntax error, an unsupported construct, too large an automaton).
  static Result<Pattern> compile(std::string_view text);

  Pattern() = default;
  // Whether all of `value` (valid UTF-8, the caller checks) matches. False for an empty Pattern.
  bool full_match(std::string_view value) const;
  const std::string& text() const { return text_; }
  bool empty() const { return !re_; }

 private:
  std::string text_;
  std::shared_ptr<const re2::RE2> re_;  // shared: FieldRules are copied with their schema
};

}  // namespace gongshu::catalog
