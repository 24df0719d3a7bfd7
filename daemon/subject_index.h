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
// first version there (subject_run_start), so runs only ever extend that table at its end. The
// commit that numbers past the last version of a partition merges the partition's runs, and its
// own entries of it, into subject_index, sorted, again at its end; the runs table, which then
// holds nothing else, is emptied in one go (write_subject_entries). A lookup seeks its token
// once per partition and once per run; a partition has at most a dozen runs while it fills.
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

// Sorts keys of either table, or their tails, bytewise and drops repeats. The first 16 bytes of
// each (a prefix and half a token, or a token) are compared as two integers, which orders nearly
// every pair of random tokens without a memcmp.
void sort_subject_keys(std::vector<ByteView>& keys);

// Writes a commit's entries (subject_key with their run starts set, in any order; none for an
// idle commit) now that the writer's next version is next_version. The oldest closed
// partition (one before subject_partition(next_version)) with runs or entries is merged: its runs
// and the commit's entries of it go into subject_index, sorted and without repeats, and its runs
// are deleted. One partition per call, so one commit pays for one merge (16,384 entries: a few
// milliseconds); a group that closes two leaves one for the next. The other entries are
// appended as runs. Returns how many entries the merge took (0: none).
Result<size_t> write_subject_entries(store::WriteTxn& txn, const store::Table<ByteView>& runs,
                                     const store::Table<ByteView>& index,
                                     std::vector<ByteView> entries, uint64_t next_version);

// Adds to `out` the record keys that follow `tail` (token || dataset \0) in the entries of
// every partition or run of `table` and sort after `after`, keeping only the `limit` smallest.
void gather_subject_keys(const store::Txn& txn, const store::Table<ByteView>& table, ByteView tail,
                         std::string_view after, size_t limit, std::set<std::string>& out);

}  // namespace gongshu::daemon
