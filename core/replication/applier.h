// Applier: a replica's end of the replication channel (docs/replication.md §3, §4). It connects
// to the primary's Shipper with the node key (pinning the primary's node key), says hello with
// its stored chain head, and for every write set streamed:
//   1. refuses it unless the sender's term is the highest leader term this node knows (a
//      deposed primary is refused as soon as a newer term was seen: observe_term() from etcd, or
//      a stream of a newer term) and the write set's own term is between the replica's applied
//      term and the sender's term;
//   2. refuses it unless it decodes, its hash is right, seq = applied + 1 and prev_hash = the
//      applied hash (a tampered, missing or reordered write set);
//   3. applies it with Changelog::apply in ONE LMDB transaction with the new head, refusing it if
//      the audit state after it differs from the primary's stated one; commits (fsync);
//   4. acknowledges seq.
// Write sets at or below the applied seq are acknowledged again without being applied (after a
// crash the stored head is the truth: exactly once). A refusal applies nothing of the refused
// write set or what follows it (state() and last_refusal() say why; it is reported to the
// primary too): it never diverges quietly. After refusal_retry it says hello again from its
// stored head, so a write set altered in transit is replaced by the genuine one, while a sender
// that keeps sending what is refused (a deposed primary) keeps being refused. A stream naming
// another leader than the one followed is refused too (only a holder of the leader's node key
// could send one on this channel). Local errors (kFailed) stop it for good. A reseed from the
// primary stops it with kNeedsReseed: restore a backup of the primary, then start again.
//
// Threads: one thread of its own; observe_term(), state(), head() from any thread. The Env and
// Changelog (opened on this replica's store, with no term set) must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "core/crypto/identity.h"
#include "core/replication/changelog.h"
#include "core/store/env.h"
#include "core/util/error.h"

namespace gongshu::replication {

struct ApplierOptions {
  std::string node;          // this replica's node id
  std::string primary_node;  // the leader's node id (as etcd names it)
  std::string primary_endpoint;
  crypto::PublicKey primary_key;                   // the leader's node key
  std::chrono::milliseconds hello_interval{1000};  // says hello again when nothing arrives
  // After a refusal: applies nothing for this long (what arrives meanwhile is dropped), then says
  // hello again from its stored head, so the leader sends the genuine write sets again.
  std::chrono::milliseconds refusal_retry{1000};
  size_t max_message_size = kMaxWriteSetBytes + (size_t{1} << 20);
};

enum class ApplierState {
  kFollowing,    // streaming
  kRefused,      // a write set was refused (reason()); asks again after refusal_retry and is
                 // following again once a write set applies
  kNeedsReseed,  // the primary cannot stream to it; stopped (reason())
  kFailed,       // a local error (store, socket); stopped (reason())
};

// The pure part: checks and applies one encoded write set sent under sender_term. Returns the
// new head (unchanged for a write set already applied). kPermissionDenied: a refused term;
// kCorrupt: decode, hash, chain or audit mismatch; kUnavailable: a gap (seq > applied+1).
// `known_term` is raised to sender_term when that is higher.
Result<ChainHead> apply_write_set(store::Env& env, Changelog& changelog, ByteView encoded,
                                  int64_t sender_term, std::atomic<int64_t>& known_term);

// Several consecutive write sets of one stream (or of streams queued together, one sender and
// term) checked and applied as apply_write_set does each, in ONE transaction and one fsync; the
// acknowledgement then covers them all. A write set that fails ends the run: those before it are
// committed (in the same transaction when it was refused before any of it was written, else in
// one of their own), it and those after are not applied.
struct AppliedRun {
  ChainHead head;              // the head on disk after the run (before it, if nothing committed)
  size_t applied = 0;          // write sets of the run committed (a resend counts, unchanged head)
  std::optional<Error> error;  // why the run stopped short (as apply_write_set's errors)
};
AppliedRun apply_write_sets(store::Env& env, Changelog& changelog, std::span<const ByteView> run,
                            int64_t sender_term, std::atomic<int64_t>& known_term);

class Applier {
 public:
  static Result<std::unique_ptr<Applier>> start(store::Env& env, Changelog& changelog,
                                                const crypto::IdentityKey& node_key,
                                                ApplierOptions options);
  ~Applier();  // stops and joins
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // The leader term etcd shows (Leadership::observe): write sets from older terms are refused.
  void observe_term(int64_t term);
  int64_t known_term() const;
  ApplierState state() const;
  std::string reason() const;
  ChainHead head() const;            // applied so far (committed)
  uint64_t refusals() const;         // write sets (or streams) refused since start
  std::string last_refusal() const;  // why the latest was refused ("": none yet)
  // The latest refusal's kind, a protocol word for the journal and tests: "altered" (does not
  // decode, hash, chain or audit-check), "deposed" (a term refused: an older sender, or a write
  // set claiming a term it may not), "other-leader" (a stream naming another leader than the
  // one followed); "" none yet. And the seq of the write set refused (0: a whole stream).
  std::string last_refusal_kind() const;
  uint64_t last_refused_seq() const;
  // kNeedsReseed: the leader's word, "behind" or "diverged" ("other" for anything else).
  std::string reseed_reason() const;
  uint64_t primary_head() const;  // the primary's last announced seq (lag = this - head().seq)
  // The primary's wall clock (ms since the epoch) when it sent the latest stream after which
  // this node had applied everything that stream announced: its data is as of then (0: not
  // yet). now - this is the age of the data a replica's reads see.
  int64_t caught_up_ms() const;

  struct Impl;

 private:
  explicit Applier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gongshu::replication
