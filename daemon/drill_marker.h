// Drill markers (issue 14, R-25): gongshu-drill records the start and the end of an emergency
// drill in the audit log of the platform it drills, as actions drill_started and
// drill_finished naming the scenario, the drill run's report id and the target. The faults a
// drill injects (a killed daemon, a revoked key, a refused policy) leave their own entries
// between the two, so officers reading the log can tell a rehearsal from a real incident.
//
// Operators and officers only; anyone else is refused and the refusal audited. The marker is
// the change itself: it is appended in a write transaction of its own and its sequence number
// answered. Api thread only.
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply drill_mark(ApiContext& ctx, const Caller& c, const v1::DrillMarkRequest& req,
                 v1::ApiResponse& resp);

}  // namespace gongshu::daemon
