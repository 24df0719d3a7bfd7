// record provenance (DESIGN §7): every stored version of one record, each re-verified from
// scratch — decrypted, hashed, and checked against the batch header its agent signed, with the
// agent's key. For operators and officers; the check is audited, and nothing is answered unless
// its audit entry committed. Api thread only (daemon/api_context.h).
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply provenance(ApiContext& ctx, const Caller& c, const v1::RecordProvenanceRequest& req,
                 v1::ApiResponse& resp);

}  // namespace gongshu::daemon
