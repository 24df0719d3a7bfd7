// DatasetAttrs: the attributes of a catalog entry that policy rules match on, in compact form
// (enums and a PII bitmask instead of strings). Independent of any policy: build one per catalog
// entry version — the daemon caches it beside the DatasetSchema — and pass it to every
// decision about that dataset. A plain value, safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/policy/vocab.h"
#include "core/util/error.h"
#include "gongshu/v1/catalog.pb.h"

namespace gongshu::policy {

struct DatasetAttrs {
  std::string id;
  std::string provider;  // the providing agency
  GradeLevel grade = GradeLevel::kCore;
  OpenAttr open = OpenAttr::kClosed;
  ShareAttr share = ShareAttr::kNone;
  Category category = Category::kTopic;
  uint32_t pii_kinds = 0;  // bit(v1::PiiKind) for every kind among the fields
  std::vector<std::pair<std::string, v1::PiiKind>> fields;  // in catalog order

  // Whether some field holds personal information (core/policy/vocab.h: is_personal_kind).
  bool personal() const;

  // Fails (kInvalidArgument, naming the attribute) on a grade, open or share attribute or
  // category that the catalog does not define; a validated entry always converts.
  static Result<DatasetAttrs> from_entry(const v1::DatasetEntry& entry);
};

}  // namespace gongshu::policy
