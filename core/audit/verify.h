// Offline verification of an audit export (DESIGN §7) with nothing but the file and the
// daemon's public key (or keys): every entry's canonical prefix, sequence (no gaps, no reordering)
// and chain; the Merkle root recomputed at every checkpoint and compared with the signed note;
// every checkpoint's signature; and, when given, receipts and a previously trusted checkpoint,
// which catch truncation, rollback and forks that an export alone cannot reveal.
//
//
// Daemon key rotation (docs/audit-format.md): the trusted keys start as options.key plus
// options.more_keys. A key_rotate or key_activate entry carries a rotation statement; one whose
// old key is trusted and whose two signatures verify adds the new key, and one whose old key is
// not trusted is reported as tampering at that entry. After a key_activate entry the old key is
// retired: later checkpoints must be signed by a key that is not retired. Receipts verify with
// any trusted key, retired or not.
//
// Streaming: memory is O(log n) plus the receipts; the file is read once. Thread-safe (no
// shared state).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/audit/merkle.h"
#include "core/crypto/identity.h"
#include "core/util/bytes.h"
#include "gongshu/v1/batch.pb.h"

namespace gongshu::audit {

struct ReceiptInput {
  std::string name;  // file name, for messages
  v1::Receipt receipt;
};

struct VerifyOptions {
  crypto::PublicKey key;                     // all zero: only more_keys
  std::vector<crypto::PublicKey> more_keys;  // further trusted daemon keys
  std::vector<ReceiptInput> receipts;
  std::optional<std::string> trusted_checkpoint;  // a signed note kept from earlier
  // An export that does not start at entry 1 is an excerpt: its chain and signatures are
  // checked, but not its roots. Without this flag a missing prefix is tampering.
  bool allow_excerpt = false;
  // Called every 2^16 entries with (bytes read, file size).
  std::function<void(uint64_t, uint64_t)> progress;
  // Readers of the verified bytes (the officers' report), in the same single pass, so what they
  // read is what was verified: on_entry gets each entry once its sequence and chain hold (its
  // stored bytes, valid during the call only), on_checkpoint each checkpoint's tree size once
  // its signature and root hold. What they were shown counts only if the run ends kOk; entries
  // after the last checkpoint are chained but not signed.
  std::function<void(uint64_t seq, ByteView entry)> on_entry;
  std::function<void(uint64_t tree_size)> on_checkpoint;
};

enum class VerifyStatus {
  kOk,        // verified
  kTampered,  // the export, a receipt or the trusted checkpoint shows tampering
  kError,     // could not run (file unreadable, not an export)
};

struct [[nodiscard]] VerifyReport {
  VerifyStatus status = VerifyStatus::kError;
  uint64_t entries = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t tree_size = 0;    // for a full export: the entry count
  Hash root{};               // MTH over all entries (full exports)
  bool full = false;         // the export starts at seq 1, so roots were checked
  uint64_t checkpoints = 0;  // verified checkpoints
  uint64_t last_checkpoint_size = 0;
  uint64_t unsigned_tail = 0;  // entries after the last checkpoint: chained, not yet signed
  uint64_t receipts = 0;       // verified receipts
  std::string origin;
  // Daemon key rotations met, in order: "<seq>: <action> <old key id> -> <new key id>".
  std::vector<std::string> key_rotations;
  std::vector<crypto::PublicKey> trusted_keys;  // at the end: the initial keys and those learnt
  // On failure: the first sequence number that fails (0 when it is not about one entry) and why.
  uint64_t failing_seq = 0;
  std::string reason;
};

VerifyReport verify_export(const std::string& path, const VerifyOptions& options);

}  // namespace gongshu::audit
