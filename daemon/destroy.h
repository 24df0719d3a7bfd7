// Destruction of a dataset (R-23 销毁; `gongshuctl dataset destroy`): crypto-shredding under dual
// control. The dataset's data key is destroyed, so every stored version becomes unreadable —
// backups taken before included, since the key's share lives only in the keyring directory,
// never in a backup (daemon/daemon_store.h).
//
//   request  an operator asks, with a reason: state pending until kConfirmWindowMs later.
//            Audited as dataset_destroy_requested (refs {key, <key id>}, record_count = the
//            versions that would become unreadable).
//   confirm  a different operator, or an officer, confirms before the request expires: in one
//            transaction the wrapped key is cleared, the dataset's state records who and when,
//            the request becomes destroyed, and dataset_destroyed is audited (refs {key, <key
//            id>}, record_count = versions made unreadable); after the commit the share file is
//            deleted. The requester cannot confirm its own request; an expired one cannot be
//            confirmed (it is recorded as expired).
//   cancel   the requester or another operator withdraws a pending request (audited).
//   status   anyone who may read the catalog's state (operators, officers): the request.
//
// Reads of a destroyed dataset are answered with when, which key and by whose decision
// (DaemonStore::data_key). The table: destructions, dataset id -> v1::DatasetDestruction.
// Api thread only.
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

inline constexpr int64_t kConfirmWindowMs = 24 * 3'600'000;

Reply dataset_destroy(ApiContext& ctx, const Caller& c, const v1::DatasetDestroyRequest& req,
                      v1::ApiResponse& resp);
Reply dataset_destroy_status(ApiContext& ctx, const Caller& c,
                             const v1::DatasetDestroyStatusRequest& req, v1::ApiResponse& resp);

}  // namespace gongshu::daemon
