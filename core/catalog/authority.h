// Authoritative sources (R-11 权威来源): a data item — a set of elements, each a field name or a
// kind of personal information, such as 公民身份号码+姓名+出生日期 — that the catalog names as
// sourced from one dataset. The daemon keeps the designations (daemon/catalog_authority.h); these
// are the pure rules over them. No I/O; callable from any thread.
//
// An entry collects an element when it has a field of that name, or a field of that PII kind.
// As in core/catalog/overlap.h, the entry's own subject identifier (the citizen ID of a dataset
// about people, the credit code of one about organisations) is not counted: keying records by
// it is not collecting it. The score is the share of the item's other elements the entry
// collects, in thousandths; from kOverlapFlagPermille on, a submission is flagged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog/overlap.h"
#include "core/util/error.h"
#include "gongshu/v1/catalog.pb.h"

namespace gongshu::catalog {

struct DataItem {
  std::vector<std::string> fields;  // field names
  std::vector<v1::PiiKind> pii;     // PII kinds (never none or other)
};

inline constexpr size_t kMaxItemElements = 32;

// Checks an item's own shape: 1..kMaxItemElements elements, field names of [a-z0-9_], PII kinds
// other than none and other, no element twice. The message names the element.
Status validate_item(const DataItem& item);

// The first element of item that source does not hold ("field 'x'", "pii kind 'name'"), or
// nullopt: a dataset is named the source of an item only if it holds all of it.
std::optional<std::string> missing_element(const v1::DatasetEntry& source, const DataItem& item);

// How much of item entry collects again; shared names entry's fields that hold the elements.
Overlap item_overlap(const v1::DatasetEntry& entry, const DataItem& item);

// Whether item has an element naming field (by name) or pii (by kind); an empty field or
// PII_NONE matches nothing. For routing a question about a field to its source.
bool item_covers(const DataItem& item, std::string_view field, v1::PiiKind pii);

}  // namespace gongshu::catalog
