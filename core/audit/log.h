// AuditLog: the daemon's append-only audit log in LMDB (DESIGN §7). Entries are appended inside
// the caller's write transaction, so an action and its audit entry commit (or vanish) together.
// Each append extends the hash chain and the RFC 6962 Merkle tree (O(log n) stored nodes,
// written with MDB_APPEND in creation order); checkpoint_if_due writes a signed checkpoint once
// `checkpoint_every` entries are uncovered, or once the oldest uncovered entry is
// `checkpoint_interval_ms` old — the daemon calls it after each commit and from a timer, so no
// entry waits much more than that for a signature. checkpoint() writes one on demand.
//
// Threads: append and checkpoint run on the one writer thread (they use a scratch buffer);
// the read functions take any Txn and may run on any thread. All state lives in the store, so an
// aborted transaction leaves nothing behind. The signer must outlive the log.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/audit/merkle.h"
#include "core/crypto/identity.h"
#include "core/store/table.h"
#include "core/util/clock.h"
#include "gongshu/v1/batch.pb.h"

namespace gongshu::audit {

struct AuditLogOptions {
  std::string origin;  // the log's name in checkpoints, e.g. "gongshu.sjz/audit"
  uint64_t checkpoint_every = 1000;
  int64_t checkpoint_interval_ms = 1000;
};

struct Appended {
  uint64_t seq;
  Hash entry_hash;
};

struct TreeHead {
  uint64_t size = 0;
  Hash root{};
  Hash last_entry_hash{};  // all zero for the empty log
  uint64_t checkpoint_size = 0;
  int64_t pending_since_ms = 0;  // when the first entry after the last checkpoint was appended
};

// What the daemon sees of every entry as it is appended (daemon/alerts.h), inside the appending
// transaction: before() may add to the entry before it is encoded and hashed; after() may write
// to txn and append entries of its own, which do not reach the hook again. A failure of either
// fails the append, and so the transaction's action.
class AppendHook {
 public:
  virtual ~AppendHook() = default;
  virtual Status before(store::WriteTxn& txn, v1::AuditEntry& entry) = 0;
  virtual Status after(store::WriteTxn& txn, const v1::AuditEntry& entry,
                       const Appended& appended) = 0;
};

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> open(store::Env& env, const crypto::IdentityKey& signer,
                                                AuditLogOptions options, const Clock& clock);

  // Appends entry (seq, prev_hash set here; time_ms set from the clock when zero), passing it
  // through the hook when one is set.
  Result<Appended> append(store::WriteTxn& txn, v1::AuditEntry& entry);
  // Sets (or with null clears) the hook every append passes through. Set it before the writers
  // start, clear it after they stop; it must outlive its use.
  void set_hook(AppendHook* hook) { hook_.store(hook); }

  // Writes a checkpoint if the policy says one is due; returns its note if it wrote one.
  Result<std::optional<std::string>> checkpoint_if_due(store::WriteTxn& txn);
  // Writes a checkpoint at the current size (or returns the existing one for that size).
  // Fails on an empty log.
  Result<std::string> checkpoint(store::WriteTxn& txn);

  // A signed receipt for an event recorded by entry `appended`, under the head after `txn`'s
  // appends so far.
  v1::Receipt receipt(const store::Txn& txn, const Hash& event_hash,
                      const Appended& appended) const;

  TreeHead head(const store::Txn& txn) const;
  Hash root_at(const store::Txn& txn, uint64_t size) const;
  std::optional<ByteView> entry(const store::Txn& txn, uint64_t seq) const;
  std::optional<std::string> checkpoint_at(const store::Txn& txn, uint64_t size) const;
  std::optional<std::string> latest_checkpoint(const store::Txn& txn) const;
  // Sizes of all stored checkpoints in [from, to], ascending.
  std::vector<uint64_t> checkpoint_sizes(const store::Txn& txn, uint64_t from, uint64_t to) const;

  Result<std::vector<Hash>> inclusion_proof(const store::Txn& txn, uint64_t seq,
                                            uint64_t tree_size) const;
  Result<std::vector<Hash>> consistency_proof(const store::Txn& txn, uint64_t old_size,
                                              uint64_t new_size) const;

  const crypto::PublicKey& public_key() const { return signer_.public_key(); }
  // During a daemon key rotation (core/audit/key_rotation.h): checkpoints written from now on
  // carry a second signature by key (null: no second signature). Any thread; key must outlive
  // the log or be replaced first.
  void set_cosigner(const crypto::IdentityKey* key) { cosigner_.store(key); }
  const std::string& origin() const { return options_.origin; }

 private:
  AuditLog(const crypto::IdentityKey& signer, AuditLogOptions options, const Clock& clock,
           store::Table<uint64_t> entries, store::Table<uint64_t> nodes,
           store::Table<uint64_t> checkpoints, store::Table<std::string_view> meta)
      : signer_(signer),
        options_(std::move(options)),
        clock_(clock),
        entries_(std::move(entries)),
        nodes_(std::move(nodes)),
        checkpoints_(std::move(checkpoints)),
        meta_(std::move(meta)) {}

  Result<Appended> append_entry(store::WriteTxn& txn, v1::AuditEntry& entry);
  Status write_head(store::WriteTxn& txn, const TreeHead& head) const;
  // The frontier (perfect-subtree peaks) at the size read from txn: the cached one when it
  // matches the store, else rebuilt from stored nodes (after an aborted transaction).
  const CompactRange& frontier_for(const store::Txn& txn, const TreeHead& head);
  Result<std::string> write_checkpoint(store::WriteTxn& txn, TreeHead head);

  const crypto::IdentityKey& signer_;
  std::atomic<const crypto::IdentityKey*> cosigner_{nullptr};
  std::atomic<AppendHook*> hook_{nullptr};
  // True while the hook runs: appends are serialised by LMDB's write lock, so one flag serves.
  bool in_hook_ = false;
  AuditLogOptions options_;
  const Clock& clock_;
  store::Table<uint64_t> entries_;
  store::Table<uint64_t> nodes_;  // node_position(level, index) -> hash
  store::Table<uint64_t> checkpoints_;
  store::Table<std::string_view> meta_;
  std::string scratch_;
  // Writer-thread cache of the tree's peaks, always checked against the head in the txn.
  CompactRange frontier_;
  Hash frontier_last_{};
};

}  // namespace gongshu::audit
