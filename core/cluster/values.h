// The etcd keys of one gongshu cluster and the values under them (docs/replication.md §2), as
// plain values with their JSON encoding, and ClusterView: everything under the cluster's prefix
// as read at one etcd revision. No I/O.
//
//   /gongshu/<cluster>/leader          {"node", "endpoints"}           on the leader's lease;
//                                       its create_revision is the term
//   /gongshu/<cluster>/sync            {"term", "members"}             no lease; written only by
//                                       the leader of that term (compare-and-swap)
//   /gongshu/<cluster>/members/<node>  {"applied_seq", "applied_term",  on that node's lease
//                                        "role", "endpoints"}
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

struct SyncValue {
  int64_t term = 0;                  // the leader's term that wrote it
  std::vector<std::string> members;  // node ids of the synchronous set
  bool contains(std::string_view node) const;
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

enum class Role { kPrimary, kReplica };
std::string_view role_name(Role role);  // "primary", "replica"

struct MemberValue {
  Applied applied;
  Role role = Role::kReplica;
  Endpoints endpoints;
  friend bool operator==(const MemberValue&, const MemberValue&) = default;
};

std::string encode(const LeaderValue& v);
std::string encode(const SyncValue& v);
std::string encode(const MemberValue& v);
Result<LeaderValue> decode_leader(std::string_view json);
Result<SyncValue> decode_sync(std::string_view json);
Result<MemberValue> decode_member(std::string_view json);

struct LeaderView {
  LeaderValue value;
  int64_t term = 0;   // the key's create_revision
  int64_t lease = 0;  // the etcd lease it is attached to
};
struct SyncView {
  SyncValue value;
  int64_t mod_revision = 0;  // what a campaign compares
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
  std::vector<MemberView> members;  // in node order
  // Member keys whose value did not parse (listed, not fatal: one bad key must not stop
  // elections), with the reason.
  std::vector<std::string> unreadable;

  // The current term (0: no leader). A replica refuses write sets of any other term.
  int64_t term() const { return leader ? leader->term : 0; }
  const MemberView* member(std::string_view node) const;
  // Whether node may stand for leader: while a sync key exists, only its members may (they hold
  // every acknowledged write set); before the first one (a cluster bootstrapping), anyone.
  bool may_stand(std::string_view node) const;
  // The most advanced published applied position (zero when no member published).
  Applied best_applied() const;
  // How many write sets node is behind best_applied().seq; nullopt when node published nothing.
  // A node whose applied term is older than the best counts as at least 1 behind.
  std::optional<uint64_t> behind(std::string_view node) const;
};

// Builds the view from a range over keys.prefix() at `revision`. Keys under the prefix that are
// none of the three kinds are ignored. Error (kCorrupt, naming the key) when the leader or the
// sync value does not parse.
Result<ClusterView> parse_view(const Keys& keys, const std::vector<etcd::KeyValue>& kvs,
                               int64_t revision);

}  // namespace gongshu::cluster
