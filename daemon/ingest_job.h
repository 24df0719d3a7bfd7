// Job: one SealedBatch from one agent connection, from arrival to ack, as the ingest pipeline
// (daemon/ingest.h) hands it from stage to stage: the net thread makes it, a worker prepares it
// (daemon/ingest_prepare.h), the writer commits it (daemon/ingest_apply.h), the net thread sends
// its ack, and the worker that prepared it frees it.
//
// A job is touched by one stage at a time; the pipeline's mutex orders the hand-overs.
#pragma once

#include <google/protobuf/arena.h>

#include <algorithm>
#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <vector>

#include "core/batch/batch.h"
#include "core/catalog/record_view.h"
#include "core/catalog/validate.h"
#include "core/crypto/sha256.h"
#include "core/wire/server_channel.h"
#include "daemon/stored.pb.h"
#include "gongshu/v1/batch.pb.h"

namespace gongshu::daemon {

// What a worker makes of one record. Its buffers are on the job's arena (`Job::memory`).
struct PreparedRecord {
  explicit PreparedRecord(std::pmr::memory_resource* memory)
      : record(memory), stored_key(memory), subject_key(memory), version_bytes(memory) {}

  uint32_t index = 0;
  // Read in place from the batch, or from a message on the job's arena when its encoding is not
  // the canonical one (core/catalog/record_view.h).
  catalog::RecordView record;
  std::pmr::string stored_key;  // record_key_of(dataset, record key): its key in records
  catalog::Verdict verdict;
  // Its subject index entry (daemon/subject_index.h) with the run still to be set by the writer,
  // which alone numbers versions; empty when the record names no subject.
  std::pmr::vector<uint8_t> subject_key;
  // The stored::Version as far as a worker knows it, the record encrypted (version_encoding.h):
  // the single writer appends the three fields it alone knows and writes.
  std::pmr::string version_bytes;
  size_t version_head_size = 0;  // what the worker wrote (a retried commit appends again)
  uint32_t head_slot = 0;        // its record's in GroupWrites::heads (set by the writer)
  // Its dataset's schema when the dataset is in the catalog (kept alive by Job::catalog), and
  // the fields it gives a value, for the delivery counts (daemon/delivery_stats.h) and the
  // writer's reference checks.
  const catalog::DatasetSchema* schema = nullptr;
  catalog::FieldMask present;
};

// One SealedBatch from one connection, from arrival to ack.
struct Job {
  // `payload_size`: the frame's size, by which the arena's first block is sized.
  explicit Job(size_t payload_size)
      : memory(std::clamp<size_t>(3 * payload_size, 4096, 64 << 20)) {}

  // The batch and its parsed records live here and are freed in one go with the job, after the
  // ack, by the worker that prepared it (see `spent`): protobuf messages on `arena`, the records'
  // keys, field lists and versions on `memory` (a record's come to 2-3 times its size).
  google::protobuf::Arena arena;
  std::pmr::monotonic_buffer_resource memory;
  wire::RoutingId from;
  uint64_t repl_seq = 0;     // replicated: the changelog seq its commit reached (ack after synced)
  unsigned worker = 0;       // the worker that prepared it, and frees it
  std::string agent_key_id;  // from the connection's ZAP identity, never from the message
  uint64_t seq = 0;
  Bytes payload;
  // Filled by a worker.
  std::optional<batch::Rejection> refusal;
  batch::OpenedBatch batch;  // once opened: its header on the arena, its records views
  crypto::Digest batch_hash{};
  std::string agency;
  // The catalog the worker validated against: the records' schemas point into it.
  std::shared_ptr<const std::map<std::string, catalog::DatasetSchema, std::less<>>> catalog;
  std::vector<PreparedRecord> records;
  bool prepared = false;
  size_t weight() const { return records.size(); }  // for the group's record budget
  // Filled by the writer.
  v1::BatchAck ack;
  // What apply() stores for the batch, on the arena; commit_group adds the receipt and puts it.
  stored::Batch* stored = nullptr;
  // A re-sent copy of a batch stored earlier in the same group: answered as that one is.
  const Job* copy_of = nullptr;
};

using JobPtr = std::shared_ptr<Job>;

// Refuses the whole batch (the writer audits it and answers with the code).
inline void set_refusal(Job& job, v1::BatchErrorCode code, std::string message) {
  job.refusal = batch::Rejection{code, std::move(message)};
}

}  // namespace gongshu::daemon
