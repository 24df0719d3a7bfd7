#include "core/policy/dataset_attrs.h"

namespace gongshu::policy {

bool DatasetAttrs::personal() const {
  return (pii_kinds & ~(bit(v1::PII_NONE) | bit(v1::PII_CREDIT_CODE))) != 0;
}

Result<DatasetAttrs> DatasetAttrs::from_entry(const v1::DatasetEntry& e) {
  auto bad = [&](std::string_view what, const std::string& value) {
    return fail(ErrorCode::kInvalidArgument,
                "dataset " + e.id() + ": " + std::string(what) + " '" + value + "' is not defined");
  };
  DatasetAttrs a;
  a.id = e.id();
  a.provider = e.provider_agency();
  auto grade = parse_grade(e.grade());
  if (!grade) return bad("grade", e.grade());
  auto open = parse_open(e.open_attribute());
  if (!open) return bad("open attribute", e.open_attribute());
  auto share = parse_share(e.share_attribute());
  if (!share) return bad("share attribute", e.share_attribute());
  auto category = parse_category(e.category());
  if (!category) return bad("category", e.category());
  a.grade = *grade;
  a.open = *open;
  a.share = *share;
  a.category = *category;
  for (const v1::FieldSpec& f : e.fields()) {
    const int k = f.pii();
    // An unknown kind (a newer peer) is treated as `other`: personal, masked as such.
    const auto kind = (k >= 0 && k < 32 && v1::PiiKind_IsValid(k)) ? f.pii() : v1::PII_OTHER;
    a.pii_kinds |= bit(kind);
    a.fields.emplace_back(f.name(), kind);
  }
  return a;
}

}  // namespace gongshu::policy
