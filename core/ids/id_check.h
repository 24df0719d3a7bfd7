// IdCheck: the verdict on one identifier from an untrusted record: a citizen ID number
// (GB 11643-1999) or a unified social credit code (GB 32100-2015). An invalid identifier is a
// normal outcome, so the checks return an IdCheck value, never an Error; `reason` says what is
// wrong precisely enough for a person to fix the record.
//
// check_identifier() is for input whose kind is not known (the `gongshuctl id check` command);
// callers that know the kind of a field call check_citizen_id() or check_credit_code() directly
// (core/ids/citizen_id.h, core/ids/credit_code.h). All three are pure functions of their
// arguments, safe to call from any thread, and keep no reference to the input.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/clock.h"

namespace gongshu::ids {

enum class IdKind {
  kUnknown,     // the input has the shape of neither kind (wrong length, not UTF-8, ...)
  kCitizenId,   // GB 11643-1999 citizen ID number, 18 characters (or 15, first generation)
  kCreditCode,  // GB 32100-2015 unified social credit code, 18 characters
};

// "unknown", "citizen_id", "credit_code": the names used in JSON output and logs.
std::string_view id_kind_name(IdKind kind);

enum class Sex { kFemale, kMale };

// "female", "male".
std::string_view sex_name(Sex sex);

// What a valid citizen ID number says about its holder.
struct CitizenIdDetails {
  std::string region_code;  // 6 digits, GB/T 2260 administrative division of registration
  CivilDate birth_date;
  Sex sex;                 // from the parity of the sequence code: odd is male
  bool converted_from_15;  // the input was a 15-digit first-generation number
};

struct IdCheck {
  IdKind kind = IdKind::kUnknown;
  bool valid = false;
  // When valid: the canonical 18-character form (ASCII, upper case; a 15-digit citizen ID is
  // converted). When invalid: the input after normalisation (see core/ids/normalize.h), or empty
  // when the input could not be normalised (invalid UTF-8, too long, empty). It may then hold any
  // valid UTF-8, so escape it before printing to a terminal.
  std::string normalized;
  // Empty iff valid. Printable ASCII only (input characters are quoted or written as U+XXXX), so
  // it is safe to show and log.
  std::string reason;
  // Findings that do not make the identifier invalid, e.g. a unified social credit code whose
  // embedded organisation code fails its own GB 11714 check. Printable ASCII only. Only set on
  // valid results.
  std::vector<std::string> warnings;
  // Set iff valid && kind == IdKind::kCitizenId.
  std::optional<CitizenIdDetails> citizen;
};

// Normalises `raw` and checks it as whichever kind its shape says:
//  - 15 characters: a first-generation citizen ID;
//  - 18 characters, 17 digits then a digit or X: a citizen ID; if that check fails but the text
//    is a valid unified social credit code (an all-digit code is possible), the credit code
//    result is returned instead, otherwise the citizen ID failure;
//  - other 18-character text: a unified social credit code;
//  - any other length: kind kUnknown, invalid.
// `clock` gives "today" for the birth-date check of citizen IDs.
[[nodiscard]] IdCheck check_identifier(std::string_view raw, const Clock& clock);

}  // namespace gongshu::ids
