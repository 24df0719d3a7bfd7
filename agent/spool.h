// Spool: the agent's durable store, one LMDB environment in STATE_DIR/spool, shared by every
// agent process on the machine (the `run` service and any `submit`); each process opens it once.
//
// Tables:
//   pending   u64 pending_seq -> box(PendingRecord)   records accepted and not yet acknowledged
//   outbox    u64 batch_seq   -> OutboxEntry bytes     sealed batches not yet acknowledged
//   receipts  u64 batch_seq   -> StoredReceipt         every receipt the daemon sent
//   rejected  u64 reject_seq  -> box(RejectedRecord)   refused records, with source and reason
//   catalog   dataset id      -> DatasetEntry          the catalog cached from the daemon
//   meta      name            -> value                 counters, enrollment, service state
//
// "box" is XChaCha20-Poly1305 under the spool key (STATE_DIR/spool.key: 32 random bytes, mode
// 0600, read straight into SecretBytes), with associated data naming the table and the key, so a
// box moved to another slot does not open. Record text never reaches data.mdb in the clear.
//
// Pending values come in four formats, all read (a spool written by an older agent drains after
// an upgrade, record by record, with no migration step); only the newest is written:
//   1 (written until December 2026): nonce (24, random) || ciphertext || tag (16).
//   2 (written until format 3): 0x02 || salt (16) || ciphertext || tag (16), the records of
//     one write transaction sharing one salt: a crypto::AeadSegment, whose messages are
//     XChaCha20-Poly1305 boxes with nonce salt || be64(pending_seq) — the same construction as
//     format 1 with the nonce's last 8 bytes the slot's own number rather than random, so the
//     subkey XChaCha20 derives from the salt is derived once per transaction (about once per batch
//     when reading) rather than once per record (issue 19: 13-30% of a 530-byte record's decryption
//     in a micro-benchmark; the value is 7 bytes shorter too).
//   3 (issue 19's segments, written until format 4): 0x03 || salt (16) || be32(count) ||
//     ciphertext || tag (16), stored at the key of its FIRST record and holding `count` records,
//     pending_seqs key .. key + count - 1: the plaintext is each PendingRecord as be32(length) ||
//     bytes, in order, and the whole is ONE AeadSegment message (counter = key) with associated
//     data naming the table, the first seq and the count. So a segment of up to
//     SpoolOptions::segment_records records (and at most kSegmentMaxBytes of plaintext) is
//     decrypted once and deleted with one key, not once per record: decryption paid a fixed
//     ~0.45 us per box on the reference machine beside ~0.7 ns per byte, and deleting acked
//     records was 8-9% of the sealer (issue 19). A batch always covers whole entries (the
//     forwarder never splits a segment across batches), so an ack deletes whole entries and a
//     crash never leaves a half-acknowledged segment; a segment is at most max_records records
//     (the agent's [batch] max_records when it was written, capped at 100), so a batch of whole
//     segments stays within max_records unless max_records was lowered later, when a segment
//     is sent alone as one batch of up to 100 records.
//   4 (written since issue 19's stored hashes): format 3 with each record's hash in the box:
//     0x04 || salt (16) || be32(count) || ciphertext || tag (16), the plaintext each record as
//     be32(length) || batch::record_hash of its Record bytes (32) || PendingRecord bytes
//     (length), the associated data format 3's with 0x04 as its last byte. The hash the signed
//     batch header names for each record is computed once, at intake (PendingWriter::append),
//     and read back by the drain instead of hashed again there (~0.35 us of the sealing thread's
//     ~2.2 us a record, issue 19). It is inside the box, so only this agent's writer can have
//     put it there; and a wrong one cannot get a record accepted: the daemon hashes every record
//     again (batch::verify_batch) and refuses the batch whole, whose records the agent then
//     files as refused (agent/forwarder.cc). An agent of before format 4 cannot read these
//     entries: it would file them as unreadable, their records lost, so an agent is never
//     downgraded over a spool that holds them (let it drain first).
// Keys of format-3 and 4 entries are no longer dense (one per segment), so pending().count()
// counts entries, not records: pending_records() is the number of records spooled and
// unacknowledged (a meta counter kept from the first format-3 write on; before it, the entry
// count). Every format authenticates each entry on its own, with the same associated data (table
// and pending_seq): a record moved to another slot, within or across transactions and batches, or
// into another spool, does not open; nor does one whose salt or format byte is altered. A
// format-2 (3, 4) value is told by its first byte and opened as such; should that fail, it is
// tried as format 1 (whose random nonce starts with 0x02, 0x03 or 0x04 once in 256 each), so no
// value is misread and a mixed spool reads whole.
//
// Pending records keep their order: pending_seq comes from the meta counter kNextPending in the
// write transaction that stores them, so record numbers are dense and increasing (an entry of
// format 3 or 4 holds a run of them). A batch covers the range [first_pending,
// first_pending + count) of whole entries and those records stay in `pending` until the batch's
// ack arrives, which is when rejected ones are filed and the range's entries deleted; so nothing
// is copied twice and nothing is lost in between.
//
// Threads: Spool is safe to share between threads (LMDB transactions; the key is immutable).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent.pb.h"
#include "core/crypto/aead.h"
#include "core/crypto/sha256.h"
#include "core/store/env.h"
#include "core/store/table.h"
#include "core/store/txn.h"
#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu::agent {

// meta keys (u64 values unless said)
inline constexpr std::string_view kNextPending = "next_pending";     // next pending_seq (from 1)
inline constexpr std::string_view kBatchedUpTo = "batched_up_to";    // last pending_seq batched
inline constexpr std::string_view kNextBatchSeq = "next_batch_seq";  // next batch_seq (from 1)
inline constexpr std::string_view kNextRejected = "next_rejected";
inline constexpr std::string_view kCountAccepted = "count.accepted";  // records spooled
inline constexpr std::string_view kCountRejectedLocal = "count.rejected_local";
inline constexpr std::string_view kCountRejectedDaemon = "count.rejected_daemon";
inline constexpr std::string_view kCountAckedRecords = "count.acked_records";
inline constexpr std::string_view kCountAckedBatches = "count.acked_batches";
inline constexpr std::string_view kLastReceiptSeq = "last_receipt_batch";  // batch_seq of it
inline constexpr std::string_view kCatalogGeneration = "catalog.generation";
inline constexpr std::string_view kCatalogRefreshedMs = "catalog.refreshed_ms";
inline constexpr std::string_view kEnrollment = "enrollment";       // Enrollment message
inline constexpr std::string_view kServiceState = "service_state";  // ServiceState message
inline constexpr std::string_view kProgressPrefix = "progress/";    // input file -> lines done
// Records in `pending` (formats 3 and 4 above); absent until the first segment is written.
inline constexpr std::string_view kPendingRecords = "pending_records";

// Records of one segment (format 3 or 4) at most (SpoolOptions::segment_records is capped by it),
// and the plaintext bytes after which a segment is closed whatever its count.
inline constexpr uint32_t kSegmentMaxRecords = 100;
inline constexpr size_t kSegmentMaxBytes = 256 << 10;

struct SpoolOptions {
  uint64_t max_bytes = uint64_t{64} << 30;
  // Records per segment written (1..kSegmentMaxRecords): the agent's [batch]
  // max_records, so batches of whole segments can be full ones.
  uint32_t segment_records = kSegmentMaxRecords;
};

// One pending entry read back (Spool::open_pending_records): its records' Record bytes, in
// order, as views into plain (or into spill, for a record protobuf had to read), and for an
// entry of format 4 each record's batch::record_hash as stored at intake (hashes[i] is
// records[i]'s; empty for the formats before, whose records the reader hashes). Kept by the
// caller from entry to entry.
struct PendingRead {
  Bytes plain;
  std::vector<std::string_view> records;
  std::vector<crypto::Digest> hashes;
  std::deque<std::string> spill;
};

// An outbox value: u64 first_pending || u32 count || i64 created_at_ms || [32-byte batch hash]
// || encoded SealedBatch || a second SealedBatch holding only reported_backlog
// (agent/forwarder.cc: the message sent). The batch hash — batch::batch_hash of the header the
// agent sealed, which the daemon's receipt names as event_hash — is there when count's top bit
// (kOutboxHasHash) is set: every batch sealed since it was kept. An ack or a re-enrollment answer
// whose receipt names another event is for someone else's batch under the same number (a leaked
// key) and settles nothing (agent/forwarder.h "Acks", agent/reenrollment.h). Entries of a spool
// written before (no flag) read as they did, without a hash: their receipts are checked as
// before, by the daemon key alone.
struct OutboxEntry {
  uint64_t first_pending = 0;
  uint32_t count = 0;
  int64_t created_at_ms = 0;
  ByteView batch_hash;  // 32 bytes; empty for an entry from before hashes were kept
  ByteView message;     // the SealedBatch sent (and re-sent), plus the advisory backlog field
};
inline constexpr size_t kOutboxHeaderSize = 8 + 4 + 8;
inline constexpr uint32_t kOutboxHasHash = 0x8000'0000u;
inline constexpr size_t kOutboxHashSize = 32;
// Whether a receipt naming event_hash is for this batch: true for an entry without a hash.
bool outbox_receipt_matches(const OutboxEntry& entry, std::string_view event_hash);
Bytes encode_outbox(uint64_t first_pending, uint32_t count, int64_t created_at_ms,
                    ByteView message);
// The header followed by message_size bytes for the caller to fill.
Bytes encode_outbox(uint64_t first_pending, uint32_t count, int64_t created_at_ms,
                    size_t message_size);
// Writes the header alone into out (kOutboxHeaderSize bytes), the message to follow it; with a
// batch_hash (kOutboxHashSize bytes), the flag and the hash too (kOutboxHeaderSize +
// kOutboxHashSize bytes).
void put_outbox_header(uint8_t* out, uint64_t first_pending, uint32_t count, int64_t created_at_ms,
                       ByteView batch_hash = {});
Result<OutboxEntry> decode_outbox(ByteView value);

class Spool {
 public:
  // Creates STATE_DIR (0700) and the spool key if this is a new spool; refuses a spool whose
  // key is missing or unsafe.
  static Result<std::unique_ptr<Spool>> open(const std::string& state_dir,
                                             const SpoolOptions& options = {});

  store::Env& env() { return *env_; }
  const std::string& state_dir() const { return state_dir_; }

  const store::Table<uint64_t>& pending() const { return pending_; }
  const store::Table<uint64_t>& outbox() const { return outbox_; }
  const store::Table<uint64_t>& receipts() const { return receipts_; }
  const store::Table<uint64_t>& rejected() const { return rejected_; }
  const store::Table<std::string_view>& catalog() const { return catalog_; }

  // meta
  uint64_t get_u64(const store::Txn& txn, std::string_view key) const;
  Status put_u64(store::WriteTxn& txn, std::string_view key, uint64_t value) const;
  Status add_u64(store::WriteTxn& txn, std::string_view key, uint64_t delta) const;
  std::optional<ByteView> get_meta(const store::Txn& txn, std::string_view key) const;
  Status put_meta(store::WriteTxn& txn, std::string_view key, ByteView value) const;
  Status del_meta(store::WriteTxn& txn, std::string_view key) const;

  // Appends records at the next pending_seqs of txn, in format-4 segments (above) of
  // segment_records records: one writer per write transaction, all its segments under one key
  // derivation. The writer must not outlive txn, and finish() must be called before txn commits
  // (records appended after the last full segment are written by it).
  class PendingWriter {
   public:
    // Takes rec for the next pending_seq (returned), with the record_hash of rec.record(),
    // computed here; written once its segment is full or at finish(). After a failure the
    // transaction must be aborted, and the writer refuses more.
    Result<uint64_t> append(const agentpb::PendingRecord& rec);
    // Writes the records not yet written. Required before the commit.
    Status finish();
    // A writer destroyed with records appended and not written (no finish()) is a broken
    // invariant: committed so, append()'s seqs would be lost. GONGSHU_CHECK aborts, before the
    // commit, unless an append or finish failed (the transaction is then aborted anyway).
    ~PendingWriter();

   private:
    friend class Spool;
    PendingWriter(const Spool& spool, store::WriteTxn& txn);
    Status flush();
    const Spool& spool_;
    store::WriteTxn& txn_;
    crypto::AeadSegment segment_;
    uint64_t next_ = 0;    // 0 until read from meta at the first append
    bool failed_ = false;  // an append failed: the writer refuses more (see append)
    uint64_t first_ = 0;   // the open segment's first pending_seq
    uint32_t count_ = 0;   // records in it
    std::string plain_;    // its plaintext so far
  };
  PendingWriter pending_writer(store::WriteTxn& txn) const;
  // Stores one record at the next pending_seq (returned), encrypted: a segment of its own (a
  // transaction appending many records uses pending_writer()).
  Result<uint64_t> append_pending(store::WriteTxn& txn, const agentpb::PendingRecord& rec) const;

  // Records spooled and not yet acknowledged (kPendingRecords, or the entry count of a spool
  // with no segment yet).
  uint64_t pending_records(const store::Txn& txn) const;
  // Counts n records gone from `pending` (deleted), where the counter is kept.
  Status pending_records_gone(store::WriteTxn& txn, uint64_t n) const;
  // The number of records a pending entry holds, read from its format-3 or 4 header without
  // opening it (so not authenticated: an estimate until opened); 1 for formats 1 and 2.
  static uint32_t peek_pending_count(ByteView value);
  // Every record of the entry at key (any format), decrypted into out->plain: its Record bytes
  // in out->records, and their stored hashes in out->hashes for format 4 (the batcher's path).
  // Fails where open_pending fails.
  Status open_pending_records(uint64_t key, ByteView value, PendingRead* out) const;
  // The whole PendingRecords of the entry at key (any format), in order.
  Result<std::vector<agentpb::PendingRecord>> open_pending_entry(uint64_t key,
                                                                 ByteView value) const;
  // A one-record entry (formats 1 and 2; a segment is read by open_pending_entry).
  Result<agentpb::PendingRecord> open_pending(uint64_t seq, ByteView box) const;
  // Only the record bytes of a pending entry, read in place from its plaintext, which is
  // decrypted into *plain (kept by the caller from entry to entry, and not reallocated while
  // records are of similar size): the batcher's path, without a message or a copy per record.
  // Fails where open_pending fails, and gives the bytes open_pending's record() would (an
  // encoding protobuf could read otherwise goes to protobuf). The subkey of the segment read
  // last is kept (one derivation per segment, whichever thread reads).
  Result<std::string_view> open_pending_record(uint64_t seq, ByteView box, Bytes* plain) const;
  // Decrypts a pending value of either format into *plain.
  Status open_pending_plain(uint64_t seq, ByteView box, Bytes* plain) const;

  // Files a refused record (counted as local or daemon rejection by rec.by_daemon()).
  Status add_rejected(store::WriteTxn& txn, const agentpb::RejectedRecord& rec) const;
  Result<agentpb::RejectedRecord> open_rejected(uint64_t seq, ByteView box) const;

  std::optional<agentpb::Enrollment> enrollment(const store::Txn& txn) const;

 private:
  Spool(std::string state_dir, std::unique_ptr<store::Env> env, crypto::DataKey key,
        store::Table<uint64_t> pending, store::Table<uint64_t> outbox,
        store::Table<uint64_t> receipts, store::Table<uint64_t> rejected,
        store::Table<std::string_view> catalog, store::Table<std::string_view> meta);

  std::string state_dir_;
  std::unique_ptr<store::Env> env_;
  crypto::DataKey key_;
  store::Table<uint64_t> pending_;
  store::Table<uint64_t> outbox_;
  store::Table<uint64_t> receipts_;
  store::Table<uint64_t> rejected_;
  store::Table<std::string_view> catalog_;
  store::Table<std::string_view> meta_;
  uint32_t segment_records_ = kSegmentMaxRecords;
  // The segment whose records were read last (open_pending_plain), under its lock.
  mutable std::mutex read_segment_mu_;
  mutable std::optional<crypto::AeadSegment> read_segment_;
};

// Creates the state directory (mode 0700) if it does not exist.
Status make_state_dir(const std::string& path);

// Reads or creates the 32-byte spool key file (mode 0600, owned by us, not a symlink).
Result<crypto::DataKey> load_or_create_spool_key(const std::string& path, bool create);

}  // namespace gongshu::agent
