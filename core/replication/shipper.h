// Shipper: the primary's end of the replication channel (docs/replication.md §3, §4). It binds a
// CURVE ROUTER (its own wire::Context and ZAP handler, domain "gongshu.replication") that admits
// only the node keys of the cluster's members, each known by its node id. A replica says hello
// with where its chain stands; the shipper streams the changelog from there — at most
// `window` write sets beyond what the replica acknowledged — and a heartbeat with the head every
// `heartbeat` when idle, and records each replica's acknowledged seq.
//
// A replica whose next seq the changelog no longer holds, or whose head hash differs from the
// changelog's at its seq (a diverged history: a deposed primary's unacknowledged tail), is sent
// a reseed and nothing else: it must restore a backup of this node (`gongshud restore`) and
// say hello again from the backup's head (docs §6).
//
// wait_for_acks / wait_for_quorum are the semi-synchronous acknowledgement (docs §4): they block
// until the named replicas (or any n) have acknowledged — fsynced — seq, or the deadline passes.
// Whether the primary may still acknowledge at all (its lease) is the caller's other question
// (cluster::Leadership::may_acknowledge).
//
// Threads: one thread of its own runs the socket; notify(), the waits and replicas() may be
// called from any thread. The Changelog and the Env must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto/identity.h"
#include "core/replication/changelog.h"
#include "core/store/env.h"
#include "core/util/error.h"

namespace gongshu::v1 {
class ReplicationStream;
}

namespace gongshu::replication {

// The bound on what a replica sends the primary (ShipperOptions::max_message_size).
inline constexpr size_t kMaxReplicaMessage = size_t{64} << 10;

struct ShipperOptions {
  std::string bind = "tcp://127.0.0.1:*";
  std::string node;  // this node's id (sent with every stream message)
  // Write sets in flight to one replica beyond its acknowledged seq.
  uint64_t window = 64;
  std::chrono::milliseconds heartbeat{200};
  // Largest message a replica may send (libzmq disconnects a peer that sends more). Replicas
  // send only hello, ack and refusal, each well under 1 KiB, so a member — authenticated, but
  // perhaps compromised — cannot make the primary buffer a quarter gigabyte per message.
  // (Write sets travel only primary → replica; the applier's own bound covers those.)
  size_t max_message_size = kMaxReplicaMessage;
};

struct ReplicaProgress {
  uint64_t acked_seq = 0;
  uint64_t sent_seq = 0;
  bool reseed_sent = false;
  std::string refused;  // the replica's last refusal, if any
  std::chrono::steady_clock::time_point last_heard{};
};

class Shipper {
 public:
  using Clock = std::chrono::steady_clock;

  // members: node id -> node public key (Ed25519; the CURVE key is derived from it). Binds and
  // starts the thread.
  static Result<std::unique_ptr<Shipper>> start(store::Env& env, Changelog& changelog,
                                                const crypto::IdentityKey& node_key,
                                                std::map<std::string, crypto::PublicKey> members,
                                                ShipperOptions options);
  ~Shipper();  // stops and joins the thread
  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  // The endpoint bound (port resolved).
  const std::string& endpoint() const;
  // A write set was committed (Changelog's listener): stream it without waiting for the
  // heartbeat.
  void notify();

  // True once every node in `nodes` has acknowledged seq; false at the deadline.
  bool wait_for_acks(uint64_t seq, const std::vector<std::string>& nodes,
                     Clock::time_point deadline);
  // True once any n replicas have acknowledged seq (n = 0: at once); false at the deadline.
  bool wait_for_quorum(uint64_t seq, size_t n, Clock::time_point deadline);

  // Called (on the shipper's thread) whenever a replica's acknowledged seq moves: the daemon's
  // net thread uses it to look again at the acks it withholds. Set before the first ack matters;
  // it must be quick (it may ask min_acked; it is called without the shipper's lock).
  void set_ack_listener(std::function<void()> listener);

  std::map<std::string, ReplicaProgress> replicas() const;
  // The lowest seq acknowledged by all of `nodes` (0 if one has acknowledged nothing): what
  // Changelog::set_retain_from should keep beyond.
  uint64_t min_acked(const std::vector<std::string>& nodes) const;

  struct Impl;

 private:
  explicit Shipper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The serialized ReplicationMessage{stream} of `fixed` (everything but the write sets) and the
// write sets: written by hand, so each write set is copied once, from the changelog row into
// the message, not into a protobuf field first and again by serialisation. Protobuf reads the
// fields in any order, so fixed's fields and then the write sets (field 5) parse as one stream.
// `fixed` is serialised straight into the result: when it carries the keyring, the result is the
// only serialised copy of the shares, and the caller wipes it (wipe_secret) before freeing it.
std::string stream_message(const v1::ReplicationStream& fixed, const std::vector<ByteView>& sets);

}  // namespace gongshu::replication
