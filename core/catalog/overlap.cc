#include "core/catalog/overlap.h"

namespace gongshu::catalog {
namespace {

v1::PiiKind identifier_of(const std::string& subject_kind) {
  if (subject_kind == "person") return v1::PII_CITIZEN_ID;
  if (subject_kind == "organisation") return v1::PII_CREDIT_CODE;
  return v1::PII_NONE;
}

}  // namespace

Overlap overlap(const v1::DatasetEntry& entry, const v1::DatasetEntry& other) {
  Overlap out;
  if (entry.subject_kind() != other.subject_kind()) return out;
  const v1::PiiKind key = identifier_of(entry.subject_kind());
  uint32_t counted = 0;
  for (const auto& f : entry.fields()) {
    if (key != v1::PII_NONE && f.pii() == key) continue;
    ++counted;
    for (const auto& g : other.fields()) {
      const bool same_kind =
          f.pii() == g.pii() && f.pii() != v1::PII_NONE && f.pii() != v1::PII_OTHER;
      if (f.name() == g.name() ||
          (!f.description().empty() && f.description() == g.description()) || same_kind) {
        out.shared.push_back(f.name());
        break;
      }
    }
  }
  if (counted > 0) out.score_permille = uint32_t(out.shared.size() * 1000 / counted);
  return out;
}

}  // namespace gongshu::catalog
