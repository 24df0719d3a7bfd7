// ClusterReplication: gongshud's data path in the replicated mode — core/replication's
// Replicator over the daemon's store, plugged into ClusterNode::set_replication (the
// ReplicationHooks seam, daemon/cluster_node.h). Created by Daemon::start right after the store
// opens, and only when [cluster] names a node_key and members (ClusterConfig::replicated()):
// from then on the store takes a write only while this node leads a term.
//
//   lead(term)    Replicator::lead, then the start-up writes that waited for a term (the
//                 policy_change entry: on_lead), before the term's cluster_leader entry.
//   follow(h)     applies from the leader at the replication endpoint its leader key names.
//   stop()        neither ships nor applies.
//   quorum_seq()  the semi-synchronous ack point: the highest seq that sync_count replicas have
//                 fsynced (any sync_count of the other members, like PostgreSQL's ANY k); with
//                 sync_count 0 no ack waits, so ack_waits() is false.
//
// Threads: lead/follow/stop from the service thread; quorum_seq, applied from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto/identity.h"
#include "core/replication/replicator.h"
#include "core/sys/logger.h"
#include "daemon/cluster_node.h"
#include "daemon/config.h"
#include "daemon/daemon_store.h"

namespace gongshu::daemon {

class ClusterReplication final : public ReplicationHooks {
 public:
  static Result<std::unique_ptr<ClusterReplication>> create(const ClusterConfig& config,
                                                            DaemonStore& store,
                                                            const sys::Logger* log);
  ~ClusterReplication() override;

  // Run once per won term, after Replicator::lead and before the cluster_leader entry: the
  // writes a replicated node could not make at start-up (its role was unknown then).
  void set_on_lead(std::function<Status()> fn) { on_lead_ = std::move(fn); }

  Status lead(int64_t term) override;
  Status follow(const LeaderHint& leader) override;
  void stop() override;
  cluster::Applied applied() const override;

  bool ack_waits() const { return sync_count_ > 0; }
  uint64_t quorum_seq() const;
  uint64_t last_seq() const { return replicator_->last_seq(); }
  replication::Replicator& replicator() { return *replicator_; }

 private:
  ClusterReplication(crypto::IdentityKey key, uint32_t sync_count, std::vector<std::string> others)
      : key_(std::move(key)), sync_count_(sync_count), others_(std::move(others)) {}

  crypto::IdentityKey key_;  // before replicator_: it holds a reference
  uint32_t sync_count_;
  std::vector<std::string> others_;
  std::function<Status()> on_lead_;
  std::unique_ptr<replication::Replicator> replicator_;
};

}  // namespace gongshu::daemon
