// DaemonStore: the daemon's LMDB environment with every named database it uses (DESIGN §6),
// the audit log, and the keys that protect stored data: the storage master key (from a systemd
// credential or a key file), per-dataset data keys wrapped by it, and the subject-index key
// derived from it. One per process; opened at start-up before any socket is bound.
//
// Threads: tables and the audit log are used inside transactions on any thread (LMDB's write
// lock serialises writers, including AuditLog::append). data_key() is thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <string>

#include "core/audit/log.h"
#include "core/crypto/aead.h"
#include "core/crypto/identity.h"
#include "core/replication/key_shares.h"
#include "core/store/table.h"
#include "core/util/clock.h"

namespace gongshu::daemon {

struct StoreOptions {
  std::string state_dir;
  std::string audit_origin = "gongshu/audit";
  // The store's map, fixed for the process's life (core/store/env.h): the largest it may grow.
  size_t map_size = size_t{256} << 30;
  // Where the datasets' key shares are kept (see create_data_key); empty: <state_dir>/keyring.
  std::string keyring_dir;
};

// In the replicated mode the store is also the node's KeyShares (core/replication/key_shares.h):
// the keyring travels to the members over the replication channel, never through the store.
class DaemonStore final : public replication::KeyShares {
 public:
  static Result<std::unique_ptr<DaemonStore>> open(const StoreOptions& options,
                                                   const crypto::IdentityKey& daemon_key,
                                                   crypto::SecretBytes master_key,
                                                   const Clock& clock);

  store::Env& env() { return *env_; }
  audit::AuditLog& audit() { return *audit_; }
  const crypto::IdentityKey& daemon_key() const { return daemon_key_; }
  // After a daemon key rotation (daemon/daemon_keys.h), the key it replaced: ingest still opens
  // batches sealed to it. Set before any socket is bound; null otherwise.
  const crypto::IdentityKey* previous_daemon_key() const { return previous_key_; }
  void set_previous_daemon_key(const crypto::IdentityKey* key) { previous_key_ = key; }
  const Clock& clock() const { return clock_; }

  // Creates and wraps a new data key for a dataset inside txn (at catalog add). The key is
  // wrapped under a key derived from the master key and the dataset's key share: 32 random
  // bytes in <keyring_dir>/<dataset>.share (0600), written before the transaction commits. The
  // keyring is not in a backup (like the master key, the operator keeps it apart), so deleting a
  // share makes the dataset unreadable everywhere, backups taken before included
  // (crypto-shredding, daemon/destroy.h). A destroyed dataset gets no new key.
  Status create_data_key(store::WriteTxn& txn, const std::string& dataset);
  // The dataset's data key as txn sees it; kNotFound if it has none, naming its destruction
  // (when, key, by whose decision) or the missing share when it was destroyed.
  Result<const crypto::DataKey*> data_key(const store::Txn& txn, const std::string& dataset);
  // Destruction, step 1 (inside the transaction that records it): clears the wrapped key and
  // records who and when in the dataset's state; returns the destroyed key's id (16 hex of
  // SHA-256 of the wrapped key). Step 2, after the commit: shred_share() deletes the share file
  // and forgets the unwrapped key. A crash between the two is finished at the next open.
  Result<std::string> destroy_data_key(store::WriteTxn& txn, const std::string& dataset,
                                       const std::string& requested_by,
                                       const std::string& confirmed_by, int64_t at_ms);
  Status shred_share(const std::string& dataset);
  // The id destroy_data_key would return, or empty when the dataset has no key.
  std::string data_key_id(const store::Txn& txn, const std::string& dataset) const;
  const std::string& keyring_dir() const { return keyring_dir_; }

  // replication::KeyShares (docs/replication.md §3a). The primary: generation() moves after every
  // share file created or deleted; snapshot() lists every <dataset>.share of the keyring and a
  // tombstone for each dataset txn shows destroyed. A replica: install() writes each share that
  // is missing or differs (0600, fsynced, renamed into place, directory fsynced) and shreds the
  // tombstoned ones (shred_share: the file and the unwrapped keys), refusing names that are not
  // dataset ids. The shares stay files of the keyring: never in the store, a write set or a
  // backup.
  uint64_t generation() const override;
  Result<std::vector<replication::KeyShare>> snapshot(const store::Txn& txn) override;
  Status install(const std::vector<replication::KeyShare>& shares) override;

  // Keyed blind index of a subject identifier (normalised form).
  crypto::Digest subject_token(std::string_view identifier) const;

  // The next id of a workflow numbered per year in China Standard Time, "<letters>-2026-0001"
  // (KF/GX agreements, YY objections, TY consents), counted in meta under
  // "<counter>_seq/<letters>-<year>-" inside txn, so an aborted transaction uses no number.
  Result<std::string> next_yearly_id(store::WriteTxn& txn, std::string_view counter,
                                     std::string_view letters, int64_t now_ms) const;

  // A 32-byte key derived from the master key for one use (domain, e.g. "gongshu.mask-token.v1")
  // and optionally one scope within it (e.g. an agreement id): BLAKE2b keyed with the master key
  // over domain || 0x00 || scope. Only the master key needs protecting; distinct domains keep
  // the uses apart. Thread-safe.
  crypto::SecretBytes derived_key(std::string_view domain, std::string_view scope = {}) const;

  // The named databases.
  struct Tables {
    static Result<Tables> open(store::Env& env);
    store::Table<std::string_view> meta;
    store::Table<std::string_view> agencies;    // agency id -> v1::Agency
    store::Table<std::string_view> principals;  // key id -> stored::Principal
    store::Table<std::string_view> tokens;      // hex SHA-256(secret) -> stored::EnrollToken
    store::Table<std::string_view> catalog;     // dataset id -> v1::DatasetEntry in force
    // dataset id \0 20-digit version -> v1::CatalogVersion (daemon/catalog_workflow.h)
    store::Table<std::string_view> catalog_versions;
    store::Table<std::string_view> datasets;    // dataset id -> stored::DatasetState
    store::Table<std::string_view> records;     // dataset \0 record key -> stored::RecordHead
    store::Table<uint64_t> versions;            // version -> stored::Version
    store::Table<ByteView> batches;             // key id (16) || u64 seq -> stored::Batch
    store::Table<ByteView> subjects;            // daemon/subject_index.h: partitions
    store::Table<ByteView> subject_runs;        // daemon/subject_index.h: runs
    store::Table<std::string_view> agreements;  // agreement id -> stored::Agreement
    store::Table<std::string_view> agreement_holders;  // holder \0 agreement id -> ""
    store::Table<std::string_view> violations;  // key id or agency \0 agreement id -> Violation
    // Objections and consent (daemon/objections.h, daemon/consent.h; issue 16).
    store::Table<std::string_view> objections;       // objection id -> v1::ObjectionInfo
    store::Table<std::string_view> objection_marks;  // dataset \0 record key \0 objection id -> ""
    store::Table<std::string_view> consents;         // consent id -> v1::ConsentInfo
    // subject token (64 hex) \0 applicant key id \0 consent id -> ""
    store::Table<std::string_view> consent_index;
    // dataset \0 agency -> stored::DeliveryStats (daemon/delivery_stats.h)
    store::Table<std::string_view> delivery_stats;
  };
  const Tables& db() const { return *db_; }

  ~DaemonStore();

 private:
  DaemonStore(const crypto::IdentityKey& daemon_key, crypto::SecretBytes master_key,
              const Clock& clock);
  const crypto::IdentityKey& daemon_key_;
  const crypto::IdentityKey* previous_key_ = nullptr;
  crypto::DataKey master_;
  crypto::SecretBytes subject_key_;
  std::string keyring_dir_;
  std::string share_path(const std::string& dataset) const;
  // The key wrapping a version-2 data key: derived from the master key and the share.
  Result<crypto::DataKey> share_kek(const std::string& dataset) const;
  Status migrate_keys();
  Status write_share(const std::string& dataset, const crypto::SecretBytes& share);
  std::atomic<uint64_t> keyring_generation_{1};
  const Clock& clock_;
  std::unique_ptr<store::Env> env_;
  std::unique_ptr<Tables> db_;
  std::unique_ptr<audit::AuditLog> audit_;
  // Unwrapped keys by their wrapped bytes: a key wrapped in a transaction that later aborted
  // is never looked up again, so the cache cannot go stale.
  std::mutex keys_mu_;
  std::map<std::string, crypto::DataKey, std::less<>> keys_;
};

// Associated data binding an encrypted stored record to the place it came from (the batch and
// the index in it), so a ciphertext moved to another version fails to open:
// "gongshu.version.v1" || 0x00 || agent key id || u64 BE batch_seq || u32 BE index.
Bytes version_ad(std::string_view agent_key_id, uint64_t batch_seq, uint32_t index);

// Key helpers for the tables above.
std::string record_key_of(std::string_view dataset, std::string_view record_key);
// The same on `memory` (the ingest path keeps a batch's keys on the batch's arena).
std::pmr::string record_key_of(std::string_view dataset, std::string_view record_key,
                               std::pmr::memory_resource* memory);
Bytes batch_key_of(std::string_view agent_key_id, uint64_t batch_seq);

}  // namespace gongshu::daemon
