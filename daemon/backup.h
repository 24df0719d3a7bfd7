// Hot backup and restore of gongshud's store (DESIGN §6 "Hot backup", docs/protocol.md
// "Backups").
//
// A backup file is self-describing: the magic line "GSBACKUP1\n", a signed text manifest (format
// version, audit origin, audit tree size and root as the copied store holds them, SHA-256 and
// length of the LMDB data, creation time, the daemon's public key), a signature line, then the
// LMDB data file itself. Keys are NOT in a backup: the daemon key and the storage master key are
// backed up separately by the operator (restore needs both in the target state directory).
//
// create_backup runs on the api thread while ingest continues: Env::copy_to (mdb_env_copy2 with
// compaction) takes a consistent snapshot into a private directory under the staging directory,
// the copy is opened read-only to read its audit head, the manifest is signed and the backup
// file written beside it; the copy is removed on every path. The caller streams the staged file
// in chunks (read_file_chunk, the same chunked download as the audit export) and removes it.
//
// restore_backup is `gongshud restore`: it checks the manifest signature against the trusted
// daemon key, the data's length and SHA-256, then opens the restored store in a temporary
// directory inside the state directory (with the state directory's keyring of key shares,
// daemon/daemon_store.h), verifies the whole audit log with core/audit's verifier
// (an export written from the restored store) and checks its tree size and root against the
// manifest, checks that the state directory's master key opens the restored data keys, appends
// a `restore` audit entry and a checkpoint, and only then renames the store into place. A state
// directory that already holds a store is refused unless `force` is set; the daemon must not be
// running on it.
//
// Threads: none of their own. Functions here are safe to call from any one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/audit/merkle.h"
#include "core/crypto/identity.h"
#include "core/crypto/sha256.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "core/util/error.h"
#include "gongshu/v1/api.pb.h"

namespace gongshu::daemon {

class DaemonStore;
struct ApiContext;
struct Caller;
struct Refusal;
using Reply = Expected<void, Refusal>;  // as in api_context.h

inline constexpr std::string_view kBackupMagic = "GSBACKUP1\n";
inline constexpr std::string_view kBackupDomain = "gongshu.backup.v1";
inline constexpr uint32_t kBackupFormat = 1;
// Everything before the data (magic, manifest, signature line) is at most this long.
inline constexpr size_t kMaxBackupHeader = 4096;

struct BackupManifest {
  uint32_t format = kBackupFormat;
  std::string origin;  // the audit log's origin line
  uint64_t tree_size = 0;
  audit::Hash root{};
  crypto::Digest data_sha256{};
  uint64_t data_length = 0;
  int64_t created_at_ms = 0;
  crypto::PublicKey daemon_key;
};

// The signed manifest lines (docs/protocol.md):
//   "format 1\norigin O\ntree_size N\nroot B64\ndata_sha256 HEX\ndata_length N\n"
//   "created_at_ms N\ndaemon_key HEX\n"
std::string manifest_text(const BackupManifest& m);

// A backup file's header, parsed but not yet trusted.
struct BackupHeader {
  BackupManifest manifest;
  std::string signed_text;  // the manifest lines exactly as read
  crypto::Signature signature{};
  uint64_t data_offset = 0;  // where the LMDB data starts
  uint64_t file_size = 0;
};

// Parses the header of the backup at path (size-limited, strict field order, no unknown field)
// and checks that the file holds exactly data_length bytes of data after it.
Result<BackupHeader> read_backup_header(const std::string& path);

// A backup made and staged by the daemon for download.
struct StagedBackup {
  std::string id;    // 16 hex characters
  std::string path;  // <staging_dir>/backup-<id>.gsb
  uint64_t size = 0;
  BackupManifest manifest;
};

// Makes a backup of store into staging_dir (created 0700 if missing; older staged backups there
// are removed first: one download at a time).
Result<StagedBackup> create_backup(DaemonStore& store, const std::string& staging_dir);

// The path of staged backup id in staging_dir; kInvalidArgument for an id that is not 16 hex.
Result<std::string> staged_backup_path(const std::string& staging_dir, std::string_view id);

// One chunk of a staged file for a chunked download: at most max bytes from offset; last when it
// reaches the end. kInvalidArgument for an offset beyond the end.
struct FileChunk {
  Bytes data;
  bool last = false;
  uint64_t total = 0;  // the file's size
};
Result<FileChunk> read_file_chunk(const std::string& path, uint64_t offset, size_t max);

// The api request `backup` (operators; audited as action `backup` in the live log).
Reply backup(ApiContext& ctx, const Caller& c, const v1::BackupRequest& req, v1::ApiResponse& resp);

struct RestoreOptions {
  std::string from;                // the backup file
  std::string state_dir;           // holds daemon.key and master.key; receives store/
  std::string trusted_daemon_key;  // 64 hex; empty: the public half of <state_dir>/daemon.key
  std::string master_key_path;     // empty: $CREDENTIALS_DIRECTORY/master.key, else
                                   // <state_dir>/master.key (as gongshud run finds it)
  // Further keys the audit log may be signed by (64 hex each), e.g. the original key of a
  // daemon whose key was rotated after its first checkpoints.
  std::vector<std::string> audit_keys;
  bool force = false;  // replace a store already in state_dir
  // Re-seeding a replica (docs/replication.md §6): the restored store must stay exactly the
  // primary's at the backup's changelog head, so no `restore` entry or checkpoint is appended
  // (the replica's audit root is checked against the primary's with every write set). Everything
  // else is verified as usual.
  bool replica = false;
};

struct RestoreReport {
  BackupManifest manifest;
  uint64_t verified_entries = 0;  // audit entries verified in the backup
  uint64_t checkpoints = 0;       // signed checkpoints verified among them
  uint64_t restore_seq = 0;       // the `restore` entry appended after them (0: replica)
  bool replaced = false;          // an existing store was replaced (force)
  // Datasets in the backup that cannot be read: destroyed (their key share is gone from the
  // state directory's keyring) or never keyed.
  std::vector<std::string> shredded;
};

Result<RestoreReport> restore_backup(const RestoreOptions& options, const Clock& clock);

}  // namespace gongshu::daemon
