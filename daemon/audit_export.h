// audit export: the audit log from from_seq to to_seq (a range the caller pinned with a
// checkpoint) as an export file (core/audit/export_file.h), staged in options.exports_dir and
// downloaded in chunks of options.export_chunk bytes. For operators and officers. The request
// for the first chunk (offset 0) makes the file and is audited (action audit_export, refs range
// and sha256: the digest of the whole export file the chunks are cut from); nothing is answered
// unless that entry committed (the staged file is removed otherwise). The file is staged per
// caller: a continuation (offset > 0) is served without an entry of its own only from the file
// the same caller's recorded request made, so every byte of an export goes to a principal whose
// audit_export entry names it, and the file the caller assembles must hash to that entry's
// sha256. A continuation with no such file (another caller, or after it was removed) stages and
// is audited anew. This caller's earlier exports are removed at its next export, anyone's after
// an hour untouched. Api thread only.
#pragma once

#include <optional>

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply audit_export(ApiContext& ctx, const Caller& c, const v1::AuditExportRequest& req,
                   v1::ApiResponse& resp);

// Review M4, M6 (docs/replication.md §11): on a replicated leader with sync_count > 0, whether
// an export's first chunk is held for the synchronous set like the other reads (true: this
// leader counts at least sync_count members now — ClusterStatus.sync_counted —, whose
// confirmation it waits for) or answered at once (false: fewer counted — alone after `cluster
// failover --accept-loss`, or sync members dead or stalled past [cluster] sync_timeout_ms, though
// etcd's key still names them —, so
// that an officer can take the log out of exactly such a leader; its entry then carries the ref
// sync_set = none). A short stall, members still counted, holds.
// nullopt: nothing is held here (single node, sync_count = 0, or a replica).
std::optional<bool> export_held_for_sync_set(const ApiContext& ctx);

}  // namespace gongshu::daemon
