// export_log: writes the audit export file (core/audit/export_file.h) from the store-backed log.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/audit/log.h"
#include "core/store/txn.h"
#include "core/util/error.h"

namespace gongshu::audit {

struct ExportSummary {
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t entries = 0;
  uint64_t checkpoints = 0;
};

// Writes entries [from, to] (to = 0: up to the latest checkpoint, or the end if there is none) seen
// by txn — a consistent snapshot, so the daemon may keep appending — with the checkpoints inside
// that range. progress(done, total) is called every few thousand entries.
Result<ExportSummary> export_log(const AuditLog& log, const store::Txn& txn, uint64_t from,
                                 uint64_t to, const std::string& path,
                                 const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace gongshu::audit
