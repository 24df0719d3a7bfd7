// Replicator: one node's whole data path of the replicated mode, switched by role — what the
// daemon's cluster wiring (daemon/cluster_node.h, ReplicationHooks) drives on each change of
// leadership. It owns the Changelog (installed as the store's commit hook at create(), so from
// then on the store takes a write only while this node leads a term), a Shipper while leading
// and an Applier while following.
//
//   lead(term)         stops the applier (joined: nothing more is applied), numbers writes under
//                      `term` and starts shipping. Call it BEFORE the first write of the term —
//                      the new leader's own audit entry included — since the store refuses
//                      writes until then.
//   follow(leader, t, endpoint)
//                      stops numbering (the store refuses writes at once), stops the shipper and
//                      applies from `leader` (at `endpoint` as its leader key in etcd names it,
//                      or empty: the members' endpoint; its node key from the members), refusing
//                      any sender below term t.
//   wait_synced(seq, sync, deadline)
//                      the semi-synchronous acknowledgement: every node of the synchronous set
//                      has fsynced seq (docs/replication.md §4). The caller also asks its lease
//                      (may_acknowledge) before releasing the ack.
//   set_sync(nodes, quorum)
//                      the synchronous set; the changelog keeps what `quorum` of its members
//                      (0: all) have not acknowledged, so one member down does not hold the
//                      changelog beyond its bounds: once trimmed past it, that member re-seeds.
//                      A follower's changelog is kept within its bounds alone (it serves
//                      catch-up only once it leads).
//
// A follower whose applier stops with kNeedsReseed must be re-seeded: stop the daemon, restore a
// backup of the leader (`gongshud restore --replica`: no restore entry, so the store stays the
// leader's; the backup carries the changelog head), start again.
//
// Threads: lead/follow/stop from one thread (the service loop); wait_synced, last_seq, status
// from any thread. The Env must outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/replication/applier.h"
#include "core/replication/changelog.h"
#include "core/replication/shipper.h"

namespace gongshu::replication {

struct Member {
  crypto::PublicKey key;  // the node key of its replication channel
  std::string endpoint;   // its replication endpoint (the Shipper's, when it leads)
};

struct ReplicatorConfig {
  std::string node;                       // this node's id
  std::string bind;                       // where this node's Shipper binds while it leads
  std::map<std::string, Member> members;  // every node of the cluster, this one included
  ChangelogOptions changelog;
  std::chrono::milliseconds heartbeat{200};
  std::chrono::milliseconds hello_interval{1000};
};

struct ReplicatorStatus {
  enum class Role { kNone, kLeading, kFollowing } role = Role::kNone;
  int64_t term = 0;
  ChainHead head;      // this store's chain head
  std::string leader;  // following: whom
  std::optional<ApplierState> applier;
  std::string applier_reason;
  uint64_t refusals = 0;     // following: write sets (streams) the applier refused (Applier)
  std::string last_refusal;  // following: why the latest was refused
  // following: the latest refusal's kind (Applier::last_refusal_kind) and the write set it named
  std::string last_refusal_kind;
  uint64_t last_refused_seq = 0;
  std::string reseed_reason;  // following, kNeedsReseed: "behind" or "diverged"
  uint64_t primary_head = 0;  // following: the leader's last announced seq
  int64_t caught_up_ms = 0;   // following: Applier::caught_up_ms
  std::map<std::string, ReplicaProgress> replicas;  // leading
};

class Replicator {
 public:
  static Result<std::unique_ptr<Replicator>> create(store::Env& env, AuditProbe probe,
                                                    const crypto::IdentityKey& node_key,
                                                    ReplicatorConfig config);
  ~Replicator();  // stops both, removes the commit hook
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  Status lead(int64_t term);
  Status follow(const std::string& leader, int64_t term, const std::string& endpoint = "");
  // Neither: the store refuses writes, nothing ships or applies (an election under way).
  void stop();

  bool wait_synced(uint64_t seq, const std::vector<std::string>& sync,
                   std::chrono::steady_clock::time_point deadline);
  void set_sync(std::vector<std::string> nodes, size_t quorum = 0);
  // Non-blocking: the highest seq every node of `sync` has fsynced (0 when not leading, or one
  // has acknowledged nothing). An ack for a group committed as seq s may go once this is >= s.
  uint64_t synced_seq(const std::vector<std::string>& sync) const;
  // Called on the shipper's thread when a replica's acknowledged seq moves (see Shipper); kept
  // across changes of role. Set at start-up.
  void set_ack_listener(std::function<void()> listener);
  // The seq of the last write set this node committed (leading) or applied (following).
  uint64_t last_seq() const { return changelog_->last_seq(); }
  ChainHead head() const;
  ReplicatorStatus status() const;
  const std::string& shipper_endpoint() const;  // empty unless leading
  Changelog& changelog() { return *changelog_; }

 private:
  Replicator(store::Env& env, const crypto::IdentityKey& node_key, ReplicatorConfig config,
             std::unique_ptr<Changelog> changelog)
      : env_(env),
        node_key_(node_key),
        config_(std::move(config)),
        changelog_(std::move(changelog)) {}
  void on_commit(uint64_t seq);
  // The running shipper and applier, taken out under mu_ with the role set to none (and the
  // leader forgotten when asked); they end when the returned value does, outside the lock, since
  // ending them joins their threads.
  struct Detached {
    std::shared_ptr<Shipper> shipper;
    std::unique_ptr<Applier> applier;
  };
  Detached detach(bool forget_leader);

  store::Env& env_;
  const crypto::IdentityKey& node_key_;
  ReplicatorConfig config_;
  std::unique_ptr<Changelog> changelog_;
  mutable std::mutex mu_;             // guards the members below against status()/wait_synced()
  std::shared_ptr<Shipper> shipper_;  // shared: a waiter keeps it alive across a change of role
  std::unique_ptr<Applier> applier_;
  ReplicatorStatus::Role role_ = ReplicatorStatus::Role::kNone;
  int64_t term_ = 0;
  std::string leader_;
  std::vector<std::string> sync_;
  size_t quorum_ = 0;
  std::function<void()> ack_listener_;
  std::string empty_;
};

}  // namespace gongshu::replication
