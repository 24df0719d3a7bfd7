// Batches as they travel from an agent to the daemon (DESIGN §5, docs/protocol.md): record
// hashes, the canonical header bytes that are signed and hashed, sealing on the agent side and
// opening + verification on the daemon side. Pure functions over their inputs; thread-safe.
//
// Every check on the daemon side treats the sealed bytes as hostile: size limits come before
// any parsing, and a batch is refused whole with a BatchErrorCode and a message that the agent
// receives and the audit log records.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/arena.h>
#include "core/crypto/identity.h"
#include "core/crypto/sha256.h"
#include "core/util/bytes.h"
#include "core/util/error.h"

#include "gongshu/v1/batch.pb.h"

namespace gongshu::batch {

inline constexpr std::string_view kRecordDomain = "gongshu.record.v1";
inline constexpr std::string_view kBatchDomain = "gongshu.batch.v1";

struct Limits {
  size_t max_records = 10'000;
  size_t max_record_bytes = 64 * 1024;
  size_t max_batch_bytes = 32 * 1024 * 1024;  // the sealed message
};

crypto::Digest record_hash(ByteView record_bytes);

// The canonical header bytes of docs/protocol.md.
Bytes canonical_header_bytes(const v1::BatchHeader& header);
// SHA-256("gongshu.batch.v1\0" || header_bytes): the batch's event hash in receipts.
crypto::Digest batch_hash(const v1::BatchHeader& header);

// Agent side: fills header.record_hashes from records, signs, seals to the daemon.
// records are serialised Record messages; they travel exactly as given.
Result<v1::SealedBatch> seal_batch(const crypto::IdentityKey& agent,
                                   const crypto::PublicKey& daemon, v1::BatchHeader header,
                                   const std::vector<std::string>& records);

// Agent side, without a message per record (issue 19): a batch's SignedBatch encoding built in
// one buffer that is kept from batch to batch (no allocation once it has grown to a batch's
// size), each record appended as it is read and hashed as it goes; seal() writes the header and
// the signature in front of the records and seals the whole. The bytes sealed are exactly those
// seal_batch() seals for the same header and records — protobuf's serialisation of the
// SignedBatch — which a test holds them to.
class BatchBuilder {
 public:
  // Starts a new batch (the previous one is forgotten; its buffer is kept).
  void start();
  // Appends a record, hashing it (record_hash) for the header.
  void add(std::string_view record);
  // Appends a record whose record_hash the caller already has (the agent stores it with each
  // record at intake: spool format 4, agent/spool.h), so the drain does not hash it again. The
  // hash is taken as given, never checked here: a wrong one is signed into the header, and the
  // daemon, which hashes every record again (verify_batch), refuses the batch whole
  // (BATCH_BAD_SIGNATURE) — a wrong hash can get records refused, never a record accepted that
  // the header does not name.
  void add(std::string_view record, const crypto::Digest& hash);
  size_t count() const { return hashes_.size(); }
  size_t record_bytes() const { return record_bytes_; }
  // Signs and seals the batch for header fields agency, batch_seq and created_at_ms; the key ids
  // and record hashes are filled as seal_batch() fills them. Returns the sealed bytes (the
  // SealedBatch's `sealed`).
  Result<Bytes> seal(const crypto::IdentityKey& agent, const crypto::PublicKey& daemon,
                     std::string_view agency, uint64_t batch_seq, int64_t created_at_ms);
  // seal() in two steps, for sealing straight into memory the caller owns (the agent's outbox
  // page, so that the sealed batch is not made in a buffer of its own and copied): sign() signs
  // and lays out the SignedBatch and returns the size of its sealed bytes; seal_into() seals it
  // into out, which must be exactly that size. The bytes are those seal() returns.
  Result<size_t> sign(const crypto::IdentityKey& agent, const crypto::PublicKey& daemon,
                      std::string_view agency, uint64_t batch_seq, int64_t created_at_ms);
  Status seal_into(const crypto::PublicKey& daemon, std::span<uint8_t> out) const;
  // batch_hash() of the header the last seal() signed: the event_hash of the daemon's receipt
  // for this batch (the agent keeps it to tell its own batch's receipt from another's).
  const crypto::Digest& sealed_hash() const { return sealed_hash_; }
  // Gives the buffer back (for an idle agent).
  void release();
  // The buffer itself, lent for other work between a seal() and the next start() (the agent
  // builds each message it sends in it), so that one buffer of a batch's size is kept, not two.
  Bytes& buffer() { return buf_; }

 private:
  Bytes buf_;         // [0, gap_) room for the header and signature, then the records
  size_t gap_ = 0;    // where the first record starts
  size_t end_ = 0;    // end of the last record
  size_t begin_ = 0;  // where the signed SignedBatch starts (after sign())
  std::vector<crypto::Digest> hashes_;
  size_t record_bytes_ = 0;
  crypto::Digest sealed_hash_{};
};

// The protobuf encoding of SealedBatch{batch_seq, sealed} (no reported_backlog), written into
// out, which must hold sealed_batch_size(batch_seq, sealed.size()) bytes: for writing a sealed
// batch straight into the store.
size_t sealed_batch_size(uint64_t batch_seq, size_t sealed_size);
void write_sealed_batch(uint64_t batch_seq, ByteView sealed, std::span<uint8_t> out);
// Only the fields' tags and lengths of that encoding, for sealed bytes written in place after:
// returns the part of out (of sealed_batch_size bytes) where the sealed bytes go.
std::span<uint8_t> write_sealed_batch_prefix(uint64_t batch_seq, size_t sealed_size,
                                             std::span<uint8_t> out);

struct Rejection {
  v1::BatchErrorCode code;
  std::string message;
};

// A batch check's outcome: the value, or the rejection the batch is answered with.
// [[nodiscard]] as Result is (core/util/error.h Expected): a dropped rejection would let an
// unopened or unverified batch in.
template <typename T>
using Checked = Expected<T, Rejection>;

// A SignedBatch opened on the daemon side: its header parsed onto an arena, its signature and
// records views into the opened bytes it owns (a batch of 1,000 records is not copied into
// 1,000 strings). Move-only: moving keeps the bytes where the views point.
struct OpenedBatch {
  OpenedBatch() = default;
  OpenedBatch(OpenedBatch&&) noexcept = default;
  OpenedBatch& operator=(OpenedBatch&&) noexcept = default;
  OpenedBatch(const OpenedBatch&) = delete;
  OpenedBatch& operator=(const OpenedBatch&) = delete;

  Bytes plaintext;
  v1::BatchHeader* header = nullptr;  // on the arena given to open_batch
  std::string_view signature;
  std::vector<std::string_view> records;
};

// Daemon side, step 1: opens the seal and reads the SignedBatch, within limits. Canonical
// encodings are read in place (core/util/wire_reader.h); any other is parsed by protobuf onto
// `arena`, and the views point into that message.
Checked<OpenedBatch> open_batch(const crypto::IdentityKey& daemon, const v1::SealedBatch& sealed,
                                const Limits& limits, google::protobuf::Arena& arena);

// Step 2: checks the batch against the connection's agent key: the header names that key and
// the daemon, the signature verifies, the sequence number matches the envelope, and each record
// hashes to its entry in the header.
Checked<crypto::Digest> verify_batch(const OpenedBatch& batch, uint64_t envelope_seq,
                                     const crypto::PublicKey& agent_key,
                                     const crypto::PublicKey& daemon_key, const Limits& limits);

}  // namespace gongshu::batch
