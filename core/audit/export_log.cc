#include "core/audit/export_log.h"

#include "core/audit/export_file.h"
#include "core/audit/log.h"
#include "core/store/txn.h"

namespace gongshu::audit {

Result<ExportSummary> export_log(const AuditLog& log, const store::Txn& txn, uint64_t from,
                                 uint64_t to, const std::string& path,
                                 const std::function<void(uint64_t, uint64_t)>& progress) {
  uint64_t size = log.head(txn).size;
  if (from == 0) from = 1;
  if (to == 0) {
    // By default the export ends at the latest checkpoint, so every exported entry is covered by
    // a signature; entries after it would be chained but unsigned.
    auto cps = log.checkpoint_sizes(txn, from, size);
    to = cps.empty() ? size : cps.back();
  }
  if (to > size) to = size;
  if (from > to) {
    return fail(ErrorCode::kInvalidArgument, "export range " + std::to_string(from) + ".." +
                                                 std::to_string(to) + " is empty (log has " +
                                                 std::to_string(size) + " entries)");
  }
  GONGSHU_TRY(ExportWriter w, ExportWriter::create(path));
  std::vector<uint64_t> cps = log.checkpoint_sizes(txn, from, to);
  size_t next_cp = 0;
  ExportSummary s;
  s.first_seq = from;
  s.last_seq = to;
  for (uint64_t seq = from; seq <= to; ++seq) {
    auto e = log.entry(txn, seq);
    if (!e)
      return fail(ErrorCode::kCorrupt,
                  "audit entry " + std::to_string(seq) + " missing from the store");
    GONGSHU_RETURN_IF_ERROR(w.write_frame(FrameType::kEntry, *e));
    ++s.entries;
    if (next_cp < cps.size() && cps[next_cp] == seq) {
      auto note = log.checkpoint_at(txn, seq);
      GONGSHU_RETURN_IF_ERROR(w.write_frame(FrameType::kCheckpoint, as_bytes(*note)));
      ++s.checkpoints;
      ++next_cp;
    }
    if (progress && (s.entries % 65536 == 0 || seq == to)) progress(s.entries, to - from + 1);
  }
  GONGSHU_RETURN_IF_ERROR(w.finish());
  return s;
}

}  // namespace gongshu::audit
