// The shipped form of a write set (docs/replication.md §3): the bytes the primary stores in its
// changelog, streams to replicas and hashes into the chain. A compact binary layout, not
// protobuf, so the hashed bytes are defined here once and a replica checks exactly what it got.
//
//   magic    "GSW1"                           4 bytes
//   term     i64 big-endian                   the leader term that wrote it (≥ 1)
//   seq      u64 big-endian                   from 1, no gaps
//   prev     32 bytes                         hash of write set seq-1 (zeros for seq 1)
//   audit    u64 size, 32 bytes root          the audit tree after the transaction
//   tables   varint n (1..kMaxTables), n × (varint len (1..kMaxTableName), name)
//   ops      varint count (1..kMaxOps), varint byte length, then the ops of store/write_set.h
//   hash     32 bytes = SHA-256("gongshu/writeset/v1" 0x00 || every byte above)
//
// Every write set that reaches a replica is untrusted input: decode() checks sizes and limits
// before it reads, every op's table index, key length (1..511, LMDB's limit) and kind, that the
// op bytes hold exactly `count` ops, that nothing trails, and the hash. The fuzz target
// fuzz/write_set_fuzz.cc holds decode to that (and encode∘decode to identity).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/sha256.h"
#include "core/store/write_set.h"
#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu::replication {

using Hash = crypto::Digest;

inline constexpr size_t kMaxWriteSetBytes = size_t{256} << 20;  // one write set, encoded
inline constexpr size_t kMaxTables = 64;
inline constexpr size_t kMaxTableName = 255;
inline constexpr size_t kMaxKey = 511;  // LMDB's default key limit
inline constexpr uint64_t kMaxOps = uint64_t{1} << 24;
inline constexpr std::string_view kWriteSetDomain = "gongshu/writeset/v1";

// Where a chain stands: the last write set's term, seq and hash (zeros/0 before the first).
struct ChainHead {
  int64_t term = 0;
  uint64_t seq = 0;
  Hash hash{};
  friend bool operator==(const ChainHead&, const ChainHead&) = default;
};

struct AuditState {
  uint64_t size = 0;
  Hash root{};
  friend bool operator==(const AuditState&, const AuditState&) = default;
};

struct WriteSetHeader {
  int64_t term = 0;
  uint64_t seq = 0;
  Hash prev_hash{};
  AuditState audit;
};

struct DecodedOp {
  store::WriteOpKind kind;
  uint32_t table;  // index into DecodedWriteSet::tables
  ByteView key;    // empty for clear
  ByteView value;  // put only
};

// Views into the decoded bytes: valid while they are.
struct DecodedWriteSet {
  WriteSetHeader header;
  std::vector<std::string> tables;
  std::vector<DecodedOp> ops;
  ByteView op_bytes;  // the ops as encoded (store/write_set.h)
  Hash hash{};
  ChainHead head() const { return {header.term, header.seq, hash}; }
};

// Encodes and hashes; kResourceExhausted if the result would exceed kMaxWriteSetBytes or a
// limit above (the commit that produced it then fails: nothing is committed unshippable).
Result<Bytes> encode_write_set(const WriteSetHeader& header, const store::WriteSet& writes);
// The same from parts (ops in the store/write_set.h encoding, op_count of them; not re-checked).
Result<Bytes> encode_write_set(const WriteSetHeader& header, const std::vector<std::string>& tables,
                               ByteView ops, uint64_t op_count);
// The same in two steps, for a caller that writes straight into its destination (the
// changelog's reserved row): the exact encoded size (the limits checked as above), then the
// encoding into `out` of exactly that size.
Result<size_t> encoded_write_set_size(const std::vector<std::string>& tables, ByteView ops,
                                      uint64_t op_count);
void encode_write_set_into(std::span<uint8_t> out, const WriteSetHeader& header,
                           const std::vector<std::string>& tables, ByteView ops, uint64_t op_count);
// kCorrupt naming what is wrong, for any input that is not a write set this code would encode.
Result<DecodedWriteSet> decode_write_set(ByteView bytes);

}  // namespace gongshu::replication
