// Self-contained proof files for officers, courts and inspectors (docs/audit-format.md):
//
// An inclusion proof shows that one entry is in the log under a signed checkpoint and reveals no
// other entry:
//   gongshu inclusion proof v1
//   seq <n>
//   tree_size <size>
//   entry <base64 of the entry's stored bytes>
//   path <base64 hash>          (zero or more, leaf to root)
//   checkpoint
//   <the signed note, verbatim, to the end of the file>
//
// A consistency proof shows that the log at new_size extends the log at old_size:
//   gongshu consistency proof v1
//   old_size <m>
//   new_size <n>
//   path <base64 hash>          (zero or more)
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/audit/checkpoint.h"
#include "core/audit/merkle.h"
#include "core/crypto/identity.h"
#include "core/util/error.h"
#include "gongshu/v1/audit.pb.h"

namespace gongshu::audit {

struct InclusionProofFile {
  uint64_t seq = 0;
  uint64_t tree_size = 0;
  Bytes entry;
  std::vector<Hash> path;
  std::string checkpoint;
};

struct ConsistencyProofFile {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<Hash> path;
};

std::string format_inclusion_proof(const InclusionProofFile& p);
Result<InclusionProofFile> parse_inclusion_proof(std::string_view text);
std::string format_consistency_proof(const ConsistencyProofFile& p);
Result<ConsistencyProofFile> parse_consistency_proof(std::string_view text);

struct CheckedInclusion {
  v1::AuditEntry entry;
  CheckpointBody checkpoint;
};

// Verifies the checkpoint's signature, that it is for tree_size, that the entry's seq matches,
// and the Merkle path. kUnauthenticated / kCorrupt say which part failed. A checkpoint signed
// by any one of keys is accepted (a daemon key rotation: docs/audit-format.md).
Result<CheckedInclusion> check_inclusion_proof(const InclusionProofFile& p,
                                               std::span<const crypto::PublicKey> keys);
inline Result<CheckedInclusion> check_inclusion_proof(const InclusionProofFile& p,
                                                      const crypto::PublicKey& key) {
  return check_inclusion_proof(p, std::span<const crypto::PublicKey>(&key, 1));
}

// Verifies both checkpoints' signatures (each by any one of keys) and the consistency path
// between them.
Result<std::pair<CheckpointBody, CheckpointBody>> check_consistency_proof(
    std::string_view old_checkpoint, std::string_view new_checkpoint, const ConsistencyProofFile& p,
    std::span<const crypto::PublicKey> keys);
inline Result<std::pair<CheckpointBody, CheckpointBody>> check_consistency_proof(
    std::string_view old_checkpoint, std::string_view new_checkpoint, const ConsistencyProofFile& p,
    const crypto::PublicKey& key) {
  return check_consistency_proof(old_checkpoint, new_checkpoint, p,
                                 std::span<const crypto::PublicKey>(&key, 1));
}

// An export loaded into a Merkle tree, for producing proofs. Requires a full export (from
// entry 1); keeps the bytes of one entry (keep_seq) and every checkpoint note.
struct LoadedExport {
  MemoryTree tree;
  std::map<uint64_t, std::string> checkpoints;
  std::optional<Bytes> kept_entry;
};
Result<LoadedExport> load_export(const std::string& path, std::optional<uint64_t> keep_seq);

// Builds an inclusion proof for seq against the export's checkpoint at checkpoint_size (0: the
// latest checkpoint that covers seq). Refuses if the checkpoint's root does not match.
Result<InclusionProofFile> prove_inclusion(const std::string& export_path, uint64_t seq,
                                           uint64_t checkpoint_size);
Result<ConsistencyProofFile> prove_consistency(const std::string& export_path, uint64_t old_size,
                                               uint64_t new_size);

}  // namespace gongshu::audit
