// RecordReader: turns an input file into Records of one dataset, a row at a time, in constant
// memory. Two formats:
//
// JSON Lines — one object per line, either
//   {"record_key": "...", "subject_id": "...", "op": "upsert"|"invalidate",
//    "invalidate_reason": "...", "observed_at": "ISO 8601" | ms, "fields": {"name": value}}
// or the flat form, where every key other than those is a field. Values are converted by the
// catalog type of their field (agent/values.h); a string is accepted for every type.
//
// CSV (RFC 4180) — a header row naming catalog fields and the optional columns record_key,
// subject_id, op, observed_at, invalidate_reason; quoted cells may hold commas, doubled quotes
// and line breaks; LF or CRLF. An empty cell means the field is absent.
//
// Either format in UTF-8 or GB18030, as the InputFile says (agent/input_file.h: declared or
// auto). Each JSON line, and each CSV cell, is decoded to UTF-8 on its own, so a row that is not
// valid in that character set is rejected alone (MALFORMED, the byte and its value in the
// reason) and the reader goes on; a rejected row's text is kept decoded when it decodes.
//
// A bad row (unparseable, a mistyped value, too long) is a normal outcome: next() returns it
// with ok = false, a status code, the field and a reason starting "line N: ", and the reader
// goes on with the next row. An Error from next() means the input cannot be read any further.
// A reader for a CSV file whose header is unusable cannot be made (an Error naming line 1).
//
// The reader keeps a reference to the schema, which must outlive it. One thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/input_file.h"
#include "core/catalog/dataset.h"
#include "core/util/error.h"
#include "gongshu/v1/batch.pb.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::agent {

struct ReaderLimits {
  size_t max_row_bytes = 1 << 20;
  size_t max_columns = 512;
};

// How much of a bad row's text is kept with its rejection.
inline constexpr size_t kMaxRawKept = 4096;

struct ParsedRow {
  uint64_t line = 0;  // the row's first line in the input
  bool ok = false;
  v1::Record record;  // when ok: dataset, key, op, fields, ... (observed_at 0 when not given)
  v1::RecordStatusCode code = v1::RECORD_STATUS_ACCEPTED;
  std::string field;
  std::string reason;
  std::string raw;  // when not ok: the row's text, at most kMaxRawKept bytes

  // Empties the row for the next read (keeps line).
  void clear() {
    ok = false;
    record.Clear();
    code = v1::RECORD_STATUS_ACCEPTED;
    field.clear();
    reason.clear();
    raw.clear();
  }
  // Marks the row rejected: reason gets the "line N: " prefix, text is kept up to kMaxRawKept.
  void reject(v1::RecordStatusCode c, std::string f, const std::string& why,
              std::string_view text) {
    ok = false;
    code = c;
    field = std::move(f);
    reason = "line " + std::to_string(line) + ": " + why;
    raw.assign(text.substr(0, kMaxRawKept));
  }
};

class RecordReader {
 public:
  virtual ~RecordReader() = default;
  // Reads the next row into row (reset first). false: the input is exhausted.
  virtual Result<bool> next(ParsedRow& row) = 0;
  virtual const InputFile& input() const = 0;
  // Reads and discards n rows (resuming an interrupted file); false if the input ended first.
  Result<bool> skip_rows(uint64_t n);
};

enum class InputFormat { kJsonLines, kCsv };

// By file name: .csv is CSV, .jsonl / .json / .ndjson are JSON Lines; nullopt otherwise.
std::optional<InputFormat> format_from_name(std::string_view name);

Result<std::unique_ptr<RecordReader>> make_jsonl_reader(InputFile input,
                                                        const catalog::DatasetSchema& schema,
                                                        ReaderLimits limits = {});
Result<std::unique_ptr<RecordReader>> make_csv_reader(InputFile input,
                                                      const catalog::DatasetSchema& schema,
                                                      ReaderLimits limits = {});
Result<std::unique_ptr<RecordReader>> make_reader(InputFormat format, InputFile input,
                                                  const catalog::DatasetSchema& schema,
                                                  ReaderLimits limits = {});

}  // namespace gongshu::agent
