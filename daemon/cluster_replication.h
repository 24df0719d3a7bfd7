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
//                 sync_count 0 no ack waits, so ack_waits() is false. The leader's changelog
//                 keeps what that quorum has not acknowledged (and its bounds,
//                 changelog_max_entries / changelog_max_mb): a member further behind re-seeds.
//
// Re-seeding, automatic (docs/replication.md §6). When the leader cannot stream to this node —
// its next write set was trimmed ("behind"), or its chain is not a prefix of the leader's
// ("diverged": a deposed primary's unshipped tail) — the applier stops with kNeedsReseed. A
// watcher thread then, with [cluster] reseed_key (an operator key), downloads a backup of the
// leader over its api (the `backup` request, audited on the leader) into
// <state_dir>/reseed/backup.gsb, checks its header is signed by the cluster's daemon key and
// says so in the journal (GONGSHU_EVENT=replica_reseed_staged); reseed_staged() then turns true
// and the service loop stops the daemon, calls restore_staged_reseed() (gongshud restore
// --replica: the whole audit log verified, no restore entry) and starts it again on the same
// ports (daemon/service.cc). Without reseed_key the journal says to do it by hand.
//
// Threads: lead/follow/stop from the service thread; quorum_seq, applied, reseed_staged from
// any thread; the watcher is a thread of its own (joined by the destructor).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/cluster/values.h"
#include "core/crypto/identity.h"
#include "core/replication/replicator.h"
#include "core/sys/logger.h"
#include "daemon/cluster_node.h"
#include "daemon/config.h"
#include "daemon/daemon_store.h"

namespace gongshu::daemon {

// Where a re-seed stages the leader's backup (under the state directory).
std::string reseed_backup_path(const std::string& state_dir);

// The record of this node's last re-seed, <state_dir>/reseed/last: written when a staged backup
// restored (when, why, the applied position given up), published with the member key
// (ClusterNode::set_last_reseed) and shown by `gongshuctl cluster status`. nullopt: none.
std::string last_reseed_path(const std::string& state_dir);
Result<std::optional<cluster::ReseedRecord>> read_last_reseed(const std::string& state_dir);
// The text form of that file (and of the note staged beside a backup): "key value" lines.
std::string encode_reseed_record(const cluster::ReseedRecord& r);
Result<cluster::ReseedRecord> decode_reseed_record(std::string_view text);

// At start, with the store closed: restores a backup a re-seed staged in config.state_dir
// (restore --replica --force: verified whole, no restore entry) and removes it. Only over the
// store it was staged for: the note beside it names the applied head given up (term, seq, hash);
// a store with another head (it moved on, or holds another history) is not rolled back, and a
// backup restored before (the note names the restored head) is not restored again — removed,
// false. False as well when none was staged; an Error when one was and did not restore (it is
// removed: the next re-seed fetches a fresh one; the old store stays).
Result<bool> restore_staged_reseed(const DaemonConfig& config, const sys::Logger& log);

struct ReseedOptions {
  std::string state_dir;
  std::string operator_key;      // [cluster] reseed_key; empty: re-seed by hand
  crypto::PublicKey daemon_key;  // the cluster's daemon key: the leader's api and the backup
};

class ClusterReplication final : public ReplicationHooks {
 public:
  static Result<std::unique_ptr<ClusterReplication>> create(const ClusterConfig& config,
                                                            DaemonStore& store,
                                                            const sys::Logger* log);
  ~ClusterReplication() override;

  // Run once per won term, after Replicator::lead and before the cluster_leader entry: the
  // writes a replicated node could not make at start-up (its role was unknown then).
  void set_on_lead(std::function<Status()> fn) { on_lead_ = std::move(fn); }

  // Starts the re-seed watcher (once, after create).
  void set_reseed(ReseedOptions options);
  // A verified download of the leader's backup waits to be restored: restart to re-seed.
  bool reseed_staged() const { return staged_.load(); }

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

  void watch();
  Status fetch_backup(const std::string& api, const std::string& path);
  const sys::Logger* log_ = nullptr;
  ReseedOptions reseed_;
  std::mutex mu_;  // guards leader_api_, stopping_ (with cv_)
  std::condition_variable cv_;
  std::string leader_api_;  // the api endpoint of the leader this node follows
  bool stopping_ = false;
  std::atomic<bool> staged_{false};
  std::thread watcher_;
};

}  // namespace gongshu::daemon
