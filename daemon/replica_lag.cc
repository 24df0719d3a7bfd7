#include "daemon/replica_lag.h"

#include <algorithm>

namespace gongshu::daemon {

std::optional<v1::ReplicaLag> replica_lag_of(const replication::ReplicatorStatus& st,
                                             const std::string& node, int64_t now_ms) {
  using Role = replication::ReplicatorStatus::Role;
  if (st.role == Role::kLeading) return std::nullopt;
  v1::ReplicaLag lag;
  lag.set_node(node);
  lag.set_applied_seq(st.head.seq);
  lag.set_behind_ms(-1);
  if (st.role == Role::kNone || !st.applier) {
    lag.set_state("no leader");
    return lag;
  }
  lag.set_leader(st.leader);
  lag.set_leader_seq(st.primary_head);
  lag.set_behind_seq(st.primary_head > st.head.seq ? st.primary_head - st.head.seq : 0);
  if (st.caught_up_ms > 0) lag.set_behind_ms(std::max<int64_t>(0, now_ms - st.caught_up_ms));
  switch (*st.applier) {
    case replication::ApplierState::kFollowing:
      lag.set_state("following");
      break;
    case replication::ApplierState::kRefused:
      lag.set_state("refused: " + st.applier_reason);
      break;
    case replication::ApplierState::kNeedsReseed:
      lag.set_state("needs reseed: " + st.applier_reason);
      break;
    case replication::ApplierState::kFailed:
      lag.set_state("failed: " + st.applier_reason);
      break;
  }
  return lag;
}

}  // namespace gongshu::daemon
