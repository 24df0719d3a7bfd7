// Record validation against a dataset's schema (R-08 .. ). The agent runs it before a
// record is spooled and the daemon runs it again on every record it receives: the daemon never
// trusts the agent. A verdict is a value (a bad record is a normal outcome), carrying the
// status code the agent receives, the offending field and a reason a person can act on.
// Pure and thread-safe.
#pragma once

#include <string>

#include "core/catalog/dataset.h"
#include "core/catalog/record_view.h"
#include "core/util/clock.h"
#include "gongshu/v1/batch.pb.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::catalog {

inline constexpr size_t kMaxRecordKey = 256;
static_assert(kMaxRecordKey == kMaxReferenceBytes, "a reference's form is a record key's");
inline constexpr size_t kMaxTextField = 16 * 1024;
inline constexpr int kMaxFields = 256;

struct [[nodiscard]] Verdict {
  v1::RecordStatusCode code = v1::RECORD_STATUS_ACCEPTED;
  std::string field;
  std::string reason;
  // When accepted: the subject identifier in its canonical form (core/ids), which the subject
  // index is keyed on — the dataset's subject, or, for a dataset without a subject kind, a
  // subject_id that is a valid identifier of either kind. Empty otherwise.
  std::string subject;
  static Verdict refusal(v1::RecordStatusCode code, std::string field, std::string reason) {
    Verdict v;
    v.code = code;
    v.field = std::move(field);
    v.reason = std::move(reason);
    return v;
  }
  bool ok() const { return code == v1::RECORD_STATUS_ACCEPTED; }
};

// Checks record against schema: dataset id, record key, operation, every field known, typed as
// the catalog says, required fields present, identifiers valid (GB 11643 / GB 32100), biometric
// fields only with a legal basis, the subject identifier valid for the subject kind, and each
// field's quality rules kept (RECORD_STATUS_QUALITY, the reason naming record, field and rule).
Verdict validate_record(const DatasetSchema& schema, const v1::Record& record, const Clock& clock);
// Which of a schema's first kFieldMaskBits fields a record gives a non-empty value (text and
// blob not empty; any other value present): the daemon counts them per delivery for field
// completeness (daemon/delivery_stats.h). Fields past the first kFieldMaskBits are not counted.
struct FieldMask {
  static constexpr size_t kBits = 256;
  uint64_t words[kBits / 64] = {};
  void set(size_t i) {
    if (i < kBits) words[i / 64] |= uint64_t{1} << (i % 64);
  }
  bool test(size_t i) const { return i < kBits && (words[i / 64] >> (i % 64)) & 1; }
};

// The same on a record read in place (core/catalog/record_view.h), as the daemon reads them;
// when `present` is given, also marks the fields given a non-empty value (valid only when the
// verdict is ok).
Verdict validate_record(const DatasetSchema& schema, const RecordView& record, const Clock& clock,
                        FieldMask* present = nullptr);

// Agent side, before signing: fills a missing subject id from the record's one identifier field
// of the subject's kind, and rewrites identifier fields and the subject id to their normal form
// (full-width digits, lowercase x, spaces), so the daemon sees canonical identifiers.
void normalize_record(const DatasetSchema& schema, v1::Record& record, const Clock& clock);

}  // namespace gongshu::catalog
