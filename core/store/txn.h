// Transactions over an Env. ReadTxn sees one consistent snapshot (MVCC) for its whole life and
// never blocks the writer; WriteTxn is the single writer. Both are move-only; destroying one that
// was not committed aborts it. A WriteTxn is committed with std::move(txn).commit(), after which
// the object is spent: any further use is a broken invariant (GONGSHU_CHECK).
//
// Views returned by get() and by cursors point into the LMDB map: they are valid until the
// transaction ends, or for a WriteTxn until the next put/del on the same database.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "core/store/env.h"
#include "core/store/write_set.h"
#include "core/util/bytes.h"

typedef struct MDB_txn MDB_txn;

namespace gongshu::store {

class Cursor;
class WriteCursor;

// What both transaction kinds can do: read.
class Txn {
 public:
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  std::optional<ByteView> get(const Db& db, ByteView key) const;
  // Number of entries in db.
  uint64_t count(const Db& db) const;
  Cursor cursor(const Db& db) const;

  MDB_txn* raw() const;

 protected:
  Txn(const Env* env, MDB_txn* txn) : env_(env), txn_(txn) {}
  Txn(Txn&& o) noexcept : env_(o.env_), txn_(std::exchange(o.txn_, nullptr)) {}
  ~Txn() = default;
  void abort_if_open();

  const Env* env_;
  MDB_txn* txn_;
};

class ReadTxn : public Txn {
 public:
  ReadTxn(ReadTxn&& o) noexcept = default;
  ReadTxn& operator=(ReadTxn&&) = delete;
  ~ReadTxn() { abort_if_open(); }

 private:
  friend class Env;
  ReadTxn(const Env* env, MDB_txn* txn) : Txn(env, txn) {}
};

class WriteTxn : public Txn {
 public:
  WriteTxn(WriteTxn&& o) noexcept = default;  // the recorded write set moves along
  WriteTxn& operator=(WriteTxn&&) = delete;
  ~WriteTxn() { abort_if_open(); }

  // kResourceExhausted when the map is full; the transaction must then be abandoned.
  Status put(const Db& db, ByteView key, ByteView value);
  // Like put, but fails with kAlreadyExists if the key is present.
  Status insert(const Db& db, ByteView key, ByteView value);
  // Appends a key greater than every key in db (MDB_APPEND: fast, no page splits).
  Status append(const Db& db, ByteView key, ByteView value);
  // append() without the copy (MDB_APPEND | MDB_RESERVE): stores `size` bytes under key and
  // returns them for the caller to fill before the next write of the transaction (to any
  // database: LMDB's rule, since a write may spill dirty pages; recording copies the slot then)
  // or the commit. Used to
  // write a large value (a sealed batch) straight into the page it is committed from.
  Result<std::span<uint8_t>> append_reserve(const Db& db, ByteView key, size_t size);
  // Returns whether the key existed.
  Result<bool> del(const Db& db, ByteView key);
  // Deletes every entry of db, freeing its pages in one pass (no per-key work).
  Status clear(const Db& db);
  // A cursor that also puts (cursor.h): for many keys of one database, put in ascending order.
  WriteCursor write_cursor(const Db& db);

  // Opens (creating) a named database inside this transaction: the applier meeting a table its
  // store has not opened. The handle is valid for the Env's life once this transaction commits
  // (LMDB closes it again if the transaction aborts).
  Result<Db> open_db(const std::string& name);

  // The write set recorded so far (reserved slots flushed); null when not recording (no commit
  // hook on the Env, or an unrecorded transaction).
  const WriteSet* write_set();

  // Makes the transaction durable (LMDB syncs on commit). With a commit hook and a non-empty
  // write set, runs the hook around the commit (env.h).
  Status commit() &&;

 private:
  friend class Env;
  friend class WriteCursor;
  WriteTxn(const Env* env, MDB_txn* txn, bool record)
      : Txn(env, txn), record_(record ? std::make_unique<WriteSet>() : nullptr) {}
  WriteSet* recorder(const Db& db);
  std::unique_ptr<WriteSet> record_;
  Status put_flags(const Db& db, ByteView key, ByteView value, unsigned flags);
};

}  // namespace gongshu::store
