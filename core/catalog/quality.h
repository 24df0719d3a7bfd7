// Quality rules on catalog fields: range, length, character class, prefixes,
// enumeration, pattern and reference to another dataset's record key, declared in the catalog
// entry (core/catalog/dataset.h, "Quality rules") and carried in v1::FieldQuality.
// check_field_quality() judges the declaration; FieldRules is its compiled form, built once per
// catalog load (DatasetSchema) and applied per record by validate_record() at the agent's intake
// and again at the daemon's ingest.
//
// Regular expressions: only through RE2 (core/catalog/pattern.h, the one module that includes
// it), never std::regex. A pattern rule is written by an agency and applied to untrusted record
// text on the daemon's per-record path. std::regex (libstdc++) matches by recursive backtracking:
// a pattern such as (a+)+$ takes exponential time, and long text overflows the stack — a catalog
// author, or a crafted record against a careless pattern, could stall or crash ingest. RE2
// matches in time linear in the text with bounded memory, and the pattern is compiled once, with
// a length and memory limit, when the catalog loads. The simpler rules — a length range, one
// character class and a set of prefixes — still cover most codes and numbers, and are checked in
// one pass over the text without allocation; a pattern is for what they cannot say.
//
// A reference rule (`references = "dataset-id"`) has two halves: check() judges the value's form
// (what a record key may be: 1..kMaxReferenceBytes of printable UTF-8), which is all the agent can
// judge since it sees no other dataset; the daemon's ingest writer then looks the key up in the
// referenced dataset, inside the ingest transaction (daemon/ingest_apply.cc), and refuses with
// reference_missing()'s reason. docs/quality.md says what a later invalidation of the referenced
// record does (nothing to the records referring to it).
//
// Thread-safety: FieldRules is immutable after construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog/pattern.h"
#include "core/catalog/record_view.h"
#include "core/util/error.h"
#include "gongshu/v1/catalog.pb.h"

namespace gongshu::catalog {

inline constexpr size_t kMaxAllowedValues = 1024;  // enumeration entries
inline constexpr size_t kMaxAllowedValueBytes = 256;
inline constexpr size_t kMaxPrefixes = 64;
inline constexpr size_t kMaxCharClassBytes = 1024;
inline constexpr size_t kExcerptChars = 32;        // characters of a value a reason may show
inline constexpr size_t kMaxReferenceBytes = 256;  // a record key's bound (validate.h)

struct CharRange {
  char32_t lo;
  char32_t hi;
};

// "0-9A-Z_" → ranges: single characters and a-b ranges (UTF-8, any script); a '-' first or
// last stands for itself. Errors say what is wrong with the class.
Result<std::vector<CharRange>> parse_char_class(std::string_view text);

// The problems with `spec`'s quality rules (rules for another field type, min above max, a bad
// character class, oversized lists), each as "field 'x': ..." appended to `problems`.
void check_field_quality(const v1::FieldSpec& spec, std::vector<std::string>& problems);

// A field's rules, compiled. Built from a spec that check_field_quality() passed.
class FieldRules {
 public:
  FieldRules() = default;
  explicit FieldRules(const v1::FieldSpec& spec);
  bool empty() const { return !any_; }
  // Nothing when `value` (already of the field's type) keeps every rule; otherwise the reason,
  // naming the field, the rule and the value's problem, with at most a bounded, printable
  // excerpt of the value — none for a personal field.
  std::optional<std::string> check(const FieldView& value) const;
  // The dataset whose record keys this field's values must be; empty when no reference rule.
  const std::string& references() const { return references_; }
  // The reason for a value whose referenced record does not exist (or is invalidated), in the
  // form of check()'s: the field, the rule, the referenced dataset, the value (withheld for a
  // personal field).
  std::string reference_missing(std::string_view value) const;

 private:
  std::optional<std::string> check_text(std::string_view text) const;
  std::optional<std::string> check_pattern(std::string_view text) const;  // text is UTF-8
  std::string shown(std::string_view text) const;
  std::string bound(int64_t v) const;

  bool any_ = false;
  std::string name_;
  v1::FieldType type_ = v1::FIELD_TYPE_TEXT;
  bool personal_ = false;
  std::optional<int64_t> min_int_, max_int_;
  std::optional<double> min_real_, max_real_;
  std::optional<uint32_t> min_length_, max_length_;
  std::string chars_text_;
  bool ascii_[128] = {};
  std::vector<CharRange> wide_;  // the class beyond ASCII, sorted
  bool has_chars_ = false;
  std::vector<std::string> prefixes_;
  std::vector<std::string> allowed_text_;  // sorted
  std::vector<int64_t> allowed_int_;       // sorted
  std::string references_;
  Pattern pattern_;
  std::string pattern_error_;  // a declared pattern that did not compile: every value fails
};

}  // namespace gongshu::catalog
