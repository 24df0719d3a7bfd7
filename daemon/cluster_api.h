// The api handlers of the replicated mode (docs/replication.md): `cluster status` (operators and
// officers; any node answers, from what it last read in etcd), `cluster switchover` (operators;
// the leader only, audited as cluster_switchover) and `cluster failover` (operators; any node,
// while no leader exists; it writes only etcd, and the promoted node audits it as
// cluster_failover in its first transaction as leader). On a daemon without [cluster] each
// answers API_NOT_FOUND.
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply cluster_status(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp);
Reply cluster_switchover(ApiContext& ctx, const Caller& c, const v1::ClusterSwitchoverRequest& req,
                         v1::ApiResponse& resp);
Reply cluster_failover(ApiContext& ctx, const Caller& c, const v1::ClusterFailoverRequest& req,
                       v1::ApiResponse& resp);

}  // namespace gongshu::daemon
