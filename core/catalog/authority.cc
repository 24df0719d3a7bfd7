#include "core/catalog/authority.h"

#include <algorithm>

#include "core/catalog/dataset.h"
#include "core/util/printable.h"

namespace gongshu::catalog {
namespace {

bool field_name_ok(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

v1::PiiKind identifier_of(const std::string& subject_kind) {
  if (subject_kind == "person") return v1::PII_CITIZEN_ID;
  if (subject_kind == "organisation") return v1::PII_CREDIT_CODE;
  return v1::PII_NONE;
}

const v1::FieldSpec* field_named(const v1::DatasetEntry& e, std::string_view name) {
  for (const auto& f : e.fields()) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

}  // namespace

Status validate_item(const DataItem& item) {
  const size_t n = item.fields.size() + item.pii.size();
  if (n == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "a data item needs at least one element (a field name or a pii kind)");
  }
  if (n > kMaxItemElements) {
    return fail(ErrorCode::kInvalidArgument, "a data item has at most " +
                                                 std::to_string(kMaxItemElements) +
                                                 " elements, not " + std::to_string(n));
  }
  for (size_t i = 0; i < item.fields.size(); ++i) {
    const std::string& f = item.fields[i];
    if (!field_name_ok(f))
      return fail(ErrorCode::kInvalidArgument,
                  "field '" + printable(f) + "' of a data item must be 1..64 of [a-z0-9_]");
    if (std::find(item.fields.begin(), item.fields.begin() + long(i), f) !=
        item.fields.begin() + long(i))
      return fail(ErrorCode::kInvalidArgument, "field '" + f + "' is named twice");
  }
  for (size_t i = 0; i < item.pii.size(); ++i) {
    const v1::PiiKind k = item.pii[i];
    if (!v1::PiiKind_IsValid(k) || k == v1::PII_NONE || k == v1::PII_OTHER)
      return fail(ErrorCode::kInvalidArgument,
                  "pii kind '" + std::string(pii_kind_name(k)) +
                      "' does not name a data item element (not none, other or unknown)");
    if (std::find(item.pii.begin(), item.pii.begin() + long(i), k) != item.pii.begin() + long(i))
      return fail(ErrorCode::kInvalidArgument,
                  "pii kind '" + std::string(pii_kind_name(k)) + "' is named twice");
  }
  return {};
}

std::optional<std::string> missing_element(const v1::DatasetEntry& source, const DataItem& item) {
  for (const auto& f : item.fields) {
    if (!field_named(source, f)) return "field '" + f + "'";
  }
  for (v1::PiiKind k : item.pii) {
    bool held = std::any_of(source.fields().begin(), source.fields().end(),
                            [&](const v1::FieldSpec& f) { return f.pii() == k; });
    if (!held) return "pii kind '" + std::string(pii_kind_name(k)) + "'";
  }
  return std::nullopt;
}

Overlap item_overlap(const v1::DatasetEntry& entry, const DataItem& item) {
  Overlap out;
  const v1::PiiKind key = identifier_of(entry.subject_kind());
  auto note = [&](const std::string& name) {
    if (std::find(out.shared.begin(), out.shared.end(), name) == out.shared.end())
      out.shared.push_back(name);
  };
  uint32_t counted = 0, held = 0;
  for (const auto& name : item.fields) {
    const v1::FieldSpec* f = field_named(entry, name);
    if (f && key != v1::PII_NONE && f->pii() == key) continue;  // the entry's own key
    ++counted;
    if (f) {
      ++held;
      note(f->name());
    }
  }
  for (v1::PiiKind k : item.pii) {
    if (k == key) continue;
    ++counted;
    bool any = false;
    for (const auto& f : entry.fields()) {
      if (f.pii() != k) continue;
      any = true;
      note(f.name());
    }
    if (any) ++held;
  }
  if (counted > 0) out.score_permille = held * 1000 / counted;
  return out;
}

bool item_covers(const DataItem& item, std::string_view field, v1::PiiKind pii) {
  if (!field.empty() &&
      std::find(item.fields.begin(), item.fields.end(), field) != item.fields.end())
    return true;
  return pii != v1::PII_NONE && std::find(item.pii.begin(), item.pii.end(), pii) != item.pii.end();
}

}  // namespace gongshu::catalog
