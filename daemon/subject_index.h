// The subject index: which stored records name a subject, found by the subject's blind
// token (DaemonStore::subject_token, a keyed hash; the identifier itself is never stored in
// clear). Two tables of DaemonStore:
//
//   subject_index  u64 BE partition || token (32) || dataset \0 record key  -> ""
//   subject_runs   u64 BE run start || token (32) || dataset \0 record key  -> ""
//
// A partition holds the entries written by 2^14 consecutive versions (subject_partition).
// Tokens are random, so entries sorted by token land at random places: written straight into
// its partition, a commit of N records dirtied up to N of the partition's ~300 pages, more than
// half of all the bytes ingest wrote. Instead, ingest appends each commit's entries, sorted, at
// the end of subject_runs: one run per partition the commit's versions fall in, keyed by its
// first version there (subject_run_start), so runs only ever extend that table at its end. Once
// the writer has numbered the last version of a partition, merge_subject_runs moves the
// partition's runs into subject_index, sorted, again at its end. A lookup seeks its token once
// per partition and once per run; a partition has at most a dozen runs while it fills.
//
// Stores from before runs hold only subject_index, whose newest partition may still fill: its
// runs are then merged among its entries. Nothing else changes for them.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/sha256.h"
#include "core/store/table.h"
#include "core/util/bytes.h"

namespace gongshu::daemon {

constexpr unsigned kSubjectPartitionShift = 14;

constexpr uint64_t subject_partition(uint64_t version) { return version >> kSubjectPartitionShift; }

// The run that holds the entry of `version` written by a commit whose first version is `first`.
constexpr uint64_t subject_run_start(uint64_t first, uint64_t version) {
  const uint64_t partition_start = subject_partition(version) << kSubjectPartitionShift;
  return first > partition_start ? first : partition_start;
}

// A key of either table: prefix (a partition, or a run start) || token || stored key
// (record_key_of).
Bytes subject_key(uint64_t prefix, const crypto::Digest& token, std::string_view stored_key);
std::pmr::vector<uint8_t> subject_key(uint64_t prefix, const crypto::Digest& token,
                                      std::string_view stored_key,
                                      std::pmr::memory_resource* memory);
// Sets the prefix of such a key (ingest makes keys before the writer numbers their versions).
void set_subject_prefix(std::span<uint8_t> key, uint64_t prefix);

// Moves the runs of the oldest partition whose last version is numbered (one before
// subject_partition(next_version)) into subject_index, sorted and without repeats, and deletes
// them. One partition per call, so one commit pays for one merge (16,384 entries: a few
// milliseconds). Returns how many entries the partition's runs held (0: nothing to merge).
Result<size_t> merge_subject_runs(store::WriteTxn& txn, const store::Table<ByteView>& runs,
                                  const store::Table<ByteView>& index, uint64_t next_version);

// Adds to `out` the record keys that follow `tail` (token || dataset \0) in the entries of
// every partition or run of `table` and sort after `after`, keeping only the `limit` smallest.
void gather_subject_keys(const store::Txn& txn, const store::Table<ByteView>& table, ByteView tail,
                         std::string_view after, size_t limit, std::set<std::string>& out);

}  // namespace gongshu::daemon
