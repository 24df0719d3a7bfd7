// WriteSet: the logical changes of one write transaction, in the order they were made — the
// unit the replicated mode numbers, chains and ships (docs/replication.md §3). It is recorded
// only when the Env has a CommitHook (env.h); a single node records nothing and pays one pointer
// test per write.
//
// What is recorded, per database not excluded from recording (Env::exclude_from_recording):
//   put      — WriteTxn::put/insert/append/append_reserve, WriteCursor::put/append/
//              put_ascending: the key and the value as committed. A value written through a
//              reserved slot (append_reserve) is copied from the slot before the next write of
//              the transaction and before the commit hook runs, so the final bytes are recorded.
//   delete   — WriteTxn::del of a key that existed, WriteCursor::erase (its current key).
//   clear    — WriteTxn::clear.
// Replaying the ops in order with put (overwrite), del and clear reproduces the transaction's
// effect on every recorded database. Databases opened with DUPSORT cannot be recorded (a broken
// invariant if one is written while recording).
//
// Encoding of ops() (the same bytes go into the shipped write set, core/replication):
//   op      = kind:u8 table:varint [key_len:varint key [value_len:varint value]]
//   kind    = 1 put (key and value) | 2 delete (key) | 3 clear (neither)
//   table   = index into tables(), in order of first use in this transaction
//   varint  = unsigned LEB128, at most 5 bytes (values < 2^32)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/util/bytes.h"

namespace gongshu::store {

enum class WriteOpKind : uint8_t { kPut = 1, kDelete = 2, kClear = 3 };

class WriteSet {
 public:
  // The op buffer comes from a per-thread spare left by the last WriteSet destroyed on that
  // thread (capacity kept up to kSpareCapacity), so a writer recording group after group does
  // not grow a fresh buffer through a dozen reallocations and new pages each transaction.
  WriteSet();
  ~WriteSet();
  WriteSet(const WriteSet&) = delete;
  WriteSet& operator=(const WriteSet&) = delete;
  static constexpr size_t kSpareCapacity = size_t{16} << 20;

  // Table names, in order of first use; ops refer to them by index.
  const std::vector<std::string>& tables() const { return tables_; }
  // The encoded ops (see above). Flushes reserved slots first (the recorder does that before
  // handing the write set to anyone; const callers always see final bytes).
  ByteView ops() const { return ops_; }
  uint64_t op_count() const { return op_count_; }
  bool empty() const { return op_count_ == 0; }

  // Recording (used by WriteTxn and WriteCursor).
  void record_put(unsigned dbi, const std::string& table, ByteView key, ByteView value);
  // A put whose value the caller fills later through slot (valid until the next write to the
  // transaction); flush_reserved() copies it.
  void record_reserved(unsigned dbi, const std::string& table, ByteView key,
                       std::span<const uint8_t> slot);
  void record_delete(unsigned dbi, const std::string& table, ByteView key);
  void record_clear(unsigned dbi, const std::string& table);
  // Appends the pending reserved slot's bytes to ops(). Called before every recorded write and
  // before the commit hook. At most one slot is pending: every record_* flushes first, so the
  // slot's bytes belong right at the end of ops() (nothing is written in advance for them).
  void flush_reserved() {
    if (reserved_.data() != nullptr) flush_reserved_slow();
  }

 private:
  uint32_t table_index(unsigned dbi, const std::string& table);
  // Unsigned LEB128 of v (< 2^32) into p; returns the byte after it.
  static uint8_t* put_varint(uint8_t* p, uint64_t v);
  // Appends kind, table and key (and, with a value, its length) of one op in one step.
  void append_head(WriteOpKind kind, uint32_t table, ByteView key, const size_t* value_len);
  void flush_reserved_slow();

  std::vector<std::string> tables_;
  std::vector<int32_t> index_of_dbi_;  // dbi -> index into tables_, -1 unused
  Bytes ops_;
  uint64_t op_count_ = 0;
  std::span<const uint8_t> reserved_;  // the pending slot (data() null: none)
};

}  // namespace gongshu::store
