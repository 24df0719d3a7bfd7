// CSV reader (agent/record_reader.h): a small streaming RFC 4180 parser.
//
// A row's rejection reason is stored with it in the spool (English whatever the agent's language,
// marked i18n-exempt); `gongshu-agent rejected list` shows its code's class in the reader's
// language beside it (core/util/refusal_text.h). Errors of the whole file are translated.

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "agent/record_reader.h"
#include "agent/values.h"
#include "core/util/charset.h"
#include "core/util/i18n.h"

namespace gongshu::agent {
namespace {

enum class Column { kField, kRecordKey, kSubjectId, kOp, kObservedAt, kInvalidateReason };

struct ColumnSpec {
  Column kind;
  std::string name;
  const v1::FieldSpec* spec = nullptr;
};

// One physical row: its cells, or why it is unusable.
struct RawRow {
  std::vector<std::string> cells;
  std::string raw;    // the row's text, at most kMaxRawKept bytes
  std::string error;  // empty if the row parsed
  uint64_t line = 0;
  bool blank = false;  // an empty line
};

// The bytes that end a run of ordinary bytes in an unquoted cell (',' '\n' '\r' and '"', which
// is an error there) and in a quoted one ('"', and '\n' for the line count and the kept text).
constexpr std::array<bool, 256> stop_table(std::string_view stops) {
  std::array<bool, 256> t{};
  for (char c : stops) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kStopUnquoted = stop_table(",\n\r\"");
constexpr std::array<bool, 256> kStopQuoted = stop_table("\"\n");

class CsvReader final : public RecordReader {
 public:
  CsvReader(InputFile input, TextDecoder decoder, const catalog::DatasetSchema& schema,
            ReaderLimits limits)
      : input_(std::move(input)), decoder_(std::move(decoder)), schema_(schema), limits_(limits) {}

  const InputFile& input() const override { return input_; }

  Status read_header() {
    RawRow row;
    while (true) {
      GONGSHU_TRY(bool more, read_row(row));
      if (!more) return {};  // an empty file: no rows
      if (!row.blank) break;
    }
    auto bad = [&](const std::string& why) {
      return fail(ErrorCode::kInvalidArgument,
                  trf("{}: line {}: header: {}", input_.name(), row.line, why));
    };
    if (!row.error.empty()) return bad(row.error);
    if (!row.cells.empty() && row.cells[0].starts_with("\xEF\xBB\xBF")) row.cells[0].erase(0, 3);
    std::vector<std::string> seen;
    for (size_t i = 0; i < row.cells.size(); ++i) {
      std::string& name = row.cells[i];
      if (auto s = decoder_.to_utf8(name); !s) {
        return bad("column " + std::to_string(i + 1) + ": " + s.error().message() +
                   encoding_hint());
      }
      ColumnSpec c;
      c.name = name;
      if (name == "record_key") {
        c.kind = Column::kRecordKey;
      } else if (name == "subject_id") {
        c.kind = Column::kSubjectId;
      } else if (name == "op") {
        c.kind = Column::kOp;
      } else if (name == "observed_at") {
        c.kind = Column::kObservedAt;
      } else if (name == "invalidate_reason") {
        c.kind = Column::kInvalidateReason;
      } else if ((c.spec = schema_.field(name)) != nullptr) {
        c.kind = Column::kField;
      } else {
        return bad(
            trf("column '{}' is neither a field of dataset {} nor one of record_key, "
                "subject_id, op, observed_at, invalidate_reason",
                name.substr(0, 64), schema_.id()));
      }
      for (const auto& s : seen) {
        if (s == name) return bad(trf("column '{}' appears twice", name));
      }
      seen.push_back(name);
      columns_.push_back(std::move(c));
    }
    has_header_ = true;
    return {};
  }

  Result<bool> next(ParsedRow& out) override {
    if (!has_header_) return false;
    while (true) {
      GONGSHU_TRY(bool more, read_row(row_));
      if (!more) return false;
      if (row_.blank) continue;
      out.clear();
      out.line = row_.line;
      build(out);
      return true;
    }
  }

 private:
  void reject(ParsedRow& out, v1::RecordStatusCode code, std::string field,
              const std::string& reason) {
    // The row's text is kept as people can read it: decoded when it decodes.
    std::string raw = row_.raw;
    if (!decoder_.to_utf8(raw)) raw = row_.raw;
    out.reject(code, std::move(field), reason, raw);
  }

  // After a decoding error: what to try.
  std::string encoding_hint() const {
    return decoder_.charset() == Charset::kUtf8
               ? " (the file is read as UTF-8; --encoding gb18030 "  // i18n-exempt
                 "reads GBK/GB18030 files)"                          // i18n-exempt
               : " (the file is read as GB18030; --encoding utf-8 "  // i18n-exempt
                 "reads UTF-8 files)";                               // i18n-exempt
  }

  void build(ParsedRow& out) {
    if (!row_.error.empty()) {
      reject(out, v1::RECORD_STATUS_MALFORMED, "", row_.error);
      return;
    }
    if (row_.cells.size() != columns_.size()) {
      reject(out, v1::RECORD_STATUS_MALFORMED, "",
             "row has " + std::to_string(row_.cells.size()) +  // i18n-exempt
                 " cells, the header has " +                   // i18n-exempt
                 std::to_string(columns_.size()));
      return;
    }
    v1::Record& r = out.record;
    r.set_dataset(schema_.id());
    for (size_t i = 0; i < columns_.size(); ++i) {
      std::string& cell = row_.cells[i];
      if (cell.empty()) continue;
      const ColumnSpec& c = columns_[i];
      if (auto s = decoder_.to_utf8(cell); !s) {
        return reject(out, v1::RECORD_STATUS_MALFORMED, c.name,
                      "column '" + c.name + "': " + s.error().message() + encoding_hint());
      }
      switch (c.kind) {
        case Column::kRecordKey:
          r.set_record_key(std::move(cell));
          break;
        case Column::kSubjectId:
          r.set_subject_id(std::move(cell));
          break;
        case Column::kInvalidateReason:
          r.set_invalidate_reason(std::move(cell));
          break;
        case Column::kOp: {
          auto op = parse_op(cell);
          if (!op) return reject(out, v1::RECORD_STATUS_SCHEMA, "op", op.error().message());
          r.set_op(*op);
          break;
        }
        case Column::kObservedAt: {
          auto ms = parse_timestamp_ms(cell);
          if (!ms) {
            return reject(out, v1::RECORD_STATUS_SCHEMA, "observed_at", ms.error().message());
          }
          r.set_observed_at_ms(*ms);
          break;
        }
        case Column::kField: {
          v1::Field* f = r.add_fields();
          f->set_name(c.name);
          if (auto s = value_from_text(c.spec->type(), cell, *f->mutable_value()); !s) {
            return reject(out, v1::RECORD_STATUS_SCHEMA, c.name,
                          "field '" + c.name + "': " + s.error().message());
          }
          break;
        }
      }
    }
    out.ok = true;
  }

  // Reads one row (which may span lines inside quotes). false at the end of the input.
  Result<bool> read_row(RawRow& row) {
    row.cells.clear();
    row.raw.clear();
    row.error.clear();
    row.blank = false;
    row.line = lines_ + 1;
    enum { kStart, kUnquoted, kQuoted, kAfterQuote } state = kStart;
    std::string cell;
    size_t row_bytes = 0;
    bool too_long = false;
    bool any = false;
    auto set_error = [&](std::string why) {
      if (row.error.empty()) row.error = std::move(why);
    };
    auto end_cell = [&] {
      if (row.cells.size() >= limits_.max_columns) {
        set_error("more than " + std::to_string(limits_.max_columns) + " cells");  // i18n-exempt
      } else if (!too_long) {
        row.cells.push_back(std::move(cell));
      }
      cell.clear();
    };
    auto add = [&](char ch) {
      if (too_long) return;
      if (++row_bytes > limits_.max_row_bytes) {
        too_long = true;
        set_error("row longer than " + std::to_string(limits_.max_row_bytes) +  // i18n-exempt
                  " bytes");                                                    // i18n-exempt
        cell.clear();
        row.cells.clear();
        return;
      }
      cell.push_back(ch);
    };
    bool pending_cr = false;
    while (true) {
      // Inside a cell, a run of ordinary bytes is taken at once from the input's buffer (the
      // byte-at-a-time path below cost ~30% of a CSV intake's CPU); the bytes that end a run,
      // and a row reaching its length limit, go the byte-at-a-time way.
      if ((state == kUnquoted || state == kQuoted) && !pending_cr && !too_long) {
        const std::string_view b = input_.buffered();
        const bool* stop = state == kUnquoted ? kStopUnquoted.data() : kStopQuoted.data();
        size_t n = 0;
        const size_t most = std::min(b.size(), limits_.max_row_bytes - row_bytes);
        while (n < most && !stop[static_cast<unsigned char>(b[n])]) ++n;
        if (n > 0) {
          if (row.raw.size() < kMaxRawKept)
            row.raw.append(b.data(), std::min(n, kMaxRawKept - row.raw.size()));
          cell.append(b.data(), n);
          row_bytes += n;
          input_.consume(n);
        }
      }
      GONGSHU_TRY(int c, input_.get());
      if (c < 0) {
        if (!any) return false;
        if (state == kQuoted)
          set_error("unterminated quoted cell (started on this row)");  // i18n-exempt
        if (pending_cr) add('\r');
        end_cell();
        return true;
      }
      any = true;
      char ch = static_cast<char>(c);
      if (row.raw.size() < kMaxRawKept && ch != '\n') row.raw.push_back(ch);
      if (ch == '\n') ++lines_;
      if (pending_cr) {
        pending_cr = false;
        if (ch == '\n') {
          end_cell();
          row.blank = row.cells.size() == 1 && row.cells[0].empty() && row.error.empty();
          return true;
        }
        add('\r');
      }
      switch (state) {
        case kStart:
          if (ch == '"') {
            state = kQuoted;
            break;
          }
          state = kUnquoted;
          [[fallthrough]];
        case kUnquoted:
          if (ch == ',') {
            end_cell();
            state = kStart;
          } else if (ch == '\n') {
            end_cell();
            row.blank = row.cells.size() == 1 && row.cells[0].empty() && row.error.empty();
            return true;
          } else if (ch == '\r') {
            pending_cr = true;
          } else {
            if (ch == '"')
              set_error("a quote inside an unquoted cell (quote the whole cell)");  // i18n-exempt
            add(ch);
          }
          break;
        case kQuoted:
          if (ch == '"') {
            state = kAfterQuote;
          } else {
            add(ch);
          }
          break;
        case kAfterQuote:
          if (ch == '"') {
            add('"');
            state = kQuoted;
          } else if (ch == ',') {
            end_cell();
            state = kStart;
          } else if (ch == '\n') {
            end_cell();
            return true;
          } else if (ch == '\r') {
            pending_cr = true;
          } else {
            set_error("text after a closing quote");  // i18n-exempt
            state = kUnquoted;
            add(ch);
          }
          break;
      }
    }
  }

  InputFile input_;
  TextDecoder decoder_;
  const catalog::DatasetSchema& schema_;
  ReaderLimits limits_;
  std::vector<ColumnSpec> columns_;
  bool has_header_ = false;
  uint64_t lines_ = 0;
  RawRow row_;
};

}  // namespace

Result<std::unique_ptr<RecordReader>> make_csv_reader(InputFile input,
                                                      const catalog::DatasetSchema& schema,
                                                      ReaderLimits limits) {
  GONGSHU_TRY(TextDecoder decoder, TextDecoder::create(input.charset()));
  auto reader = std::make_unique<CsvReader>(std::move(input), std::move(decoder), schema, limits);
  GONGSHU_RETURN_IF_ERROR(reader->read_header());
  return std::unique_ptr<RecordReader>(std::move(reader));
}

}  // namespace gongshu::agent
