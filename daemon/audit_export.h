// audit export: the audit log from from_seq to to_seq (a range the caller pinned with a
// checkpoint) as an export file (core/audit/export_file.h), staged in options.exports_dir and
// downloaded in chunks of options.export_chunk bytes. For operators and officers. The request
// for the first chunk (offset 0) makes the file and is audited; nothing is answered unless that
// entry committed (the staged file is removed otherwise). Api thread only.
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply audit_export(ApiContext& ctx, const Caller& c, const v1::AuditExportRequest& req,
                   v1::ApiResponse& resp);

}  // namespace gongshu::daemon
