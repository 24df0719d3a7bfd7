// The writer stage of the ingest pipeline (daemon/ingest.h): the single thread that writes.
// IngestWriter takes prepared jobs (daemon/ingest_prepare.h) a group at a time, in the order the
// pipeline gives them, and commits the group in ONE durable LMDB transaction: records,
// versions, subject index, dedup markers, audit entries and receipts; then each job's ack says
// what became of its batch. It touches nothing but the store and the jobs, so it is tested
// without sockets or threads.
//
// Refusals (whole batches refused, re-sent duplicates, and what the net thread turned away
// without a job, passed in as NetRefusals) are audited through a RefusalDigest: the first few of
// a key's minute one by one, the rest in one summary entry per key and minute.
//
// Threads: one writer calls commit_group and idle; counters may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/audit/log.h"
#include "core/sys/logger.h"
#include "daemon/daemon_store.h"
#include "daemon/directory.h"
#include "daemon/ingest_job.h"
#include "daemon/refusal_digest.h"
#include "daemon/status.h"

namespace gongshu::daemon {

// Frames turned away before they became jobs, by key and kind, with their counts.
using NetRefusals = std::map<std::string, std::map<std::string, uint64_t>>;

struct GroupWrites;

class IngestWriter {
 public:
  struct Counters {
    explicit Counters(const Clock& clock) : accepted_window(clock) {}
    std::atomic<uint64_t> batches{0}, accepted{0}, rejected{0}, duplicates{0}, refused{0},
        commits{0}, summaries{0};
    std::atomic<uint64_t> apply_ns{0}, commit_ns{0};
    RateWindow accepted_window;  // once per commit, for `status`
  };

  IngestWriter(DaemonStore& s, Directory& d, unsigned audited_refusals_per_minute)
      : store(s),
        directory(d),
        digest(60'000, audited_refusals_per_minute),
        counters(store.clock()) {}

  // Commits group (prepared jobs, each agent's in the order it sent them) in one transaction
  // with the audit of `counted`; sets every job's ack. If the transaction fails nothing is
  // stored, every ack says BATCH_INTERNAL (resend), the digest is as it was and false is
  // returned: the caller keeps `counted` for the next commit.
  [[nodiscard]] bool commit_group(std::vector<JobPtr>& group, const NetRefusals& counted);
  // With no group to commit: audits `counted` and the summaries due, signs a checkpoint if one
  // is due, merges a closed partition's subject runs. On failure nothing is written and the
  // digest is as before: the caller gives `counted` to a later call.
  Status idle(const NetRefusals& counted);

  DaemonStore& store;
  Directory& directory;
  RefusalDigest digest;
  Counters counters;
  // Set before the writer runs. When a commit fails because the store is full (LMDB's map is
  // used up: kResourceExhausted), one warning says so, with the map's size and use in bytes
  // (GONGSHU_EVENT=store_full, GONGSHU_MAP_BYTES, GONGSHU_USED_BYTES); once a commit succeeds
  // again, one notice (GONGSHU_EVENT=store_recovered, GONGSHU_REFUSED_COMMITS). Not one line
  // per refused batch: a new episode within a minute of the last warning is not logged again.
  const sys::Logger* log = nullptr;

 private:
  void note_store(const Status& commit);
  bool store_full_ = false;   // the last commit failed for want of space
  bool full_logged_ = false;  // and this episode was logged
  uint64_t full_commits_ = 0;
  std::chrono::steady_clock::time_point last_full_line_{};

  Status audit_summaries(store::WriteTxn& txn, const NetRefusals& counted,
                         std::vector<audit::Appended>* appended);
  Status apply(store::WriteTxn& txn, Job& job, GroupWrites& writes,
               std::vector<audit::Appended>& appended);
  Status refuse(store::WriteTxn& txn, Job& job, std::vector<audit::Appended>& appended);
  // A batch seen before — stored earlier, or earlier in this group — is stored once: a copy with
  // the same content is answered as the first was (the replay audited), one with other content
  // under the same seq is refused. Returns whether the batch had been seen.
  Result<bool> answer_if_seen(store::WriteTxn& txn, Job& job, const GroupWrites& writes,
                              const std::string& bkey, std::vector<audit::Appended>& appended);
};

}  // namespace gongshu::daemon
