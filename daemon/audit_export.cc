#include "daemon/audit_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/audit/export_log.h"
#include "core/crypto/sha256.h"
#include "core/util/encoding.h"
#include "daemon/backup.h"
#include "daemon/cluster_node.h"
#include "daemon/read_on_replica.h"

namespace gongshu::daemon {
namespace {

// A staged export nobody asked a chunk of for this long is removed by the next export.
constexpr auto kAbandoned = std::chrono::hours(1);

// The SHA-256 of a staged file, read in chunks.
Result<std::string> file_sha256(const std::string& path) {
  crypto::Sha256 h;
  uint64_t at = 0;
  for (;;) {
    GONGSHU_TRY(FileChunk chunk, read_file_chunk(path, at, size_t{1} << 20));
    h.update(ByteView(chunk.data));
    at += chunk.data.size();
    if (chunk.last || chunk.data.empty()) break;
  }
  const crypto::Digest d = h.finish();
  return hex_encode(ByteView(d.data(), d.size()));
}

}  // namespace

std::optional<bool> export_held_for_sync_set(const ApiContext& ctx) {
  if (ctx.on_replica || !ctx.options.repl_synced_seq || !ctx.options.repl_thread_seq)
    return std::nullopt;
  const ClusterNode* node = ctx.options.cluster ? ctx.options.cluster->get() : nullptr;
  if (!node) return false;
  // Review M6: on the members counted NOW, not on the set named in etcd. A member stops being
  // counted once it falls away (its member key gone, or behind the commits for sync_timeout_ms),
  // while the etcd key keeps naming it until a replacement is written: with every sync member
  // dead, deciding on the key held (and refused) every export, on the leader and on replicas.
  // Counted members exist only once a set naming them was written in this term (SyncSet). Held
  // only while the counted members can confirm it: with sync_count 2 and one member left, the
  // set cannot, and holding would refuse every export again (review x, M6 residue).
  const v1::ClusterStatus s = node->status();
  return s.this_node_leads() && s.sync_counted_size() > 0 &&
         uint32_t(s.sync_counted_size()) >= std::max<uint32_t>(s.sync_count(), 1);
}

Reply audit_export(ApiContext& ctx, const Caller& c, const v1::AuditExportRequest& req,
                   v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "export the audit log", {"operator", "officer"}); !r) return r;
  // The range is pinned by the caller (to_seq from a checkpoint it asked for), so the export's
  // bytes are the same for every chunk: entries and checkpoints in a closed range never change.
  uint64_t from = std::max<uint64_t>(req.from_seq(), 1);
  uint64_t to = req.to_seq();
  if (to == 0)
    return refuse(v1::API_BAD_REQUEST, "to_seq must be given (ask for a checkpoint first)");
  // Staged per caller: a continuation (offset > 0) is served only from the file whose first
  // request this caller made and the log recorded (its audit_export entry names the caller, the
  // range and the file's SHA-256, which the caller's downloaded file must match). Another
  // caller's continuation stages its own, audited under its own name.
  const std::string mine = "-" + c.key_id + ".gsa";
  std::string path =
      ctx.options.exports_dir + "/export-" + std::to_string(from) + "-" + std::to_string(to) + mine;
  // Only a staged file whose access entry the leader (or this store) recorded is ever served
  // to a continuation: on a replica the entry is parked with the answer (ctx.defer_record), so
  // the file is staged under a name of its own and renamed into place when the leader confirms,
  // removed when it refuses or never answers.
  std::string read_from = path;
  if (req.offset() == 0 || ::access(path.c_str(), R_OK) != 0) {
    std::error_code ec;
    std::filesystem::create_directories(ctx.options.exports_dir, ec);
    // This caller's earlier exports go; another caller's only once abandoned.
    const auto now = std::filesystem::file_time_type::clock::now();
    for (const auto& f : std::filesystem::directory_iterator(ctx.options.exports_dir, ec)) {
      if (f.path().string() == path) continue;
      std::error_code tec;
      const auto written = std::filesystem::last_write_time(f.path(), tec);
      if (f.path().filename().string().find(mine) != std::string::npos ||
          (!tec && now - written > kAbandoned))
        std::filesystem::remove(f.path(), ec);
    }
    ::unlink(path.c_str());
    static uint64_t staged_count = 0;  // api thread only
    // Review M4: on a leader with a synchronous set the answer is held like any read's (api.cc),
    // so the file is staged aside as on a replica and made servable only once it is sent.
    const std::optional<bool> held = export_held_for_sync_set(ctx);
    if (ctx.defer_record || held.value_or(false))
      read_from = path + ".unconfirmed-" + std::to_string(++staged_count);
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
    auto digest = file_sha256(read_from);
    if (!digest) {
      ::unlink(read_from.c_str());
      return tl::unexpected(from_error(digest.error()));
    }
    auto e = entry_for(c, "audit_export");
    add_ref(e, "range", std::to_string(from) + "-" + std::to_string(to));
    add_ref(e, "sha256", *digest);
    e.set_record_count(entries);
    // A replicated leader whose synchronous set counts no member now (alone after `cluster
    // failover --accept-loss`, or its sync members dead or stalled past sync_timeout_ms) answers
    // at once: the entry says no set confirmed it.
    if (held && !*held) add_ref(e, "sync_set", "none");
    // Nothing is revealed unless its audit entry committed: without it, the staged file goes
    // too, so no later chunk request can read it either. On the leader e keeps its seq, so that
    // a withheld answer can name it.
    if (auto s = ctx.audit_in_place(e); !s) {
      ::unlink(read_from.c_str());
      return tl::unexpected(from_error(s.error()));
    }
    if (read_from != path) {
      // Run by api.cc: on a replica once the leader decided (recorded or not); on a leader once
      // the held answer is sent (true) or withheld (false; the log says so, on_withheld).
      ctx.settle.push_back([staged = read_from, path](bool recorded) {
        // A later export may have removed the staged file meanwhile: then nothing is renamed.
        if (!recorded || ::rename(staged.c_str(), path.c_str()) != 0) ::unlink(staged.c_str());
      });
      if (held.value_or(false)) ctx.settle.push_back(on_withheld(ctx, {e}, {}));
    }
  } else if (ctx.on_replica) {
    // Review H1: a continuation on a replica is a read like the first chunk: its own entry
    // (audit_export_chunk: the range and offset, no rows counted again), which the leader
    // re-checks against its directory (read_on_replica.cc stale_grant: a principal it revoked
    // gets nothing more) and records before the chunk leaves (parked, ctx.defer_record). On the
    // leader the directory checked by require() is the leader's own: nothing more is needed.
    auto e = entry_for(c, "audit_export_chunk");
    e.set_decision(v1::DECISION_ALLOW);
    add_ref(e, "range", std::to_string(from) + "-" + std::to_string(to));
    add_ref(e, "offset", std::to_string(req.offset()));
    if (auto s = ctx.audit(std::move(e)); !s) return tl::unexpected(from_error(s.error()));
  }
  auto chunk = read_file_chunk(read_from, req.offset(), ctx.options.export_chunk);
  if (!chunk) return tl::unexpected(from_error(chunk.error()));
  // "Abandoned" counts from the last chunk asked for, not from staging: a download that takes
  // longer than kAbandoned is not removed under its caller by another officer's export (review
  // L2), which would re-stage it and record a second export for the same download.
  if (read_from == path) ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  auto* out = resp.mutable_audit_export();
  out->set_data(chunk->data.data(), chunk->data.size());
  out->set_last(chunk->last);
  out->set_total_entries(to - from + 1);
  return {};
}

}  // namespace gongshu::daemon
