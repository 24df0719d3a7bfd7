// Changelog: the numbered, hash-chained commit log of one node's store (docs/replication.md §3),
// kept in two tables of that store:
//   repl_changelog   seq (u64 key) -> the encoded write set (write_set_codec.h)
//   repl_state       "head" -> term:i64 seq:u64 hash:32 — the last write set committed or applied
//                    "bytes" -> u64, the changelog's stored bytes
// Both are excluded from recording, and both travel in a hot backup with the data they describe,
// so a store restored from a backup knows exactly which write set it holds (re-seeding, §6).
//
// On the primary it is the Env's CommitHook: every recorded transaction that wrote something
// gets, in the same LMDB transaction, the next seq under the current term, the audit state from
// the AuditProbe, its hash chained to the head, a changelog row and the new head — and the
// changelog is trimmed to its bounds, never past retain_from (what a member of the synchronous
// set has not yet acknowledged). A transaction while no term is set (this node does not lead) is
// refused (kUnavailable): a replica never writes on its own.
//
// On a replica, apply() puts a received write set into the store in one transaction together
// with the new head and its changelog row (so the replica can serve catch-up once promoted);
// the caller commits (fsync) and only then acknowledges. After a crash the stored head says
// exactly what was applied: exactly once.
//
// Threads: the hook runs on the writing thread under LMDB's writer lock; set_term, set_listener
// and set_retain_from from any thread (atomics / set before writers start); reads take any Txn.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "core/replication/key_shares.h"
#include "core/replication/write_set_codec.h"
#include "core/store/env.h"
#include "core/store/table.h"
#include "core/store/txn.h"

namespace gongshu::replication {

// The audit tree's size and root as stored in txn (after the transaction's own appends). The
// daemon passes AuditLog::head; an Error fails the commit.
using AuditProbe = std::function<Result<AuditState>(const store::Txn& txn)>;

struct ChangelogOptions {
  uint64_t max_entries = 100000;
  uint64_t max_bytes = uint64_t{4} << 30;
};

class Changelog : public store::CommitHook {
 public:
  // Opens (creating) the two tables and excludes them from recording. Does not install itself:
  // the caller decides with env.set_commit_hook(changelog.get()).
  static Result<std::unique_ptr<Changelog>> open(store::Env& env, AuditProbe probe,
                                                 ChangelogOptions options = {});

  // The leader term new write sets are numbered under; 0 (the start): not leading, recorded
  // transactions are refused.
  void set_term(int64_t term) { term_.store(term, std::memory_order_release); }
  int64_t term() const { return term_.load(std::memory_order_acquire); }
  // Called after each commit of a numbered write set with its seq (the Shipper's notify).
  // Set before writers start.
  void set_listener(std::function<void(uint64_t seq)> listener) { listener_ = std::move(listener); }
  // Trimming keeps every seq >= retain_from (the synchronous set's lowest acknowledged + 1).
  void set_retain_from(uint64_t seq) { retain_from_.store(seq, std::memory_order_release); }

  // The node's keyring as the replication channel carries it beside the write sets
  // (key_shares.h): the Shipper sends it, the Applier installs it. Null: none (tests, or a store
  // without secrets outside it). Set before the Replicator leads or follows; outlives it.
  void set_key_shares(KeyShares* shares) { key_shares_ = shares; }
  KeyShares* key_shares() const { return key_shares_; }

  ChainHead head(const store::Txn& txn) const;
  // The head stored in env (a store not opened by a Changelog, e.g. read-only before a restore);
  // {} when the store has no replication state yet.
  static Result<ChainHead> stored_head(store::Env& env);
  // The encoded write set seq, if still held.
  std::optional<ByteView> entry(const store::Txn& txn, uint64_t seq) const;
  // The oldest seq held (0: empty).
  uint64_t oldest(const store::Txn& txn) const;
  uint64_t stored_bytes(const store::Txn& txn) const;
  // The seq of the last write set this process committed or applied (0: none yet).
  uint64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  // The seq of the last write set committed on the calling thread (0: none yet), so a thread
  // serving requests can tell whether one wrote, and which seq, beside other writers (gongshud's
  // api thread holds a success until the sync set has it: docs/replication.md §11).
  static uint64_t committed_on_this_thread();

  // Replica: applies a decoded write set (already checked to follow head(txn): the Applier's
  // job) into txn — ops, changelog row, head — and checks the audit state after it against the
  // write set's (kCorrupt on a mismatch: the caller aborts txn). `encoded` are its exact bytes.
  Status apply(store::WriteTxn& txn, const DecodedWriteSet& ws, ByteView encoded);
  // After the caller committed an apply(): updates last_seq.
  void applied(uint64_t seq) { last_seq_.store(seq, std::memory_order_release); }

  // store::CommitHook
  Status before_commit(store::WriteTxn& txn, const store::WriteSet& writes) override;
  void after_commit() noexcept override;

 private:
  Changelog(AuditProbe probe, ChangelogOptions options, store::Table<uint64_t> log,
            store::Table<std::string_view> state)
      : probe_(std::move(probe)),
        options_(options),
        log_(std::move(log)),
        state_(std::move(state)) {}
  Status append_and_trim(store::WriteTxn& txn, const ChainHead& head, ByteView encoded);
  // The new head, the stored bytes (`appended` more) and the trim, after the row is in.
  Status head_and_trim(store::WriteTxn& txn, const ChainHead& head, size_t appended);

  AuditProbe probe_;
  ChangelogOptions options_;
  store::Table<uint64_t> log_;
  store::Table<std::string_view> state_;
  std::atomic<int64_t> term_{0};
  std::atomic<uint64_t> retain_from_{0};
  std::atomic<uint64_t> last_seq_{0};
  std::function<void(uint64_t)> listener_;
  KeyShares* key_shares_ = nullptr;
};

}  // namespace gongshu::replication
