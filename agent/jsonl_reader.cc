// JSON Lines reader (agent/record_reader.h). nlohmann::json stays inside this file. Lines are
// parsed with its SAX interface straight into the Record (no document tree: at 100,000 lines a
// second the tree's allocations would cost as much as the parse); its exceptions are caught here
// and become rejected rows.
//
// A row's rejection reason is stored with it in the spool (English whatever the agent's language,
// marked i18n-exempt); `gongshu-agent rejected list` shows its code's class in the reader's
// language beside it (core/util/refusal_text.h).

#include <nlohmann/json.hpp>

#include "agent/record_reader.h"
#include "agent/values.h"

namespace gongshu::agent {
namespace {

using nlohmann::json;

// "[json.exception.parse_error.101] parse error at ..." -> "parse error at ...".
std::string clean_what(const char* what) {
  std::string s(what);
  if (!s.empty() && s[0] == '[') {
    auto close = s.find("] ");
    if (close != std::string::npos) s.erase(0, close + 2);
  }
  return s;
}

enum class Key {
  kNone,
  kRecordKey,
  kSubjectId,
  kOp,
  kInvalidateReason,
  kObservedAt,
  kDataset,
  kFields
};

Key reserved(std::string_view k) {
  if (k == "record_key") return Key::kRecordKey;
  if (k == "subject_id") return Key::kSubjectId;
  if (k == "op") return Key::kOp;
  if (k == "invalidate_reason") return Key::kInvalidateReason;
  if (k == "observed_at") return Key::kObservedAt;
  if (k == "dataset") return Key::kDataset;
  if (k == "fields") return Key::kFields;
  return Key::kNone;
}

const char* expected_for(v1::FieldType type) {
  switch (type) {
    case v1::FIELD_TYPE_TEXT:
      return "a string";
    case v1::FIELD_TYPE_INTEGER:
      return "an integer";  // i18n-exempt
    case v1::FIELD_TYPE_REAL:
      return "a number";
    case v1::FIELD_TYPE_BOOLEAN:
      return "true or false";  // i18n-exempt
    case v1::FIELD_TYPE_BLOB:
      return "a base64 string";  // i18n-exempt
    case v1::FIELD_TYPE_DATE:
      return "a date string YYYY-MM-DD";  // i18n-exempt
    case v1::FIELD_TYPE_TIMESTAMP:
      return "an ISO 8601 string or integer milliseconds";  // i18n-exempt
    default:
      return "a value of a known type";  // i18n-exempt
  }
}

// Builds one Record from the SAX events of one line. The first problem stops the parse.
class RecordBuilder {
 public:
  using string_t = json::string_t;
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using binary_t = json::binary_t;

  RecordBuilder(const catalog::DatasetSchema& schema, v1::Record& record)
      : schema_(schema), r_(record) {
    r_.set_dataset(schema_.id());
  }

  bool failed() const { return failed_; }
  v1::RecordStatusCode code() const { return code_; }
  const std::string& field() const { return field_; }
  const std::string& reason() const { return reason_; }

  // After a successful parse: checks what only the whole object can tell.
  bool finish() {
    if (saw_fields_ && !first_flat_.empty()) {
      return fail(
          v1::RECORD_STATUS_SCHEMA, first_flat_,
          "unknown key '" + first_flat_ + "' (fields go inside \"fields\")");  // i18n-exempt
    }
    if (!dataset_.empty() && dataset_ != schema_.id()) {
      return fail(v1::RECORD_STATUS_UNKNOWN_DATASET, "dataset",
                  "record names dataset '" + dataset_ + "' but the input is for '" +  // i18n-exempt
                      schema_.id() +                                                  // i18n-exempt
                      "'");                                                           // i18n-exempt
    }
    return true;
  }

  // --- SAX events
  bool null() {
    clear_key();
    return true;  // an absent value
  }
  bool boolean(bool v) {
    if (!value_start("a boolean")) return !failed_;
    if (spec_->type() != v1::FIELD_TYPE_BOOLEAN) return mismatch("a boolean");
    value()->set_boolean(v);
    return true;
  }
  bool number_integer(number_integer_t v) { return integer(v, std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) {
    if (v > uint64_t(INT64_MAX)) {
      if (!value_start("an integer")) return !failed_;  // i18n-exempt
      return fail(v1::RECORD_STATUS_SCHEMA, name_,
                  "field '" + name_ + "': integer out of range");  // i18n-exempt
    }
    return integer(int64_t(v), std::to_string(v));
  }
  bool number_float(number_float_t v, const string_t&) {
    if (key_ == Key::kObservedAt) {
      return fail(v1::RECORD_STATUS_SCHEMA, "observed_at",
                  "'observed_at' must be a time string or integer milliseconds");  // i18n-exempt
    }
    if (!value_start("a real number")) return !failed_;                          // i18n-exempt
    if (spec_->type() != v1::FIELD_TYPE_REAL) return mismatch("a real number");  // i18n-exempt
    value()->set_real(v);
    return true;
  }
  bool string(string_t& s) {
    if (depth_ == 1 && key_ != Key::kNone) {
      Key k = key_;
      clear_key();
      switch (k) {
        case Key::kRecordKey:
          r_.set_record_key(std::move(s));
          return true;
        case Key::kSubjectId:
          r_.set_subject_id(std::move(s));
          return true;
        case Key::kInvalidateReason:
          r_.set_invalidate_reason(std::move(s));
          return true;
        case Key::kDataset:
          dataset_ = std::move(s);
          return true;
        case Key::kOp: {
          auto op = parse_op(s);
          if (!op) return fail(v1::RECORD_STATUS_SCHEMA, "op", op.error().message());
          r_.set_op(*op);
          return true;
        }
        case Key::kObservedAt: {
          auto ms = parse_timestamp_ms(s);
          if (!ms) return fail(v1::RECORD_STATUS_SCHEMA, "observed_at", ms.error().message());
          r_.set_observed_at_ms(*ms);
          return true;
        }
        case Key::kFields:
          return wrong_fields("a string");
        case Key::kNone:
          break;
      }
    }
    if (!value_start("a string")) return !failed_;
    if (spec_->type() == v1::FIELD_TYPE_TEXT) {
      value()->set_text(std::move(s));
      return true;
    }
    if (auto st = value_from_text(spec_->type(), s, *value()); !st) {
      return fail(v1::RECORD_STATUS_SCHEMA, name_,
                  "field '" + name_ + "': " + st.error().message());
    }
    return true;
  }
  bool binary(binary_t&) {
    return fail(v1::RECORD_STATUS_MALFORMED, "", "unexpected binary value");  // i18n-exempt
  }
  bool start_object(std::size_t) {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    if (depth_ == 1 && key_ == Key::kFields) {
      clear_key();
      saw_fields_ = true;
      depth_ = 2;
      return true;
    }
    return nested("an object");  // i18n-exempt
  }
  bool key(string_t& k) {
    if (depth_ == 1) {
      key_ = reserved(k);
      if (key_ != Key::kNone) return true;
      if (first_flat_.empty()) first_flat_ = k;
    }
    name_ = std::move(k);
    spec_ = schema_.field(name_);
    if (!spec_) {
      return fail(
          v1::RECORD_STATUS_SCHEMA, name_,
          "field '" + name_ + "' is not in the catalog entry of " + schema_.id());  // i18n-exempt
    }
    have_name_ = true;
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 0) {
      return fail(v1::RECORD_STATUS_MALFORMED, "",
                  "expected a JSON object, got an array");  // i18n-exempt
    }
    return nested("an array");  // i18n-exempt
  }
  bool end_array() { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    return fail(v1::RECORD_STATUS_MALFORMED, "",
                "bad JSON: " + clean_what(ex.what()));  // i18n-exempt
  }

 private:
  bool fail(v1::RecordStatusCode code, std::string field, std::string reason) {
    if (!failed_) {
      failed_ = true;
      code_ = code;
      field_ = std::move(field);
      reason_ = std::move(reason);
    }
    return false;
  }
  void clear_key() {
    key_ = Key::kNone;
    have_name_ = false;
  }
  // A scalar arrives: a top-level scalar is an error, a reserved key that wants a string
  // gets the wrong type, otherwise it is a field's value. False: not a field value (failed_
  // says whether that is an error).
  bool value_start(const char* what) {
    if (depth_ == 0) {
      return fail(v1::RECORD_STATUS_MALFORMED, "",
                  std::string("expected a JSON object, got ") + what);  // i18n-exempt
    }
    if (depth_ == 1 && key_ != Key::kNone) {
      Key k = key_;
      clear_key();
      if (k == Key::kFields) return wrong_fields(what);
      std::string name = k == Key::kRecordKey    ? "record_key"
                         : k == Key::kSubjectId  ? "subject_id"
                         : k == Key::kOp         ? "op"
                         : k == Key::kDataset    ? "dataset"
                         : k == Key::kObservedAt ? "observed_at"
                                                 : "invalidate_reason";
      return fail(v1::RECORD_STATUS_SCHEMA, name,
                  "'" + name + "' must be a string, got " + std::string(what));  // i18n-exempt
    }
    if (!have_name_)
      return fail(v1::RECORD_STATUS_MALFORMED, "", "value without a key");  // i18n-exempt
    have_name_ = false;
    field_value_ = nullptr;
    return true;
  }
  v1::FieldValue* value() {
    if (!field_value_) {
      v1::Field* f = r_.add_fields();
      f->set_name(name_);
      field_value_ = f->mutable_value();
    }
    return field_value_;
  }
  bool integer(int64_t v, const std::string& text) {
    if (depth_ == 1 && key_ == Key::kRecordKey) {
      clear_key();
      r_.set_record_key(text);
      return true;
    }
    if (depth_ == 1 && key_ == Key::kObservedAt) {
      clear_key();
      r_.set_observed_at_ms(v);
      return true;
    }
    if (!value_start("an integer")) return !failed_;  // i18n-exempt
    switch (spec_->type()) {
      case v1::FIELD_TYPE_INTEGER:
        value()->set_integer(v);
        return true;
      case v1::FIELD_TYPE_REAL:
        value()->set_real(double(v));
        return true;
      case v1::FIELD_TYPE_TIMESTAMP:
        value()->set_timestamp_ms(v);
        return true;
      default:
        return mismatch("an integer");  // i18n-exempt
    }
  }
  bool mismatch(const char* got) {
    return fail(v1::RECORD_STATUS_SCHEMA, name_,
                "field '" + name_ + "': expected " + expected_for(spec_->type()) + ", got " + got);
  }
  bool wrong_fields(const char* got) {
    return fail(v1::RECORD_STATUS_SCHEMA, "fields",
                std::string("'fields' must be an object, got ") + got);  // i18n-exempt
  }
  bool nested(const char* what) {
    if (depth_ == 1 && key_ != Key::kNone) {
      if (key_ == Key::kFields) return wrong_fields(what);
      return fail(v1::RECORD_STATUS_SCHEMA, "",
                  std::string("a reserved key holds ") + what);  // i18n-exempt
    }
    return fail(v1::RECORD_STATUS_SCHEMA, name_,
                "field '" + name_ + "': expected " +
                    (spec_ ? expected_for(spec_->type()) : "a value") + ", got " + what);
  }

  const catalog::DatasetSchema& schema_;
  v1::Record& r_;
  int depth_ = 0;
  Key key_ = Key::kNone;
  std::string name_;
  const v1::FieldSpec* spec_ = nullptr;
  bool have_name_ = false;
  v1::FieldValue* field_value_ = nullptr;
  bool saw_fields_ = false;
  std::string first_flat_;
  std::string dataset_;
  bool failed_ = false;
  v1::RecordStatusCode code_ = v1::RECORD_STATUS_ACCEPTED;
  std::string field_;
  std::string reason_;
};

class JsonlReader final : public RecordReader {
 public:
  JsonlReader(InputFile input, TextDecoder decoder, const catalog::DatasetSchema& schema,
              ReaderLimits limits)
      : input_(std::move(input)), decoder_(std::move(decoder)), schema_(schema), limits_(limits) {}

  const InputFile& input() const override { return input_; }

  Result<bool> next(ParsedRow& row) override {
    while (true) {
      GONGSHU_TRY(InputFile::Line kind, input_.next_line(line_, limits_.max_row_bytes));
      if (kind == InputFile::Line::kEnd) return false;
      if (input_.line_number() == 1 && line_.starts_with("\xEF\xBB\xBF")) line_.erase(0, 3);
      row.clear();
      row.line = input_.line_number();
      if (kind == InputFile::Line::kTooLong) {
        reject(
            row, v1::RECORD_STATUS_MALFORMED, "",
            "line longer than " + std::to_string(limits_.max_row_bytes) + " bytes");  // i18n-exempt
        return true;
      }
      if (line_.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
      // The whole line is decoded before JSON sees it: a GBK trailing byte may be a backslash.
      if (auto s = decoder_.to_utf8(line_); !s) {
        reject(row, v1::RECORD_STATUS_MALFORMED, "",
               s.error().message() +
                   (decoder_.charset() == Charset::kUtf8
                        ? " (the file is read as UTF-8; --encoding gb18030 reads "  // i18n-exempt
                          "GBK/GB18030 files)"                                      // i18n-exempt
                        : " (the file is read as GB18030; --encoding utf-8 reads "  // i18n-exempt
                          "UTF-8 files)"));                                         // i18n-exempt
        return true;
      }
      parse(row);
      return true;
    }
  }

 private:
  void reject(ParsedRow& row, v1::RecordStatusCode code, std::string field,
              const std::string& reason) {
    row.reject(code, std::move(field), reason, line_);
  }

  void parse(ParsedRow& row) {
    RecordBuilder builder(schema_, row.record);
    try {
      const char* b = line_.data();
      bool ok = json::sax_parse(b, b + line_.size(), &builder);
      if (ok && builder.finish()) {
        row.ok = true;
        return;
      }
    } catch (const std::exception& e) {  // bad_alloc and the like: this line only
      reject(row, v1::RECORD_STATUS_MALFORMED, "", clean_what(e.what()));
      return;
    }
    if (!builder.failed()) {
      reject(row, v1::RECORD_STATUS_MALFORMED, "", "bad JSON");  // i18n-exempt
      return;
    }
    reject(row, builder.code(), builder.field(), builder.reason());
  }

  InputFile input_;
  TextDecoder decoder_;
  const catalog::DatasetSchema& schema_;
  ReaderLimits limits_;
  std::string line_;
};

}  // namespace

Result<bool> RecordReader::skip_rows(uint64_t n) {
  ParsedRow row;
  for (uint64_t i = 0; i < n; ++i) {
    GONGSHU_TRY(bool more, next(row));
    if (!more) return false;
  }
  return true;
}

std::optional<InputFormat> format_from_name(std::string_view name) {
  auto ends = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends(".csv")) return InputFormat::kCsv;
  if (ends(".jsonl") || ends(".ndjson") || ends(".json")) return InputFormat::kJsonLines;
  return std::nullopt;
}

Result<std::unique_ptr<RecordReader>> make_jsonl_reader(InputFile input,
                                                        const catalog::DatasetSchema& schema,
                                                        ReaderLimits limits) {
  GONGSHU_TRY(TextDecoder decoder, TextDecoder::create(input.charset()));
  return std::unique_ptr<RecordReader>(
      new JsonlReader(std::move(input), std::move(decoder), schema, limits));
}

Result<std::unique_ptr<RecordReader>> make_reader(InputFormat format, InputFile input,
                                                  const catalog::DatasetSchema& schema,
                                                  ReaderLimits limits) {
  if (format == InputFormat::kCsv) return make_csv_reader(std::move(input), schema, limits);
  return make_jsonl_reader(std::move(input), schema, limits);
}

}  // namespace gongshu::agent
