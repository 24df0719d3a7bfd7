// How far behind the leader a replica's answers are (docs/replication.md §6, "Reads scale out"):
// every answer a node that does not lead gives carries a v1::ReplicaLag (ApiResponse field 180),
// built here from its Replicator's status. The leader's answers carry none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/replication/replicator.h"
#include "gongshu/v1/api.pb.h"

namespace gongshu::daemon {

// nullopt when st says this node leads. now_ms: this node's wall clock (the leader stamps its
// stream messages with its own; clocks kept by NTP differ by far less than the lag that matters).
std::optional<v1::ReplicaLag> replica_lag_of(const replication::ReplicatorStatus& st,
                                             const std::string& node, int64_t now_ms);

}  // namespace gongshu::daemon
