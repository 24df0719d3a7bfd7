#include "core/catalog/record_view.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/util/utf8.h"
#include "core/util/wire_reader.h"

namespace gongshu::catalog {
namespace {

constexpr uint32_t kVarint = WireReader::kVarint;
constexpr uint32_t kFixed64 = WireReader::kFixed64;
constexpr uint32_t kLengthDelimited = WireReader::kLengthDelimited;

// A proto3 `string`: protobuf refuses text that is not UTF-8. Only RFC 3629 UTF-8 is read here;
// whatever protobuf might accept beyond it is declined and left to protobuf.
bool read_text(WireReader& in, std::string_view& out) { return in.bytes(out) && is_utf8(out); }

int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

bool read_value(std::string_view encoded, FieldView& f) {
  using V = v1::FieldValue;
  WireReader in(encoded);
  while (!in.done()) {
    uint32_t number, type;
    if (!in.tag(number, type)) return false;
    // A oneof: at most one member.
    if (f.kind != V::KIND_NOT_SET) return false;
    uint64_t v = 0;
    switch (number) {
      case V::kTextFieldNumber:
        if (type != kLengthDelimited || !read_text(in, f.bytes)) return false;
        f.kind = V::kText;
        break;
      case V::kBlobFieldNumber:
        if (type != kLengthDelimited || !in.bytes(f.bytes)) return false;
        f.kind = V::kBlob;
        break;
      case V::kIntegerFieldNumber:
      case V::kTimestampMsFieldNumber:
        if (type != kVarint || !in.varint(v)) return false;
        f.integer = unzigzag(v);
        f.kind = number == V::kIntegerFieldNumber ? V::kInteger : V::kTimestampMs;
        break;
      case V::kDateDaysFieldNumber:
        if (type != kVarint || !in.varint(v) || v > std::numeric_limits<uint32_t>::max())
          return false;
        f.integer = unzigzag(v);
        f.kind = V::kDateDays;
        break;
      case V::kRealFieldNumber:
        if (type != kFixed64 || !in.fixed64(v)) return false;
        std::memcpy(&f.real, &v, sizeof v);
        f.kind = V::kReal;
        break;
      case V::kBooleanFieldNumber:
        if (type != kVarint || !in.varint(v) || v > 1) return false;
        f.boolean = v == 1;
        f.kind = V::kBoolean;
        break;
      default:
        return false;
    }
  }
  return true;
}

bool read_field(std::string_view encoded, FieldView& f) {
  WireReader in(encoded);
  uint32_t seen = 0;
  while (!in.done()) {
    uint32_t number, type;
    if (!in.tag(number, type) || type != kLengthDelimited) return false;
    std::string_view value;
    switch (number) {
      case v1::Field::kNameFieldNumber:
        if (!first_time(seen, number) || !read_text(in, f.name)) return false;
        break;
      case v1::Field::kValueFieldNumber:
        if (!first_time(seen, number) || !in.bytes(value) || !read_value(value, f)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

bool operator==(const FieldView& a, const FieldView& b) {
  return a.name == b.name && a.kind == b.kind && a.bytes == b.bytes && a.integer == b.integer &&
         std::memcmp(&a.real, &b.real, sizeof a.real) == 0 && a.boolean == b.boolean;
}

bool RecordView::operator==(const RecordView& o) const {
  return dataset_ == o.dataset_ && record_key_ == o.record_key_ && subject_id_ == o.subject_id_ &&
         invalidate_reason_ == o.invalidate_reason_ && op_ == o.op_ &&
         observed_at_ms_ == o.observed_at_ms_ &&
         std::equal(fields_.begin(), fields_.end(), o.fields_.begin(), o.fields_.end());
}

void RecordView::clear() {
  dataset_ = record_key_ = subject_id_ = invalidate_reason_ = {};
  op_ = 0;
  observed_at_ms_ = 0;
  fields_.clear();
}

bool RecordView::read(std::string_view encoded, RecordView& out) {
  using R = v1::Record;
  out.clear();
  out.fields_.reserve(8);  // one allocation for most records
  WireReader in(encoded);
  uint32_t seen = 0;
  while (!in.done()) {
    uint32_t number, type;
    if (!in.tag(number, type)) return false;
    if (number != R::kFieldsFieldNumber && !first_time(seen, number)) return false;
    uint64_t v = 0;
    std::string_view field;
    switch (number) {
      case R::kDatasetFieldNumber:
        if (type != kLengthDelimited || !read_text(in, out.dataset_)) return false;
        break;
      case R::kRecordKeyFieldNumber:
        if (type != kLengthDelimited || !read_text(in, out.record_key_)) return false;
        break;
      case R::kSubjectIdFieldNumber:
        if (type != kLengthDelimited || !read_text(in, out.subject_id_)) return false;
        break;
      case R::kInvalidateReasonFieldNumber:
        if (type != kLengthDelimited || !read_text(in, out.invalidate_reason_)) return false;
        break;
      case R::kOpFieldNumber:
        // An open enum: protobuf keeps any int32; negative values are left to protobuf.
        if (type != kVarint || !in.varint(v) || v > std::numeric_limits<int32_t>::max())
          return false;
        out.op_ = static_cast<int32_t>(v);
        break;
      case R::kObservedAtMsFieldNumber:
        if (type != kVarint || !in.varint(v)) return false;
        out.observed_at_ms_ = unzigzag(v);
        break;
      case R::kFieldsFieldNumber:
        if (type != kLengthDelimited || !in.bytes(field) ||
            !read_field(field, out.fields_.emplace_back()))
          return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

bool RecordView::parse(std::string_view encoded, google::protobuf::Arena& arena, RecordView& out) {
  if (read(encoded, out)) return true;
  auto* parsed = google::protobuf::Arena::CreateMessage<v1::Record>(&arena);
  if (!parsed->ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) {
    out.clear();
    return false;
  }
  out.clear();
  of(*parsed, out);
  return true;
}

RecordView RecordView::of(const v1::Record& r) {
  RecordView out;
  of(r, out);
  return out;
}

void RecordView::of(const v1::Record& r, RecordView& out) {
  out.dataset_ = r.dataset();
  out.record_key_ = r.record_key();
  out.op_ = static_cast<int32_t>(r.op());
  out.subject_id_ = r.subject_id();
  out.observed_at_ms_ = r.observed_at_ms();
  out.invalidate_reason_ = r.invalidate_reason();
  out.fields_.reserve(static_cast<size_t>(r.fields_size()));
  for (const v1::Field& f : r.fields()) {
    FieldView& v = out.fields_.emplace_back();
    v.name = f.name();
    const v1::FieldValue& value = f.value();
    v.kind = value.kind_case();
    switch (v.kind) {
      case v1::FieldValue::kText:
        v.bytes = value.text();
        break;
      case v1::FieldValue::kBlob:
        v.bytes = value.blob();
        break;
      case v1::FieldValue::kInteger:
        v.integer = value.integer();
        break;
      case v1::FieldValue::kDateDays:
        v.integer = value.date_days();
        break;
      case v1::FieldValue::kTimestampMs:
        v.integer = value.timestamp_ms();
        break;
      case v1::FieldValue::kReal:
        v.real = value.real();
        break;
      case v1::FieldValue::kBoolean:
        v.boolean = value.boolean();
        break;
      case v1::FieldValue::KIND_NOT_SET:
        break;
    }
  }
}

}  // namespace gongshu::catalog
