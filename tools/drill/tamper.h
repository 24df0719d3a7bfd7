// Ways to alter an audit export (docs/audit-format.md §5: "GSAUDIT1\n" then frames of type,
// u32be length, data) the way an insider covering tracks might, for the audit-tamper drill.
// Only the documented file format is read; gongshu-audit then has to catch each alteration.
#pragma once

#include <cstdint>
#include <string>

#include "core/util/error.h"

namespace gongshu::drill {

struct Tampered {
  std::string bytes;
  uint64_t seq = 0;            // the entry altered (or the checkpoint's tree size), for locating
  std::string description;     // what was done, for the report
  std::string description_zh;  // the same in Chinese (the report is bilingual)
};

// kind: flip-entry (one byte of a middle entry), flip-checkpoint (one byte of the first
// checkpoint's note), truncate (the file cut inside its last frame), drop-entry (a middle entry
// removed whole). Fails when the export is too small for the kind (fewer than 3 entries).
[[nodiscard]] Result<Tampered> tamper(const std::string& export_bytes, const std::string& kind);

}  // namespace gongshu::drill
