// The etcd keys of one gongshu cluster and the values under them (docs/replication.md §2), as
// plain values with their JSON encoding, and ClusterView: everything under the cluster's prefix
// as read at one etcd revision. No I/O.
//
//   /gongshu/<cluster>/leader          {"node", "endpoints"}           on the leader's lease;
//                                       its create_revision is the term
//   /gongshu/<cluster>/sync            {"term", "members", "leader",    no lease; written only by
//                                        "sync_count"}                 the leader of that term
//                                       (compare-and-swap), before it counts the members' acks
//   /gongshu/<cluster>/members/<node>  {"applied_seq", "applied_term",  on that node's lease
//                                        "role", "endpoints"}
//   /gongshu/<cluster>/applied/<node>  "<term:20 digits>.<seq:20 digits>" on that node's lease,
//                                       written with the member key: fixed width, so etcd's byte
//                                       order is the (term, seq) order and a campaign transaction
//                                       can compare it ("no rival is ahead of me")
//   /gongshu/<cluster>/failover        {"to", "accept_loss", ...}      on a lease of its own: an
//                                       operator's `cluster failover` while no leader exists
//
// Cluster names and node ids are 1–64 bytes of [A-Za-z0-9._-] (they are path segments of keys).
// Values read from etcd are parsed as untrusted input: at most 64 KiB, every field checked;
// a value that does not parse is an Error naming the key (kCorrupt).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/etcd/types.h"
#include "core/util/error.h"

namespace gongshu::cluster {

// "cluster name" / "node id" rule above; what names the thing in the message.
Status check_name(std::string_view what, std::string_view name);

class Keys {
 public:
  static Result<Keys> create(std::string_view cluster);
  const std::string& prefix() const { return prefix_; }  // "/gongshu/<cluster>/"
  std::string leader() const { return prefix_ + "leader"; }
  std::string sync() const { return prefix_ + "sync"; }
  std::string members() const { return prefix_ + "members/"; }
  std::string member(std::string_view node) const { return members() + std::string(node); }
  std::string applied_prefix() const { return prefix_ + "applied/"; }
  std::string applied(std::string_view node) const { return applied_prefix() + std::string(node); }
  std::string failover() const { return prefix_ + "failover"; }

 private:
  explicit Keys(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string prefix_;
};

// A node's endpoints by purpose ("ingest", "api", "replication", …) → URL.
using Endpoints = std::map<std::string, std::string>;

struct LeaderValue {
  std::string node;
  Endpoints endpoints;
  friend bool operator==(const LeaderValue&, const LeaderValue&) = default;
};

// The synchronous set (docs/replication.md §4–5). Its writer counted only these members' acks
// (sync_count of them) and wrote the set before counting any, so each member — and the writer
// itself — holds every write set acknowledged while the set was current.
struct SyncValue {
  int64_t term = 0;                  // the leader's term that wrote it
  std::vector<std::string> members;  // node ids of the synchronous set
  std::string leader;                // the node that wrote it ("" in a value without the field)
  uint32_t sync_count = 0;           // 0: the writer acknowledged without waiting for anyone
  bool contains(std::string_view node) const;
  // May `node` stand under this set? sync_count 0: anyone (nothing was promised beyond the
  // writer); else a member or the writer — an empty set with sync_count ≥ 1 (its member fell
  // away and no other had caught up) leaves only the writer.
  bool eligible(std::string_view node) const;
  friend bool operator==(const SyncValue&, const SyncValue&) = default;
};

// How far a node has applied the commit log. Ordered by term, then seq.
struct Applied {
  uint64_t seq = 0;
  int64_t term = 0;
  friend auto operator<=>(const Applied& a, const Applied& b) {
    if (a.term != b.term) return a.term <=> b.term;
    return a.seq <=> b.seq;
  }
  friend bool operator==(const Applied&, const Applied&) = default;
};

// The applied key's value: "<term>.<seq>", each zero-padded to 20 digits.
std::string encode_applied(Applied a);
Result<Applied> decode_applied(std::string_view text);

// An operator's `gongshuctl cluster failover` while no leader exists (docs/replication.md §6):
// `to` may stand even outside the sync set it names — only while that sync key is unchanged
// (sync_revision) — and the others hold back while the key lives. accept_loss says the operator
// accepted losing the write sets after `from` (to's applied position when asked).
struct FailoverValue {
  std::string to;
  bool accept_loss = false;
  Applied from;
  int64_t sync_revision = 0;  // the sync key's mod_revision it was asked under (0: none)
  int64_t sync_term = 0;      // that sync value's term and members (for the audit)
  std::vector<std::string> sync_members;
  std::string requested_by;  // the operator's key id
  std::string asked;         // the node that took the request
  friend bool operator==(const FailoverValue&, const FailoverValue&) = default;
};

enum class Role { kPrimary, kReplica };
std::string_view role_name(Role role);  // "primary", "replica"

// A node's last re-seed from a backup of the leader (docs/replication.md §6), published with its
// member key so `gongshuctl cluster status` shows it.
struct ReseedRecord {
  int64_t at_ms = 0;      // when the backup was restored (ms since the epoch, UTC)
  std::string reason;     // "behind" or "diverged", as the leader said
  int64_t from_term = 0;  // the applied position given up
  uint64_t from_seq = 0;
  friend bool operator==(const ReseedRecord&, const ReseedRecord&) = default;
};

struct MemberValue {
  Applied applied;
  Role role = Role::kReplica;
  Endpoints endpoints;
  std::optional<ReseedRecord> reseed;  // none: never re-seeded (or not since its state began)
  friend bool operator==(const MemberValue&, const MemberValue&) = default;
};

std::string encode(const LeaderValue& v);
std::string encode(const SyncValue& v);
std::string encode(const MemberValue& v);
Result<LeaderValue> decode_leader(std::string_view json);
Result<SyncValue> decode_sync(std::string_view json);
Result<MemberValue> decode_member(std::string_view json);
std::string encode(const FailoverValue& v);
Result<FailoverValue> decode_failover(std::string_view json);

struct LeaderView {
  LeaderValue value;
  int64_t term = 0;   // the key's create_revision
  int64_t lease = 0;  // the etcd lease it is attached to
};
struct SyncView {
  SyncValue value;
  int64_t mod_revision = 0;  // what a campaign compares
};
struct FailoverView {
  FailoverValue value;
  int64_t mod_revision = 0;  // what the target's campaign compares
};
struct MemberView {
  std::string node;
  MemberValue value;
  int64_t lease = 0;
};

struct ClusterView {
  int64_t revision = 0;  // the etcd revision the view was read at
  std::optional<LeaderView> leader;
  std::optional<SyncView> sync;
  std::vector<MemberView> members;         // in node order
  std::map<std::string, Applied> applied;  // applied/<node> keys (what a campaign compares)
  std::optional<FailoverView> failover;
  // Member keys whose value did not parse (listed, not fatal: one bad key must not stop
  // elections), with the reason.
  std::vector<std::string> unreadable;

  // The current term (0: no leader). A replica refuses write sets of any other term.
  int64_t term() const { return leader ? leader->term : 0; }
  const MemberView* member(std::string_view node) const;
  // Whether node may stand for leader: while a sync key exists, only those SyncValue::eligible
  // names (they hold every acknowledged write set); before the first one (a cluster
  // bootstrapping), anyone; and the target of a failover key asked under the current sync key.
  bool may_stand(std::string_view node) const;
  // The failover key when it names node and was asked under the current sync key.
  const FailoverView* failover_for(std::string_view node) const;
  // A failover key that names another node (the others hold back while it lives).
  bool failover_elsewhere(std::string_view node) const;
  // The nodes node must not be behind to stand (its campaign compares their applied keys with
  // its own): none under a failover key for it (the operator chose); the other eligible nodes
  // in sync mode; every other node with an applied key without a sync key or with sync_count 0
  // (and then no applied key may appear after this view: all_rivals).
  std::vector<std::string> rivals(std::string_view node) const;
  bool all_rivals(std::string_view node) const;
  // The first rival whose applied key is ahead of `mine` (nullopt: none).
  std::optional<std::string> ahead_of(std::string_view node, Applied mine) const;
  // The most advanced published applied position (zero when no member published).
  Applied best_applied() const;
  // How many write sets node is behind the best applied position of itself and its rivals;
  // nullopt when node published nothing. A node whose applied term is older than the best
  // counts as at least 1 behind.
  std::optional<uint64_t> behind(std::string_view node) const;
};

// Builds the view from a range over keys.prefix() at `revision`. Keys under the prefix that are
// none of the three kinds are ignored. Error (kCorrupt, naming the key) when the leader or the
// sync value does not parse.
Result<ClusterView> parse_view(const Keys& keys, const std::vector<etcd::KeyValue>& kvs,
                               int64_t revision);

}  // namespace gongshu::cluster
