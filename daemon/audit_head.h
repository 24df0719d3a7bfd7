// The audit log's head as the api socket shows it (DESIGN §7, docs/audit-format.md): the latest
// signed checkpoint, or a new one on demand. A verifier pins an export's range with it
// (daemon/audit_export.h).
//
//   audit_head        operator, officer, agent: the latest checkpoint note (API_NOT_FOUND before
//                     the first). Writes nothing.
//   audit_checkpoint  operator, officer: appends an audit_checkpoint entry naming the caller and
//                     signs a checkpoint covering it, in one transaction; answers that note.
//
// A caller of another role is refused with API_DENIED, audited as a role denial
// (ApiContext::require). Api thread only (daemon/api_context.h).
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply audit_head(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp);
Reply audit_checkpoint(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp);

}  // namespace gongshu::daemon
