// Text forms of field values, as the input files write them, and back:
//   text       any UTF-8 string
//   integer    decimal, optional sign ("-42")
//   real       decimal or exponent form ("3.5", "-1e3"); no NaN or infinity
//   boolean    true | false | 1 | 0 (CSV; JSON uses true/false)
//   blob       base64 (RFC 4648, padded)
//   date       YYYY-MM-DD (proleptic Gregorian); also as offices write them — 2024年1月2日,
//              2024/1/2, 2024.01.02, 2024-1-2, in full-width digits too (２０２４／１／２) — and
//              stored as the same day; a refusal quotes the text as it was written
//   timestamp  ISO 8601 with a zone ("2024-05-01T08:30:00Z", "...+08:00", fraction allowed) or
//              integer milliseconds since the epoch
// Pure functions; errors are messages for the person who wrote the input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/error.h"
#include "gongshu/v1/catalog.pb.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::agent {

// Converts text to a value of the given type; the error says what was expected.
Status value_from_text(v1::FieldType type, std::string_view text, v1::FieldValue& out);

Result<int64_t> parse_timestamp_ms(std::string_view text);
Result<int32_t> parse_date_days(std::string_view text);

// "2024-05-01", "2024-05-01T08:30:00.123Z"
std::string format_date_days(int32_t days);
std::string format_timestamp_ms(int64_t ms);

// Parses "upsert" / "invalidate".
Result<v1::RecordOp> parse_op(std::string_view text);

}  // namespace gongshu::agent
