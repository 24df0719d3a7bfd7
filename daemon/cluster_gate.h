// LeaderGate: what the ingest and api sockets ask in the replicated mode (docs/replication.md,
// daemon/cluster_node.h) before they take a write or release an acknowledgement. Without a
// [cluster] section there is no gate (a null pointer) and nothing changes.
//
//   may_write()        this node leads, the term is audited, and its etcd lease is fresh enough
//                      to acknowledge: take batches and api writes
//   may_acknowledge()  this node still holds its term and is inside its acknowledgement window
//                      (core/cluster/leadership.h): asked again just before every ack is sent, so
//                      an ack is never released once the lease could have expired in etcd
//   leader()           who leads as last observed, for the "not leader; leader is <endpoint>"
//                      answers (empty while an election is under way)
//
// Threads: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace gongshu::daemon {

struct LeaderHint {
  std::string node;  // empty: no leader known
  int64_t term = 0;
  std::string ingest;
  std::string api;
  std::string replication;  // its replication endpoint ("" when it publishes none)
};

class LeaderGate {
 public:
  virtual ~LeaderGate() = default;
  virtual bool may_write() const = 0;
  virtual bool may_acknowledge() const = 0;
  virtual LeaderHint leader() const = 0;
};

// The machine-readable refusal text of a node that does not lead ("not leader; leader is
// <endpoint>", or "not leader; no leader elected yet").
inline std::string not_leader_text(const std::string& endpoint) {
  return endpoint.empty() ? std::string("not leader; no leader elected yet")
                          : "not leader; leader is " + endpoint;
}

}  // namespace gongshu::daemon
