#include "core/catalog/record_view.h"

#include <google/protobuf/stubs/common.h>

#include <cstring>
#include <limits>

namespace gongshu::catalog {
namespace {

constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;

bool is_ascii(std::string_view s) {
  uint64_t high = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    high |= word;
  }
  for (; i < s.size(); ++i) high |= static_cast<uint8_t>(s[i]);
  return (high & 0x8080808080808080ULL) == 0;
}

// Protobuf wire format, read strictly: anything protobuf would read differently, or that the
// canonical encoder never writes, is a failure here (the caller then parses with protobuf).
class Reader {
 public:
  explicit Reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
  bool done() const { return p_ == end_; }

  bool varint(uint64_t& v) {
    v = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) return false;
      const auto b = static_cast<uint8_t>(*p_++);
      if (i == 9 && b > 1) return false;  // beyond 64 bits
      v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) return true;
    }
    return false;
  }

  bool tag(uint32_t& field, uint32_t& wire_type) {
    uint64_t t;
    if (!varint(t) || t > std::numeric_limits<uint32_t>::max() || (t >> 3) == 0) return false;
    field = static_cast<uint32_t>(t >> 3);
    wire_type = static_cast<uint32_t>(t & 7);
    return true;
  }

  bool bytes(std::string_view& out) {
    uint64_t n;
    if (!varint(n) || n > static_cast<uint64_t>(end_ - p_) ||
        n > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
      return false;
    out = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  // A proto3 `string`: protobuf refuses text that is not UTF-8. ASCII text is UTF-8 under any
  // reading; anything else gets protobuf's own check, so the two never disagree.
  bool text(std::string_view& out) {
    return bytes(out) && (is_ascii(out) || google::protobuf::internal::IsStructurallyValidUTF8(
                                               out.data(), static_cast<int>(out.size())));
  }

  bool fixed64(uint64_t& v) {
    if (end_ - p_ < 8) return false;
    std::memcpy(&v, p_, 8);  // little-endian on every platform we build for
    p_ += 8;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Marks field `number` as seen; false when it was already (a singular field given twice, which
// protobuf would resolve by keeping the last, or merging).
bool first_time(uint32_t& seen, uint32_t number) {
  const uint32_t bit = uint32_t{1} << number;
  if (seen & bit) return false;
  seen |= bit;
  return true;
}

bool read_value(std::string_view encoded, FieldView& f) {
  using V = v1::FieldValue;
  Reader in(encoded);
  while (!in.done()) {
    uint32_t number, type;
    if (!in.tag(number, type)) return false;
    // A oneof: at most one member.
    if (f.kind != V::KIND_NOT_SET) return false;
    uint64_t v = 0;
    switch (number) {
      case V::kTextFieldNumber:
        if (type != kLengthDelimited || !in.text(f.bytes)) return false;
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
  Reader in(encoded);
  uint32_t seen = 0;
  while (!in.done()) {
    uint32_t number, type;
    if (!in.tag(number, type) || type != kLengthDelimited) return false;
    std::string_view value;
    switch (number) {
      case v1::Field::kNameFieldNumber:
        if (!first_time(seen, number) || !in.text(f.name)) return false;
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

bool RecordView::read(std::string_view encoded, RecordView& out) {
  using R = v1::Record;
  out = RecordView();
  out.fields_.reserve(8);  // one allocation for most records
  Reader in(encoded);
  uint32_t seen = 0;
  while (!in.done()) {
    uint32_t number, type;
    if (!in.tag(number, type)) return false;
    if (number != R::kFieldsFieldNumber && (number >= 32 || !first_time(seen, number)))
      return false;
    uint64_t v = 0;
    std::string_view field;
    switch (number) {
      case R::kDatasetFieldNumber:
        if (type != kLengthDelimited || !in.text(out.dataset_)) return false;
        break;
      case R::kRecordKeyFieldNumber:
        if (type != kLengthDelimited || !in.text(out.record_key_)) return false;
        break;
      case R::kSubjectIdFieldNumber:
        if (type != kLengthDelimited || !in.text(out.subject_id_)) return false;
        break;
      case R::kInvalidateReasonFieldNumber:
        if (type != kLengthDelimited || !in.text(out.invalidate_reason_)) return false;
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

RecordView RecordView::of(const v1::Record& r) {
  RecordView out;
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
  return out;
}

}  // namespace gongshu::catalog
