// Cursor: iteration over one database inside a transaction, in key order (bytewise, so
// big-endian integer keys iterate numerically). It must not outlive its transaction. Each
// positioning call returns the entry it landed on, or nullopt past either end.
#pragma once

#include <optional>
#include <utility>

#include "core/util/bytes.h"

typedef struct MDB_cursor MDB_cursor;

namespace gongshu::store {

struct Entry {
  ByteView key;
  ByteView value;
};

class Cursor {
 public:
  Cursor(Cursor&& o) noexcept : cursor_(std::exchange(o.cursor_, nullptr)) {}
  Cursor& operator=(Cursor&&) = delete;
  Cursor(const Cursor&) = delete;
  ~Cursor();

  std::optional<Entry> first();
  std::optional<Entry> last();
  std::optional<Entry> next();
  std::optional<Entry> prev();
  // The first entry with key >= key (any key: empty and over-long keys included).
  std::optional<Entry> seek(ByteView key);
  // The entry with exactly this key; nullopt for a key no table can hold.
  std::optional<Entry> find(ByteView key);

 private:
  friend class Txn;
  explicit Cursor(MDB_cursor* c) : cursor_(c) {}
  std::optional<Entry> op(int mdb_op, ByteView key = {});
  size_t max_key() const;  // LMDB's key size limit
  MDB_cursor* cursor_;
};

}  // namespace gongshu::store
