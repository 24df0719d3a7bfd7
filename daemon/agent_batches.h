// Re-enrollment after a leaked agent key (issue 14, docs/protocol.md "Re-enrollment"): an
// agency whose agent key K1 was revoked as compromised while batches were in flight enrolls a
// new key K2 with a new token; its spool still holds the batches signed with K1 that were not
// acknowledged. Some of them the daemon stored (their acks were lost with the revocation), the
// others it never will. agent_batches_stored tells them apart, so the agent drops the stored
// ones as acknowledged and re-seals only the others under K2: nothing lost, nothing stored twice.
//
//   agent_batches_stored  an enrolled agent (K2), about an agent key of its own agency (K1)
//                         that is revoked — so no batch under it can be stored any more and
//                         the answer is final (ingest refuses a revoked key's batches at
//                         commit, in the transaction that would store them). Each stored
//                         batch asked about is answered as a re-send would be: its stored
//                         receipt, statuses and accepted count, duplicate = true; the rest
//                         are listed as not stored. The answer reveals what K1 delivered, to
//                         the agency that delivered it: audited as agent_batches_reconcile
//                         (the old key, how many asked, stored, not stored) in the read's own
//                         write transaction. A refusal (another agency's key, a key not
//                         revoked, too many numbers) is audited as a denial, summarised per
//                         caller.
//
// Api thread only (daemon/api_context.h).
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

inline constexpr size_t kMaxReconciledBatches = 100'000;

Reply agent_batches_stored(ApiContext& ctx, const Caller& c,
                           const v1::AgentBatchesStoredRequest& req, v1::ApiResponse& resp);

}  // namespace gongshu::daemon
