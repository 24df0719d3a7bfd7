// RecordView: the parts of a v1::Record that validation and storage look at, as views.
//
// The daemon reads every record of every batch; building a v1::Record for each costs a dozen
// allocations (a message per field and value, a heap string per text longer than 15 bytes).
// RecordView::read() takes the views straight out of the encoding instead — but only for the
// canonical encodings protobuf writes, read with protobuf's own rules: each field of the right
// wire type, singular fields at most once, at most one member of the value oneof, no unknown
// fields, text that is UTF-8 by RFC 3629 (which protobuf accepts), booleans 0 or 1, varints in
// range. For anything else it says no, and RecordView::parse() hands the bytes to protobuf and
// takes of() its message: a record that reads here reads identically through protobuf
// (tests/core/catalog/record_view_test holds the two to that, on generated and mutated
// encodings), so validation never judges other content than what is stored and later parsed.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <span>
#include <string_view>
#include <vector>

#include <google/protobuf/arena.h>

#include "gongshu/v1/record.pb.h"

namespace gongshu::catalog {

struct FieldView {
  std::string_view name;
  v1::FieldValue::KindCase kind = v1::FieldValue::KIND_NOT_SET;
  std::string_view bytes;  // kText, kBlob
  int64_t integer = 0;     // kInteger, kDateDays, kTimestampMs
  double real = 0;         // kReal
  bool boolean = false;    // kBoolean
};

// Same name, kind and value; reals compared bit for bit (so a NaN equals itself).
bool operator==(const FieldView& a, const FieldView& b);

class RecordView {
 public:
  RecordView() = default;
  // Its field list allocated from `memory` (the daemon keeps a batch's records on the batch's
  // arena), which must outlive it.
  explicit RecordView(std::pmr::memory_resource* memory) : fields_(memory) {}

  // Reads `encoded` (the bytes of a v1::Record) in place; false when it is not in canonical
  // form, in which case `out` is unspecified. The views point into `encoded`.
  static bool read(std::string_view encoded, RecordView& out);
  // read(), or else protobuf's parse onto `arena` and of() that message: false only when
  // protobuf refuses the bytes too. The views point into `encoded` or the arena.
  static bool parse(std::string_view encoded, google::protobuf::Arena& arena, RecordView& out);
  // Views into a parsed message, which must outlive them.
  static RecordView of(const v1::Record& record);

  std::string_view dataset() const { return dataset_; }
  std::string_view record_key() const { return record_key_; }
  v1::RecordOp op() const { return static_cast<v1::RecordOp>(op_); }
  std::string_view subject_id() const { return subject_id_; }
  int64_t observed_at_ms() const { return observed_at_ms_; }
  std::string_view invalidate_reason() const { return invalidate_reason_; }
  std::span<const FieldView> fields() const { return fields_; }

  bool operator==(const RecordView& o) const;

 private:
  std::string_view dataset_, record_key_, subject_id_, invalidate_reason_;
  int32_t op_ = 0;
  int64_t observed_at_ms_ = 0;
  std::pmr::vector<FieldView> fields_;
  void clear();  // keeps the field list's memory resource
  static void of(const v1::Record& record, RecordView& out);  // into a cleared view
};

}  // namespace gongshu::catalog
