#include "core/catalog/validate.h"

#include <set>

#include "core/ids/citizen_id.h"
#include "core/ids/credit_code.h"

namespace gongshu::catalog {
namespace {

Verdict bad(v1::RecordStatusCode code, std::string field, std::string reason) {
  return Verdict{code, std::move(field), std::move(reason)};
}

v1::FieldType kind_of(const v1::FieldValue& v) {
  switch (v.kind_case()) {
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

// Validates an identifier of the given PII kind; empty string when valid.
std::string identifier_problem(v1::PiiKind pii, const std::string& value, const Clock& clock) {
  ids::IdCheck c = pii == v1::PII_CITIZEN_ID ? ids::check_citizen_id(value, clock)
                                             : ids::check_credit_code(value);
  if (!c.valid) return c.reason;
  return {};
}

}  // namespace

Verdict validate_record(const DatasetSchema& schema, const v1::Record& r, const Clock& clock) {
  const v1::DatasetEntry& e = schema.entry();
  if (r.dataset() != e.id()) {
    return bad(v1::RECORD_STATUS_UNKNOWN_DATASET, "",
               "record is for dataset '" + r.dataset() + "', not '" + e.id() + "'");
  }
  if (r.record_key().empty() || r.record_key().size() > kMaxRecordKey) {
    return bad(v1::RECORD_STATUS_SCHEMA, "record_key",
               "record key must be 1.." + std::to_string(kMaxRecordKey) + " bytes");
  }
  // Subject: the identifier the subject index is built on.
  if (e.subject_kind() == "person" || e.subject_kind() == "organisation") {
    v1::PiiKind kind = e.subject_kind() == "person" ? v1::PII_CITIZEN_ID : v1::PII_CREDIT_CODE;
    if (r.subject_id().empty()) {
      return bad(v1::RECORD_STATUS_SCHEMA, "subject_id",
                 "missing subject identifier for a " + e.subject_kind());
    }
    if (auto why = identifier_problem(kind, r.subject_id(), clock); !why.empty()) {
      return bad(v1::RECORD_STATUS_BAD_IDENTIFIER, "subject_id", why);
    }
  }
  if (r.op() == v1::RECORD_OP_INVALIDATE) {
    if (r.fields_size() != 0)
      return bad(v1::RECORD_STATUS_SCHEMA, "", "an invalidation carries no fields");
    return {};
  }
  if (r.op() != v1::RECORD_OP_UPSERT)
    return bad(v1::RECORD_STATUS_SCHEMA, "op", "unknown operation");
  if (r.fields_size() > kMaxFields) return bad(v1::RECORD_STATUS_SCHEMA, "", "too many fields");
  std::set<std::string_view> seen;
  for (const v1::Field& f : r.fields()) {
    const v1::FieldSpec* spec = schema.field(f.name());
    if (!spec)
      return bad(v1::RECORD_STATUS_SCHEMA, f.name(),
                 "field '" + f.name() + "' is not in the catalog entry");
    if (!seen.insert(f.name()).second)
      return bad(v1::RECORD_STATUS_SCHEMA, f.name(), "field given twice");
    if (kind_of(f.value()) != spec->type()) {
      return bad(v1::RECORD_STATUS_SCHEMA, f.name(),
                 "expected " + std::string(field_type_name(spec->type())) + ", got " +
                     (f.value().kind_case() == v1::FieldValue::KIND_NOT_SET
                          ? std::string("no value")
                          : std::string(field_type_name(kind_of(f.value())))));
    }
    if (spec->type() == v1::FIELD_TYPE_TEXT && f.value().text().size() > kMaxTextField) {
      return bad(v1::RECORD_STATUS_SCHEMA, f.name(),
                 "text longer than " + std::to_string(kMaxTextField) + " bytes");
    }
    if (spec->pii() == v1::PII_BIOMETRIC && e.legal_basis().empty()) {
      return bad(v1::RECORD_STATUS_BIOMETRIC, f.name(),
                 "biometric data without a legal basis in the catalog entry is refused (R-09)");
    }
    if (spec->pii() == v1::PII_CITIZEN_ID || spec->pii() == v1::PII_CREDIT_CODE) {
      if (auto why = identifier_problem(spec->pii(), f.value().text(), clock); !why.empty()) {
        return bad(v1::RECORD_STATUS_BAD_IDENTIFIER, f.name(), why);
      }
    }
  }
  for (int idx : schema.required_fields()) {
    const std::string& name = e.fields(idx).name();
    if (!seen.count(name))
      return bad(v1::RECORD_STATUS_SCHEMA, name, "required field '" + name + "' is missing");
  }
  return {};
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
