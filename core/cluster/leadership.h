// Leadership: one node's part in electing and holding the primary of a gongshu cluster through
// etcd (docs/replication.md §2, §5) — the Patroni way. It owns an etcd::Client and the node's
// etcd lease; it has no thread of its own: the caller's service loop (the one that pets the
// systemd watchdog) calls renew() whenever renew_due(), publish_member() about every second,
// observe() to follow the cluster, and campaign() when observe() shows no leader and the
// candidate delay (timing.h) has passed.
//
// One lease per node. The node's member key and, while it leads, the leader key are attached to
// the same lease, so one keepalive every ttl/5 keeps both, and a node whose loop hangs loses both.
// The lease is granted on first need (publish_member or campaign) and again after it was lost.
//
// Holding leadership. campaign() wins in one etcd transaction:
//   leader absent ∧ sync.mod_revision = the one read ∧ no rival is ahead of me
//     →  put leader = {node, endpoints} on my lease,
// having checked in the view it stands on that it may stand (ClusterView::may_stand: a member or
// the writer of that sync set, anyone before the first one or under sync_count 0, or the target
// of a failover key). "No rival is ahead": for each rival (ClusterView::rivals — the other
// eligible nodes) its applied/<node> key is at most mine (value < mine + "~": the fixed-width
// encoding orders as (term, seq)) or absent if it was absent in the view; when every node is a
// rival, also no applied key created after the view. Under a failover key for me: that key's
// mod_revision unchanged instead (the operator chose; no rival check).
// The term is the leader key's create_revision (the transaction's revision): etcd assigns it,
// terms only grow, and no two leaders share one.
//
// may_acknowledge(now) is the one question an acknowledging path asks: this node holds a term
// (as far as it knows) and now < t0 + ttl − margin, t0 being the monotonic instant the last
// successful keepalive (or the grant) was SENT (timing.h argues why no other node can win before
// that instant). It turns false by arithmetic alone — without any I/O — when renewals stop
// succeeding, and at once when this node learns it lost the term (renew() finds the lease gone,
// observe() shows another leader or none, set_sync() is refused, step_down()).
//
// Values and errors, as in core/etcd: losing an election, a sync write refused for an old term,
// a lease found expired are values (the outcome enums). An Error means etcd could not be asked
// (or refused the request); the state is then unchanged, except that a campaign whose
// transaction may have been applied is read back, so its outcome is known whenever etcd answers.
//
// Threads: may_acknowledge(), ack_deadline() and term() may be called from any thread (they read
// atomics); every other call from one thread at a time. The MonoClock must outlive the object.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cluster/mono_clock.h"
#include "core/cluster/timing.h"
#include "core/cluster/values.h"
#include "core/etcd/client.h"

namespace gongshu::cluster {

struct Config {
  std::string cluster;  // keys under /gongshu/<cluster>/
  std::string node;     // this node's id
  Endpoints endpoints;  // published in the member key and, when leading, the leader key
  LeaseTiming timing;
};

struct [[nodiscard]] CampaignOutcome {
  enum class Kind {
    kWon,           // this node leads in `term`
    kLeaderExists,  // another leader holds the key (leader says who; it may be this node's old
                    // term when its lease is still alive in etcd)
    kNotEligible,   // a sync set exists and this node is not in it (sync says which)
    kSyncChanged,   // the sync key (or a rival's applied key) changed since it was read:
                    // observe again
    kBehind,        // a rival is ahead of this node's published applied position (sync says
                    // nothing new; rival names it)
  };
  Kind kind = Kind::kLeaderExists;
  int64_t term = 0;  // kWon
  std::optional<LeaderView> leader;
  std::optional<SyncView> sync;
  std::string rival;  // kBehind
};

enum class [[nodiscard]] RenewOutcome{
    kRenewed,    // t0 moved to this call's send time
    kLeaseLost,  // etcd says the lease expired or was revoked: leadership (if any) is gone
    kNoLease,    // nothing to renew (not granted yet, or given up)
};

struct [[nodiscard]] SyncOutcome {
  enum class Kind {
    kWritten,    // sync = {term, members}, at mod_revision
    kNotLeader,  // refused: the leader key's create_revision is not this node's term (or it
                 // holds none); this node has stopped acknowledging
  };
  Kind kind = Kind::kNotLeader;
  int64_t mod_revision = 0;
  std::optional<LeaderView> leader;  // kNotLeader: the leader etcd holds, if any
};

class Leadership {
 public:
  // Checks config (names, timing) and that renew_interval + the client's request_timeout is
  // below ttl − margin: a renewal lost to an etcd election (1–2.6 s measured) costs at most the
  // client's budget, and the next renewal still lands inside the acknowledgement window
  // (defaults: 1 s + 2 s < 4 s; measured in tests/core/cluster: killing etcd's raft leader
  // widened the gap between successful renewals to 2.5 s). Makes no etcd call.
  static Result<Leadership> create(etcd::Client client, Config config,
                                   const MonoClock& clock = SteadyMonoClock::instance());
  Leadership(Leadership&&) noexcept = default;
  Leadership& operator=(Leadership&&) noexcept = default;

  // Puts members/<node> = {applied, role, endpoints} and applied/<node> on the node's lease, in
  // one transaction (granting a lease if needed; a lease etcd no longer knows is replaced once).
  // A campaign compares its rivals' applied keys against the last position published here.
  Status publish_member(Applied applied);
  Applied published_applied() const { return published_; }
  // This node's last re-seed, published with every member key from now on (none: not at all).
  void set_reseed(std::optional<ReseedRecord> reseed) { reseed_ = std::move(reseed); }

  // Reads the cluster (leader, sync, members) at one revision. Updates this node's own belief:
  // when the view shows no leader, or a leader of another term, this node no longer leads.
  Result<ClusterView> observe();

  // Stands for leader after a fresh observe(); campaign(seen) stands on a view already read
  // (the transaction compares seen's sync.mod_revision, so a stale view loses, never wins
  // wrongly). Already leading: kWon with the held term, no etcd call.
  Result<CampaignOutcome> campaign();
  Result<CampaignOutcome> campaign(const ClusterView& seen);

  // Sends one keepalive for the node's lease (timing.h: t0 is the send instant). Call when
  // renew_due(); on an Error call again at the next due time — may_acknowledge() turns false
  // by itself when renewals stop succeeding.
  Result<RenewOutcome> renew();
  bool renew_due() const { return timer_.renew_due(clock_->now()); }

  // Writes sync = {term, members, leader: this node, sync_count} if the leader key's
  // create_revision still equals this node's term (compare-and-swap). Only then may the primary
  // count the new set (docs §4). sync_count defaults to the number of members.
  Result<SyncOutcome> set_sync(std::vector<std::string> members,
                               std::optional<uint32_t> sync_count = std::nullopt);

  // Clean switchover: stops acknowledging at once, then revokes the lease (which deletes the
  // leader key and the member key, so another node may stand immediately). An Error means the
  // revoke did not reach etcd: the lease then expires by itself within ttl, and this node
  // already acknowledges nothing.
  Status step_down();

  // Any thread. See the file comment.
  bool may_acknowledge(MonoTime now) const;
  bool may_acknowledge() const { return may_acknowledge(clock_->now()); }
  // The instant may_acknowledge turns false unless a renewal succeeds; nullopt when not leading.
  std::optional<MonoTime> ack_deadline() const;
  // The term this node believes it holds; nullopt when not leading.
  std::optional<int64_t> term() const;

  std::optional<etcd::LeaseId> lease() const { return lease_; }
  const Keys& keys() const { return keys_; }
  const Config& config() const { return config_; }
  etcd::Client& client() { return client_; }

 private:
  struct Shared {
    std::atomic<int64_t> term{0};         // 0: not leading
    std::atomic<int64_t> deadline_ns{0};  // ack deadline, steady clock ns
  };
  Leadership(etcd::Client client, Config config, Keys keys, const MonoClock& clock)
      : client_(std::move(client)),
        config_(std::move(config)),
        keys_(std::move(keys)),
        clock_(&clock),
        timer_(config_.timing),
        shared_(std::make_unique<Shared>()) {}

  Status ensure_lease();
  void lease_gone();       // the lease is expired/revoked/given up: no lease, no term
  void lose_leadership();  // keep the lease, drop the term
  void publish_deadline();
  Result<CampaignOutcome> try_campaign(const ClusterView& seen);

  etcd::Client client_;
  Config config_;
  Keys keys_;
  const MonoClock* clock_;
  LeaseTimer timer_;
  std::optional<etcd::LeaseId> lease_;
  Applied published_;
  std::optional<ReseedRecord> reseed_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace gongshu::cluster
