#include "daemon/audit_export.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "core/audit/export_log.h"
#include "daemon/backup.h"

namespace gongshu::daemon {

Reply audit_export(ApiContext& ctx, const Caller& c, const v1::AuditExportRequest& req,
                   v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "export the audit log", {"operator", "officer"}); !r) return r;
  // The range is pinned by the caller (to_seq from a checkpoint it asked for), so the export's
  // bytes are the same for every chunk: entries and checkpoints in a closed range never change.
  uint64_t from = std::max<uint64_t>(req.from_seq(), 1);
  uint64_t to = req.to_seq();
  if (to == 0)
    return refuse(v1::API_BAD_REQUEST, "to_seq must be given (ask for a checkpoint first)");
  std::string path = ctx.options.exports_dir + "/export-" + std::to_string(from) + "-" +
                     std::to_string(to) + ".gsa";
  // Only a staged file whose access entry the leader (or this store) recorded is ever served
  // to a continuation (offset > 0): on a replica the entry is parked with the answer
  // (ctx.defer_record), so the file is staged under a name of its own and renamed into place
  // when the leader confirms, removed when it refuses or never answers.
  std::string read_from = path;
  if (req.offset() == 0 || ::access(path.c_str(), R_OK) != 0) {
    std::error_code ec;
    std::filesystem::create_directories(ctx.options.exports_dir, ec);
    for (const auto& f : std::filesystem::directory_iterator(ctx.options.exports_dir, ec)) {
      if (f.path().string() != path) std::filesystem::remove(f.path(), ec);
    }
    ::unlink(path.c_str());
    static uint64_t staged_count = 0;  // api thread only
    if (ctx.defer_record) read_from = path + ".unconfirmed-" + std::to_string(++staged_count);
    uint64_t entries = 0;
    {
      auto txn = ctx.store.env().begin_read();
      if (!txn) return tl::unexpected(from_error(txn.error()));
      if (to > ctx.store.audit().head(*txn).size)
        return refuse(v1::API_BAD_REQUEST, "to_seq is beyond the log");
      auto summary = audit::export_log(ctx.store.audit(), *txn, from, to, read_from);
      if (!summary) {
        ::unlink(read_from.c_str());
        return tl::unexpected(from_error(summary.error()));
      }
      entries = summary->entries;
    }
    auto e = entry_for(c, "audit_export");
    add_ref(e, "range", std::to_string(from) + "-" + std::to_string(to));
    e.set_record_count(entries);
    // Nothing is revealed unless its audit entry committed: without it, the staged file goes
    // too, so no later chunk request can read it either.
    if (auto s = ctx.audit(std::move(e)); !s) {
      ::unlink(read_from.c_str());
      return tl::unexpected(from_error(s.error()));
    }
    if (read_from != path) {
      ctx.settle.push_back([staged = read_from, path](bool recorded) {
        // A later export may have removed the staged file meanwhile: then nothing is renamed.
        if (!recorded || ::rename(staged.c_str(), path.c_str()) != 0) ::unlink(staged.c_str());
      });
    }
  }
  auto chunk = read_file_chunk(read_from, req.offset(), ctx.options.export_chunk);
  if (!chunk) return tl::unexpected(from_error(chunk.error()));
  auto* out = resp.mutable_audit_export();
  out->set_data(chunk->data.data(), chunk->data.size());
  out->set_last(chunk->last);
  out->set_total_entries(to - from + 1);
  return {};
}

}  // namespace gongshu::daemon
