#include "daemon/cluster_replication.h"

#include <algorithm>

#include "core/crypto/key_file.h"

namespace gongshu::daemon {

Result<std::unique_ptr<ClusterReplication>> ClusterReplication::create(const ClusterConfig& config,
                                                                       DaemonStore& store,
                                                                       const sys::Logger* log) {
  (void)log;
  GONGSHU_TRY(crypto::KeyFile kf, with_context(crypto::load_key_file(config.node_key),
                                               "cluster.node_key " + config.node_key));
  replication::ReplicatorConfig rc;
  rc.node = config.node;
  rc.bind = config.replication_endpoint;
  std::vector<std::string> others;
  for (const auto& [id, m] : config.members) {
    GONGSHU_TRY(crypto::PublicKey pk,
                with_context(crypto::PublicKey::from_hex(m.key), "cluster.members." + id));
    rc.members[id] =
        replication::Member{pk, id == config.node ? config.replication_endpoint : m.replication};
    if (id != config.node) others.push_back(id);
  }
  if (rc.members.at(config.node).key.hex() != kf.key.public_key().hex())
    return fail(ErrorCode::kInvalidArgument, "cluster.members." + config.node +
                                                 " is not the public key of cluster.node_key " +
                                                 config.node_key);
  std::unique_ptr<ClusterReplication> r(
      new ClusterReplication(std::move(kf.key), config.sync_count, others));
  audit::AuditLog* audit = &store.audit();
  replication::AuditProbe probe =
      [audit](const store::Txn& txn) -> Result<replication::AuditState> {
    auto h = audit->head(txn);
    return replication::AuditState{h.size, h.root};
  };
  GONGSHU_TRY(r->replicator_,
              replication::Replicator::create(store.env(), std::move(probe), r->key_, rc));
  // The changelog keeps what the slowest other member has not acknowledged.
  r->replicator_->set_sync(others);
  return r;
}

ClusterReplication::~ClusterReplication() { replicator_.reset(); }

Status ClusterReplication::lead(int64_t term) {
  GONGSHU_RETURN_IF_ERROR(replicator_->lead(term));
  if (on_lead_) {
    if (auto s = on_lead_(); !s) {
      replicator_->stop();
      return s;
    }
  }
  return {};
}

Status ClusterReplication::follow(const LeaderHint& leader) {
  return replicator_->follow(leader.node, leader.term, leader.replication);
}

void ClusterReplication::stop() { replicator_->stop(); }

cluster::Applied ClusterReplication::applied() const {
  auto h = replicator_->head();
  return cluster::Applied{h.seq, h.term};
}

uint64_t ClusterReplication::quorum_seq() const {
  if (sync_count_ == 0) return UINT64_MAX;
  if (others_.size() < sync_count_) return 0;
  std::vector<uint64_t> each;
  for (const std::string& m : others_) each.push_back(replicator_->synced_seq({m}));
  std::sort(each.begin(), each.end(), std::greater<>());
  return each[sync_count_ - 1];
}

}  // namespace gongshu::daemon
