// ClusterNode: gongshud's part in a cluster (docs/replication.md, the `[cluster]` section of
// gongshud.toml) — the control path around core/cluster's Leadership. Created by Daemon::start
// only when [cluster] is enabled; without it nothing here exists and nothing talks to etcd.
//
// The service loop (daemon/service.cc), the same loop that pets the systemd watchdog, calls
// tick() at least every tick_period(): so a stuck loop stops both the watchdog and the lease
// renewals, and this node stops acknowledging by arithmetic alone (Leadership::may_acknowledge).
// One tick:
//   - renews the etcd lease when due (every lease_ttl_s / 5);
//   - publishes this node's member key every second (applied position, role, endpoints);
//   - reads the cluster (every 250 ms) and, when no leader holds the key and this node may stand,
//     campaigns after the candidate delay (core/cluster/timing.h; 0 for the most advanced);
//   - notices every change of leadership: in the journal always, and on the node that wins, one
//     `cluster_leader` audit entry naming the term — written before this node takes any write
//     (may_write() is false until that entry is committed).
//
// The gate (daemon/cluster_gate.h) is what ingest and api ask. A node that does not lead refuses
// batches (BatchAck leader_ingest) and api writes (ApiError leader_api) naming the leader; the
// moment may_acknowledge() turns false the ingest net thread withholds every ack (the agents
// re-send; the store dedups by batch id).
//
// The data path. Write-set shipping (core/replication) is not part of this class: set_replication()
// takes the hooks the daemon calls on each change of role. Without hooks (as built today) each
// node keeps its own store, and a new leader holds only what was written to it: status() says
// replication "none". See docs/replication.md "As built".
//
// The synchronous set (docs/replication.md §4, Patroni's synchronous mode). While this node leads
// with a data path, each tick asks core/cluster's SyncSet which members' fsync acks count toward
// sync_count: a member that fell away (its member key gone, or stalled for sync_timeout_ms) stops
// counting at once; a member that holds every write set that may have been acknowledged is
// written to /gongshu/<cluster>/sync (Leadership::set_sync: compare-and-swap on this term) and
// counts only once that write succeeded. quorum_seq() is the ack point the ingest net thread
// asks; it is 0 (hold every ack) until sync_count counted members exist.
//
// Failover (`gongshuctl cluster failover [--to NODE] [--accept-loss]`, any node, while no leader
// exists): request_failover() checks the cluster as etcd holds it now and puts
// /gongshu/<cluster>/failover naming the target, in a transaction that requires no leader and
// the sync key it read; the target stands at its next observe (core/cluster: a failover key asked
// under the current sync key makes it eligible), the others hold back while the key lives, and
// the target's first transaction as leader writes the `cluster_failover` audit entry (term, its
// applied position, accepted loss) with its `cluster_leader` entry. A target outside the sync set
// needs accept_loss, and is refused while a member that may stand is alive.
//
// Switchover (`gongshuctl cluster switchover --to NODE`): request_switchover() (api thread)
// records the target; the next tick puts /gongshu/<cluster>/switchover = NODE on a lease of
// lease_ttl_s, then resigns (Leadership::step_down: no acks from then on, the leader key goes at
// once). Other nodes hold back while that key names someone else; NODE stands at once.
//
// Threads: tick(), resign() from the service thread; the LeaderGate methods, status() and
// request_switchover() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/cluster/leadership.h"
#include "core/cluster/sync_set.h"
#include "core/sys/logger.h"
#include "daemon/cluster_gate.h"
#include "daemon/config.h"
#include "daemon/daemon_store.h"
#include "gongshu/v1/api.pb.h"

namespace gongshu::daemon {

// The seam the data path (core/replication's Replicator: Shipper while leading, Applier while
// following) plugs into; its calls match replication::Replicator's, so the adapter is a
// forwarding shim. Called from the service thread.
class ReplicationHooks {
 public:
  virtual ~ReplicationHooks() = default;
  // This node won `term`: called BEFORE the term's first write (its cluster_leader audit entry),
  // since a replicated store takes writes only while numbering them under a term. An Error makes
  // this node resign.
  virtual Status lead(int64_t term) = 0;
  // This node follows `leader` (node, term, replication endpoint from the leader key): stop
  // shipping, apply from it, refuse any sender below its term.
  virtual Status follow(const LeaderHint& leader) = 0;
  // No leader known (an election under way), or this node lost its term: neither ship nor
  // apply; the store refuses writes.
  virtual void stop() = 0;
  // How far this node has applied the commit log (published in its member key; orders the
  // candidates of an election).
  virtual cluster::Applied applied() const = 0;
};

// How the sync-set bookkeeping reads the data path (set by the daemon with the Replicator).
struct SyncProbe {
  std::function<uint64_t(const std::string&)> synced;  // a member's fsynced seq in this term
  std::function<uint64_t()> last_seq;                  // this node's last committed seq
  std::function<void()> wake;                          // the ack path: the counted set changed
};

// What request_failover() did (the api answers it).
struct FailoverPlan {
  std::string to;
  bool accept_loss = false;  // the target is outside the sync set: write sets after `from` may
                             // be lost
  cluster::Applied from;     // the target's applied position
  cluster::Applied best;     // the most advanced applied position etcd holds (any member)
  std::vector<std::string> sync_set;
  int64_t sync_term = 0;
};

struct ClusterEndpoints {
  std::string ingest;  // as agents reach this node
  std::string api;
};

class ClusterNode final : public LeaderGate {
 public:
  // Checks the configuration and builds the etcd client; makes no etcd call (the first tick
  // does), so a daemon starts while etcd is down and simply does not lead.
  static Result<std::unique_ptr<ClusterNode>> create(const ClusterConfig& config,
                                                     ClusterEndpoints endpoints, DaemonStore& store,
                                                     const sys::Logger* log);
  ~ClusterNode() override;

  void set_replication(ReplicationHooks* hooks) { replication_ = hooks; }
  // This node's last re-seed (daemon/cluster_replication.h read_last_reseed), published with its
  // member key from the next tick on, so `gongshuctl cluster status` shows it. Service thread.
  void set_last_reseed(std::optional<cluster::ReseedRecord> reseed);
  void set_sync_probe(SyncProbe probe);
  // The semi-synchronous ack point (any thread): acks of write sets up to it may go.
  uint64_t quorum_seq();

  void tick();
  // The longest the service loop may wait between ticks.
  std::chrono::milliseconds tick_period() const { return std::chrono::milliseconds(100); }
  // Stops acknowledging at once and revokes the lease (a clean stop hands over in ms).
  void resign();

  bool may_write() const override;
  bool may_acknowledge() const override;
  LeaderHint leader() const override;

  v1::ClusterStatus status() const;
  // Refused (kFailedPrecondition / kInvalidArgument / kNotFound) unless this node leads and
  // `to` is another member that has published an applied position equal to the best.
  Status request_switchover(const std::string& to);
  // request_switchover's checks without recording the target: the api runs them inside the
  // transaction that audits the request and records the target only once that committed, so a
  // failed commit leaves no handover without its audit entry (daemon/cluster_api.cc).
  Status check_switchover(const std::string& to) const;
  // Any thread; writes nothing to this node's store. Refused, naming the reason, with
  // kAlreadyExists (a leader exists, or the cluster changed while asking), kInvalidArgument (the
  // target is outside the sync set and accept_loss is false, or a node that may stand is alive),
  // kNotFound (no live member `to`), kUnavailable (etcd). `to` empty: the most advanced live
  // member, preferring one that may stand.
  Result<FailoverPlan> request_failover(const std::string& to, bool accept_loss,
                                        const std::string& requested_by);

 private:
  ClusterNode(cluster::Leadership leadership, ClusterConfig config, DaemonStore& store,
              const sys::Logger* log);
  void note(sys::Level level, const std::string& message);
  void etcd_trouble(const Error& e);
  void etcd_ok();
  void observe_and_campaign(std::chrono::steady_clock::time_point now);
  void transitions(std::chrono::steady_clock::time_point now);
  void do_switchover();
  void maintain_sync_set(std::chrono::steady_clock::time_point now);
  v1::AuditEntry failover_entry(const cluster::FailoverValue& f, int64_t term) const;
  cluster::Applied applied() const;

  cluster::Leadership leadership_;
  ClusterConfig config_;
  DaemonStore& store_;
  const sys::Logger* log_;
  ReplicationHooks* replication_ = nullptr;
  cluster::SyncSet sync_set_;
  SyncProbe probe_;
  std::optional<cluster::FailoverView> won_failover_;  // the failover key this node won under
  std::mutex admin_mu_;                                // guards admin_ (api threads)
  std::optional<etcd::Client> admin_;                  // request_failover's own client

  std::chrono::steady_clock::time_point next_publish_{}, next_observe_{};
  std::optional<std::chrono::steady_clock::time_point> absent_since_;
  std::optional<std::chrono::steady_clock::time_point> hold_until_;  // a switchover to another
  int64_t audited_term_ = 0;    // the term whose cluster_leader entry this node wrote
  int64_t followed_term_ = -1;  // the leader term last logged as followed
  bool acking_ = false;         // last seen may_acknowledge while leading (for the journal)

  std::atomic<int64_t> accepting_term_{0};
  std::atomic<int64_t> leader_since_ns_{0};
  std::atomic<int64_t> last_deadline_ns_{0};  // the last ack deadline seen while leading

  mutable std::mutex mu;  // guards what status() and leader() read
  std::optional<cluster::ClusterView> view_;
  std::chrono::steady_clock::time_point view_at_{};
  LeaderHint hint_;
  std::string etcd_problem_;
  std::optional<std::string> switchover_to_;
};

// The gate the sockets hold from the start (they are bound before this node knows its own
// endpoints, which its etcd keys publish): until set() it says "not leader, no leader known";
// after it, it asks the ClusterNode. The node must outlive the sockets.
class ClusterSlot final : public LeaderGate {
 public:
  void set(ClusterNode* node) { node_.store(node, std::memory_order_release); }
  ClusterNode* get() const { return node_.load(std::memory_order_acquire); }
  bool may_write() const override {
    auto* n = get();
    return n && n->may_write();
  }
  bool may_acknowledge() const override {
    auto* n = get();
    return n && n->may_acknowledge();
  }
  LeaderHint leader() const override {
    auto* n = get();
    return n ? n->leader() : LeaderHint{};
  }

 private:
  std::atomic<ClusterNode*> node_{nullptr};
};

}  // namespace gongshu::daemon
