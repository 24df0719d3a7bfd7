// RecordReader: the current versions of stored records, opened (DESIGN §6). Each stored version
// is encrypted under its dataset's data key with associated data naming the batch and index it
// arrived in (version_ad); the reader decrypts and parses it and hands it out UNMASKED — the
// caller masks every row before anything leaves the daemon (daemon/access.cc).
//
// One reader per read transaction; it must not outlive it. Single thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/sha256.h"
#include "core/store/txn.h"
#include "daemon/daemon_store.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::daemon {

struct CurrentRecord {
  std::string record_key;
  v1::Record record;  // the stored record as the agency delivered it
  uint64_t version = 0;
  bool valid = true;  // false: the current version is an invalidation
};

class RecordReader {
 public:
  RecordReader(DaemonStore& store, const store::Txn& txn) : store_(store), txn_(txn) {}

  // The current version of (dataset, record_key); nullopt when there is no such record.
  Result<std::optional<CurrentRecord>> get(const std::string& dataset, std::string_view record_key);

  // Visits the current version of each record of dataset in record key order, beginning after
  // the key `after` (empty: from the first). Invalidated records are skipped unless
  // include_invalidated. visit returns false to stop.
  using Visit = std::function<bool(CurrentRecord&&)>;
  Status scan(const std::string& dataset, std::string_view after, bool include_invalidated,
              const Visit& visit);

  // The same over the records of dataset indexed under a subject's blind-index token. The index
  // keeps every subject a record ever had, so the caller checks the record's current subject.
  Status scan_subject(const crypto::Digest& token, const std::string& dataset,
                      std::string_view after, bool include_invalidated, const Visit& visit);

  // The smallest `limit` record keys of dataset indexed under token that sort after `after`
  // (empty: from the start), gathered from every partition and run of the index
  // (daemon/subject_index.h), in order and without repeats. scan_subject visits the records a chunk
  // of these at a time.
  std::vector<std::string> subject_record_keys(const crypto::Digest& token,
                                               const std::string& dataset, std::string_view after,
                                               size_t limit);

 private:
  Result<CurrentRecord> open(const std::string& dataset, std::string_view record_key,
                             ByteView head_bytes);

  DaemonStore& store_;
  const store::Txn& txn_;
};

}  // namespace gongshu::daemon
