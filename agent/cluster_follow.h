// Following the leader of a gongshud cluster (docs/replication.md §6). The nodes of one cluster
// share the daemon identity (one daemon public key, one CURVE key the agent pins); the agent's
// configuration lists every node's ingest endpoint ([daemon] cluster_ingest). A node that does
// not lead answers each batch BATCH_INTERNAL "not leader; leader is <endpoint>" with
// BatchAck.leader_ingest; the forwarder then moves to that endpoint and sends every
// unacknowledged batch again there, which the daemon deduplicates by (agent key, batch_seq) as
// for any re-send. With no leader named (an election under way), a lost connection or an overdue
// ack, it moves to the next endpoint of the list.
//
// Finding the new leader at once (LeaderFinder): moving along the list alone finds a new leader
// only at the forwarder's own timeouts: after a SIGKILL of the leader the agent cycled through
// followers that had no leader yet and then sat on the dead node until the handshake give-up
// (5 s), so the first ack came 5-6 s after an election that took ~5 s. Instead, once no batch
// has been acknowledged for `[limits] cluster_probe_ms` while batches wait (or the current node
// has no handshake), every OTHER node is asked in parallel, each on a connection of its own
// (a dead node just never answers; nobody waits for it), by sending it the lowest
// unacknowledged batch of the outbox, again every 100 ms while it answers "not leader" (but
// backing off to 3.2 s while it names the very node the agent is connected to: ProbePacer). The
// first node that takes the batch (any answer but "not leader") is where the forwarder moves.
//
// Why that node and never a lower term: the agent cannot read terms (cluster status is for
// operators and officers; a BatchAck carries none), so it never follows a hint ("leader is X"
// from a follower may name a dead or deposed leader). It follows only a node whose own gate
// let it take the batch (daemon/cluster_gate.h may_write: it leads, its term is audited, its
// etcd lease is fresh), and at any instant at most one node holds the current lease: the node
// of the highest term. A deposed leader steps down before its lease could be taken, so it
// answers "not leader" too.
//
// Exactly once is untouched: the probe sends a batch already committed in the outbox, byte for
// byte (as any resend); the node that takes it stores it once (or answers duplicate); the
// forwarder then sends every unacknowledged batch there again and is answered duplicate for it.
// The probe's own answers are not settled (the forwarder's are).
//
// Threads: LeaderFinder is called from the forwarder's sending thread; the probe runs on a
// thread of its own while it is active, with its own sockets.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/spool.h"
#include "core/crypto/identity.h"
#include "core/wire/context.h"
#include "gongshu/v1/batch.pb.h"

namespace gongshu::agent {

// ack is a "not leader" answer (cluster_gate.h's text, or a leader_ingest named).
bool is_not_leader(const v1::BatchAck& ack);

// The endpoint after `current` in nodes (wrapping; the first when current is not listed);
// empty when nodes is empty.
std::string next_ingest_node(const std::vector<std::string>& nodes, const std::string& current);

// Where a "not leader" answer sends the agent: the leader it names, else the next node; empty
// when ack is no such answer or there is nowhere else to go.
std::string leader_redirect(const std::vector<std::string>& nodes, const std::string& current,
                            const v1::BatchAck& ack);

// When each other node may be sent the probe batch (LeaderFinder's decision logic, apart from
// sockets and threads so it can be driven with a fake clock). A node that answers "not leader"
// naming the node the agent is connected to (the leader is alive, only slow to ack: a large
// backlog on a busy machine) learns nothing new from another probe, and each probe is a whole
// batch (up to ~600 KiB) sent to a follower exactly when the cluster is busiest: it is asked
// again only after an interval doubling from 100 ms to kMaxInterval. Everything else keeps the
// base 100 ms: no leader named (an election), a leader named other than the current node
// (leadership moved: every node's back-off is reset), or the current node not connected (its
// connection lost, its handshake not up: a dead leader is still named by the followers until
// the new term begins, and the new leader must be asked within 100 ms of its win).
// Whatever the intervals, the probes of all nodes together are at most one per kMinGap.
class ProbePacer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr std::chrono::milliseconds kBaseInterval{100};
  static constexpr std::chrono::milliseconds kMaxInterval{3'200};
  static constexpr std::chrono::milliseconds kMinGap{50};

  // Every node at the base interval again: the current node changed, failed or is not connected.
  void reset();
  // Which of `ready` (nodes whose probe connection is up) to send the probe to now: one whose
  // own interval has passed, the longest unasked first, and none within kMinGap of the last
  // probe; empty when none.
  std::string pick(const std::vector<std::string>& ready, TimePoint now) const;
  void sent(const std::string& node, TimePoint now);
  // node answered "not leader" naming `named` (empty: none); current: the node the agent
  // sends to; current_up: the agent's connection to it has its handshake up.
  void not_leader(const std::string& node, const std::string& named, const std::string& current,
                  bool current_up, TimePoint now);
  std::chrono::milliseconds interval(const std::string& node) const;

 private:
  struct Node {
    std::chrono::milliseconds interval = kBaseInterval;
    TimePoint sent_at{};
    bool ever_sent = false;
  };
  std::vector<std::pair<std::string, Node>> nodes_;
  TimePoint last_send_{};
  bool any_sent_ = false;
  Node& at(const std::string& node);
  const Node* find(const std::string& node) const;
};

class LeaderFinder {
 public:
  // after: how long without an acknowledgement (while batches wait) before the other nodes are
  // asked; 0 turns the probe off (the list alone, as before).
  LeaderFinder(wire::Context& context, const crypto::IdentityKey& agent,
               std::chrono::milliseconds after);
  ~LeaderFinder();  // stops the probe
  LeaderFinder(const LeaderFinder&) = delete;
  LeaderFinder& operator=(const LeaderFinder&) = delete;

  // Once per forwarder step. acked: batches acknowledged so far (any monotone count); waiting:
  // batches are sent and unacknowledged, or there is no connection with a handshake. Returns the
  // ingest endpoint of another node that took a batch as leader, for the caller to move to (and
  // send everything unacknowledged again), else empty. current_up: the connection to current
  // has its handshake up (only then do followers naming current as leader back off: ProbePacer).
  std::string step(std::chrono::steady_clock::time_point now, const std::vector<std::string>& nodes,
                   const std::string& current, const crypto::PublicKey& daemon, Spool& spool,
                   uint64_t acked, bool waiting, bool current_up = false);

  bool probing() const { return probe_.joinable(); }

 private:
  void stop();
  void run(std::vector<std::string> nodes, std::string current, crypto::PublicKey daemon,
           Bytes message);

  wire::Context& context_;
  const crypto::IdentityKey& agent_;
  std::chrono::milliseconds after_;
  uint64_t last_acked_ = 0;
  std::chrono::steady_clock::time_point progress_at_{};
  std::thread probe_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string found_;    // under mu_
  ProbePacer pacer_;     // under mu_; kept across probes until the current node changes or fails
  std::string current_;  // the node the probe runs beside (sending thread)
  std::atomic<bool> current_up_{false};  // written by step(), read by the probe
};

}  // namespace gongshu::agent
