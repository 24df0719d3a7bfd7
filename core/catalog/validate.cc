#include "core/catalog/validate.h"

#include <vector>

#include "core/ids/citizen_id.h"
#include "core/ids/credit_code.h"
#include "core/util/printable.h"

namespace gongshu::catalog {
namespace {

Verdict accepted(std::string subject) {
  Verdict v;
  v.subject = std::move(subject);
  return v;
}

v1::FieldType kind_of(const FieldView& v) {
  switch (v.kind) {
    case v1::FieldValue::kText:
      return v1::FIELD_TYPE_TEXT;
    case v1::FieldValue::kInteger:
      return v1::FIELD_TYPE_INTEGER;
    case v1::FieldValue::kReal:
      return v1::FIELD_TYPE_REAL;
    case v1::FieldValue::kBoolean:
      return v1::FIELD_TYPE_BOOLEAN;
    case v1::FieldValue::kBlob:
      return v1::FIELD_TYPE_BLOB;
    case v1::FieldValue::kDateDays:
      return v1::FIELD_TYPE_DATE;
    case v1::FieldValue::kTimestampMs:
      return v1::FIELD_TYPE_TIMESTAMP;
    default:
      return static_cast<v1::FieldType>(-1);
  }
}

ids::IdCheck check_identifier_of(v1::PiiKind pii, std::string_view value, const Clock& clock) {
  return pii == v1::PII_CITIZEN_ID ? ids::check_citizen_id(value, clock)
                                   : ids::check_credit_code(value);
}

}  // namespace

Verdict validate_record(const DatasetSchema& schema, const v1::Record& r, const Clock& clock) {
  return validate_record(schema, RecordView::of(r), clock);
}

Verdict validate_record(const DatasetSchema& schema, const RecordView& r, const Clock& clock,
                        FieldMask* present) {
  const v1::DatasetEntry& e = schema.entry();
  if (r.dataset() != e.id()) {
    return Verdict::refusal(
        v1::RECORD_STATUS_UNKNOWN_DATASET, "",
        "record is for dataset '" + std::string(r.dataset()) + "', not '" + e.id() + "'");
  }
  if (r.record_key().empty() || r.record_key().size() > kMaxRecordKey) {
    return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, "record_key",
                            "record key must be 1.." + std::to_string(kMaxRecordKey) + " bytes");
  }
  // A record key is an identifier people read in provenance and query output: text without
  // control characters (docs/protocol.md, "Text and control characters").
  if (!is_printable(r.record_key())) {
    return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, "record_key",
                            "record key holds control characters or is not UTF-8 text");
  }
  // Subject: the identifier the subject index is built on.
  v1::PiiKind subject_kind = v1::PII_NONE;
  std::string subject;
  if (e.subject_kind() == "person" || e.subject_kind() == "organisation") {
    v1::PiiKind kind = e.subject_kind() == "person" ? v1::PII_CITIZEN_ID : v1::PII_CREDIT_CODE;
    if (r.subject_id().empty()) {
      return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, "subject_id",
                              "missing subject identifier for a " + e.subject_kind());
    }
    ids::IdCheck c = check_identifier_of(kind, r.subject_id(), clock);
    if (!c.valid) return Verdict::refusal(v1::RECORD_STATUS_BAD_IDENTIFIER, "subject_id", c.reason);
    subject_kind = kind;
    subject = std::move(c.normalized);
  } else if (!r.subject_id().empty()) {
    // A dataset without a subject kind may still name one: it is indexed when it is a valid
    // identifier of either kind, and is not otherwise judged.
    ids::IdCheck c = ids::check_citizen_id(r.subject_id(), clock);
    if (!c.valid) c = ids::check_credit_code(r.subject_id());
    if (c.valid) subject = std::move(c.normalized);
  }
  if (r.op() == v1::RECORD_OP_INVALIDATE) {
    if (!r.fields().empty())
      return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, "", "an invalidation carries no fields");
    return accepted(std::move(subject));
  }
  if (r.op() != v1::RECORD_OP_UPSERT)
    return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, "op", "unknown operation");
  if (r.fields().size() > size_t{kMaxFields})
    return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, "", "too many fields");
  // Which catalog fields the record has, by index: a bit each, on the stack for most catalogs.
  const size_t words = (static_cast<size_t>(e.fields_size()) + 63) / 64;
  uint64_t small[4] = {};
  std::vector<uint64_t> large(words > 4 ? words : 0);
  uint64_t* seen = words > 4 ? large.data() : small;
  auto bit = [](size_t i) { return uint64_t{1} << (i % 64); };
  for (const FieldView& f : r.fields()) {
    const std::string_view name = f.name;
    // What protobuf's text() gives: empty unless the value is text.
    const std::string_view text = f.kind == v1::FieldValue::kText ? f.bytes : std::string_view();
    const int index = schema.field_index(f.name);
    if (index < 0)
      return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, std::string(name),
                              "field '" + std::string(name) + "' is not in the catalog entry");
    const size_t i = static_cast<size_t>(index);
    if (seen[i / 64] & bit(i))
      return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, std::string(name), "field given twice");
    seen[i / 64] |= bit(i);
    if (present && f.kind != v1::FieldValue::KIND_NOT_SET &&
        !((f.kind == v1::FieldValue::kText || f.kind == v1::FieldValue::kBlob) && f.bytes.empty()))
      present->set(i);
    const v1::FieldSpec* spec = &e.fields(index);
    if (kind_of(f) != spec->type()) {
      return Verdict::refusal(
          v1::RECORD_STATUS_SCHEMA, std::string(name),
          "expected " + std::string(field_type_name(spec->type())) + ", got " +
              (f.kind == v1::FieldValue::KIND_NOT_SET ? std::string("no value")
                                                      : std::string(field_type_name(kind_of(f)))));
    }
    if (spec->type() == v1::FIELD_TYPE_TEXT && text.size() > kMaxTextField) {
      return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, std::string(name),
                              "text longer than " + std::to_string(kMaxTextField) + " bytes");
    }
    if (spec->pii() == v1::PII_BIOMETRIC && e.legal_basis().empty()) {
      return Verdict::refusal(
          v1::RECORD_STATUS_BIOMETRIC, std::string(name),
          "biometric data without a legal basis in the catalog entry is refused (R-09)");
    }
    // The subject's own identifier field, usually given again as a field, was checked above.
    const bool is_identifier =
        spec->pii() == v1::PII_CITIZEN_ID || spec->pii() == v1::PII_CREDIT_CODE;
    if (is_identifier && !(spec->pii() == subject_kind && text == r.subject_id())) {
      ids::IdCheck c = check_identifier_of(spec->pii(), text, clock);
      if (!c.valid)
        return Verdict::refusal(v1::RECORD_STATUS_BAD_IDENTIFIER, std::string(name), c.reason);
    }
    // Quality rules, compiled with the schema: nothing allocated unless one is broken.
    if (const FieldRules& rules = schema.rules(index); !rules.empty()) {
      if (auto broken = rules.check(f)) {
        return Verdict::refusal(v1::RECORD_STATUS_QUALITY, std::string(name),
                                "record '" + printable(r.record_key()) + "': " + *broken);
      }
    }
  }
  for (int idx : schema.required_fields()) {
    const std::string& name = e.fields(idx).name();
    if (!(seen[static_cast<size_t>(idx) / 64] & bit(static_cast<size_t>(idx))))
      return Verdict::refusal(v1::RECORD_STATUS_SCHEMA, name,
                              "required field '" + name + "' is missing");
  }
  return accepted(std::move(subject));
}

void normalize_record(const DatasetSchema& schema, v1::Record& r, const Clock& clock) {
  auto normal = [&](v1::PiiKind kind, std::string* value) {
    ids::IdCheck c = kind == v1::PII_CITIZEN_ID ? ids::check_citizen_id(*value, clock)
                                                : ids::check_credit_code(*value);
    if (c.valid) *value = c.normalized;
  };
  const std::string& subject = schema.entry().subject_kind();
  // A record without an explicit subject takes it from its identifier field of the subject's
  // kind, when the catalog entry has exactly one.
  if (r.subject_id().empty() && (subject == "person" || subject == "organisation")) {
    v1::PiiKind kind = subject == "person" ? v1::PII_CITIZEN_ID : v1::PII_CREDIT_CODE;
    const v1::Field* only = nullptr;
    int count = 0;
    for (const v1::Field& f : r.fields()) {
      const v1::FieldSpec* spec = schema.field(f.name());
      if (spec && spec->pii() == kind && f.value().kind_case() == v1::FieldValue::kText) {
        only = &f;
        ++count;
      }
    }
    if (count == 1) r.set_subject_id(only->value().text());
  }
  if (!r.subject_id().empty() && (subject == "person" || subject == "organisation")) {
    normal(subject == "person" ? v1::PII_CITIZEN_ID : v1::PII_CREDIT_CODE, r.mutable_subject_id());
  }
  for (v1::Field& f : *r.mutable_fields()) {
    const v1::FieldSpec* spec = schema.field(f.name());
    if (spec && (spec->pii() == v1::PII_CITIZEN_ID || spec->pii() == v1::PII_CREDIT_CODE) &&
        f.value().kind_case() == v1::FieldValue::kText) {
      normal(spec->pii(), f.mutable_value()->mutable_text());
    }
  }
}

}  // namespace gongshu::catalog
