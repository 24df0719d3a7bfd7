// Repeated collection (R-07, art. 13): how much a catalog entry's data items duplicate another
// dataset's. Pure: no I/O; callable from any thread.
//
// A data item is a field, known by its name, its description and its PII kind. Two entries
// about different kinds of subject never overlap. A field of the new entry is shared when the
// other entry has a field of the same name, the same non-empty description, or the same PII
// kind (other than none, other and the subject's own identifier: every dataset about people is
// keyed by the citizen ID, and keying is not collecting). The score is the shared fields'
// share of the new entry's fields other than that identifier, in thousandths.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gongshu/v1/catalog.pb.h"

namespace gongshu::catalog {

struct Overlap {
  uint32_t score_permille = 0;
  std::vector<std::string> shared;  // the new entry's shared fields, by name
};

// From this score on, a submission is flagged for the reviewer.
inline constexpr uint32_t kOverlapFlagPermille = 500;

Overlap overlap(const v1::DatasetEntry& entry, const v1::DatasetEntry& other);

}  // namespace gongshu::catalog
