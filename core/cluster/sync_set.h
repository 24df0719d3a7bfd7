// SyncSet: the leader's bookkeeping of the synchronous set (docs/replication.md §4, Patroni's
// synchronous mode). Pure: no etcd, no clock of its own; ClusterNode (daemon/cluster_node.h)
// feeds it each tick and writes to etcd what it says.
//
// The rule it keeps: an acknowledgement is released only for a write set that every member of
// the set this leader WROTE TO ETCD IN ITS TERM has fsynced, with sync_count members counted.
//   - Counting a member: only after the set naming it was written (published()), and a member is
//     proposed only once it has fsynced everything that could have been acknowledged — `floor()`,
//     the larger of the leader's head when its term began (every write set of earlier terms it
//     holds) and the highest seq quorum_seq() ever returned (every ack released in this term).
//   - Dropping a member: it stops being counted at once, inside plan(), BEFORE any etcd write;
//     the set in etcd keeps naming it until a replacement is written (it holds every write set
//     acknowledged while it counted, and nothing is acknowledged on fewer than sync_count).
// So at every instant each member of the set in etcd holds every acknowledged write set, and a
// new leader elected from it (or its writer) holds them too.
//
// A member falls away when its member key is gone from etcd (its lease expired), or when it has
// not fsynced, within `timeout`, what the leader had committed `timeout` ago (it is stalled).
//
// Threads: start_term/end_term/plan/published from the service thread; quorum_seq (the ack path)
// and the accessors from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/cluster/mono_clock.h"

namespace gongshu::cluster {

// One other member as the leader sees it this tick.
struct ReplicaSync {
  std::string node;
  bool live = false;    // its member key is in etcd
  uint64_t synced = 0;  // the highest seq it has fsynced in this term (the shipper's count)
};

struct SyncPlan {
  std::vector<std::string> dropped;               // no longer counted (already in effect)
  std::optional<std::vector<std::string>> write;  // write this set to etcd, then published()
};

class SyncSet {
 public:
  SyncSet(uint32_t sync_count, std::chrono::milliseconds timeout)
      : sync_count_(sync_count), timeout_(timeout) {}

  // This node won `term`; its store's head was `head` before the term's first write set.
  void start_term(int64_t term, uint64_t head);
  // It leads no more: nothing counts.
  void end_term();

  SyncPlan plan(MonoTime now, uint64_t last_seq, const std::vector<ReplicaSync>& replicas);
  // The set plan() proposed was written to etcd in `term`: its members count from now on.
  // Ignored when the term ended meanwhile.
  void published(int64_t term, std::vector<std::string> members);

  // The ack point: with sync_count 0, UINT64_MAX; else 0 unless sync_count members count, then
  // the lowest seq they have fsynced (synced(node)). Remembers the highest value it returned.
  uint64_t quorum_seq(const std::function<uint64_t(const std::string&)>& synced);

  uint32_t sync_count() const { return sync_count_; }
  int64_t term() const;
  std::vector<std::string> counted() const;
  std::optional<std::vector<std::string>> written() const;  // this term's set in etcd
  uint64_t floor() const;

 private:
  struct Lag {
    MonoTime since;
    uint64_t target = 0;  // last_seq at `since`
  };
  uint32_t sync_count_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  int64_t term_ = 0;
  uint64_t head_ = 0;
  uint64_t released_ = 0;
  std::optional<std::vector<std::string>> written_;
  std::vector<std::string> counted_;
  std::map<std::string, Lag> lag_;
};

}  // namespace gongshu::cluster
