// Intake: the one way records enter the spool, whatever their input (a submitted file, the drop
// directory, the local socket). Each record is looked up in the cached catalog (a dataset that
// is not approved there refuses it, naming its state: CatalogCache::refused_state), normalised
// (canonical identifiers), validated, and serialised once — those bytes are what is later
// hashed, signed and sent. Accepted records and rejections (with source, code, field, reason)
// are queued in memory and written by commit() in one durable LMDB transaction, so callers
// group many records per commit and answer their producer only after it returns.
//
// spool_file() drives a RecordReader through an Intake with bounded groups, and records how many
// rows of the file are spooled in the same transactions, so that an interrupted run resumes
// after them instead of spooling them twice. It parses on a second thread (a bounded queue of
// row chunks between them), so parsing and validating + encrypting + writing overlap.
//
// One Intake per thread; it borrows the Spool and the Clock, which must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/catalog_cache.h"
#include "agent/record_reader.h"
#include "agent/spool.h"
#include "core/catalog/validate.h"
#include "core/util/clock.h"

namespace gongshu::agent {

class Intake {
 public:
  Intake(Spool& spool, const Clock& clock) : spool_(spool), clock_(clock) {}

  // Reloads the cached catalog if another process replaced it since the last call.
  Status refresh_catalog();
  const CatalogCache& catalog() const { return catalog_; }
  Spool& spool() { return spool_; }

  // Normalises and validates record (in place) and queues its bytes as accepted, or it as
  // rejected; returns the verdict.
  catalog::Verdict add(v1::Record& record, const std::string& source);
  // Queues a rejection of input that did not become a Record.
  void add_rejection(const std::string& dataset, v1::RecordStatusCode code,
                     const std::string& field, const std::string& reason, const std::string& source,
                     const std::string& raw);

  size_t queued() const { return accepted_.size() + rejected_.size(); }
  size_t queued_bytes() const { return queued_bytes_; }

  // Writes everything queued in one durable transaction, together with extra (if given).
  // On failure the queue is kept; discard() drops it.
  Status commit(const std::function<Status(store::WriteTxn&)>& extra = {});
  void discard();

 private:
  Spool& spool_;
  const Clock& clock_;
  CatalogCache catalog_;
  bool catalog_loaded_ = false;
  std::vector<agentpb::PendingRecord> accepted_;
  std::vector<agentpb::RejectedRecord> rejected_;
  size_t queued_bytes_ = 0;
};

struct FileProgress {
  uint64_t rows = 0;  // rows read (including any skipped on resume)
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t resumed_after = 0;  // rows spooled by an earlier, interrupted run
  uint64_t bytes_read = 0;
  uint64_t bytes_total = 0;
  std::vector<std::string> first_rejections;  // "source: reason", the first few
};

struct SpoolFileOptions {
  std::string source;        // prefix of each record's source, e.g. the file name
  std::string dataset;       // the dataset the file is for
  std::string progress_key;  // identifies the file for resuming; empty: no resume
  // At the end, leave the progress key marked complete (kProgressComplete) instead of deleting
  // it: for a caller that still has to move the file and deletes the key after that.
  bool keep_complete_marker = false;
  size_t group_records = 2000;
  size_t group_bytes = 2 << 20;
  size_t keep_rejections = 10;
  // Called after each commit.
  std::function<void(const FileProgress&)> on_commit;
};

// Reads every row, spools it (or its rejection) and returns the counts once all is durable.
Result<FileProgress> spool_file(Intake& intake, RecordReader& reader,
                                const SpoolFileOptions& options);

// Serialises record into out (replacing its contents) with the very bytes SerializeToString
// gives, but without protobuf's UTF-8 check of every string field on the way out (~12% of an
// intake's CPU): the readers have checked the text already (TextDecoder::to_utf8). A record with
// unknown fields goes protobuf's way. false if it cannot be serialised (over 2 GiB).
bool serialize_record(const v1::Record& record, std::string& out);

inline constexpr uint64_t kProgressComplete = ~uint64_t{0};

// A key naming one version of a file (device, inode, size, mtime) for resuming; empty if the
// file cannot be examined.
std::string file_progress_key(const std::string& path);

}  // namespace gongshu::agent
