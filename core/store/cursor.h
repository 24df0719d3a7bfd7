// Cursor: iteration over one database inside a transaction, in key order (bytewise, so
// big-endian integer keys iterate numerically). It must not outlive its transaction. Each
// positioning call returns the entry it landed on, or nullopt past either end.
#pragma once

#include <optional>
#include <utility>

#include "core/util/bytes.h"
#include "core/util/error.h"

typedef struct MDB_cursor MDB_cursor;

namespace gongshu::store {

class WriteSet;

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

 protected:
  explicit Cursor(MDB_cursor* c) : cursor_(c) {}
  MDB_cursor* raw() const { return cursor_; }

 private:
  friend class Txn;
  std::optional<Entry> op(int mdb_op, ByteView key = {});
  size_t max_key() const;  // LMDB's key size limit
  MDB_cursor* cursor_;
};

// A cursor of a write transaction: it reads like Cursor, and puts. LMDB looks for a key first on
// the page the cursor is on, so keys put in ascending order through one cursor mostly skip the
// descent from the root that every WriteTxn::put makes: the way to write many keys of one
// database in one transaction. Like Cursor, it must not outlive its transaction.
class WriteCursor : public Cursor {
 public:
  WriteCursor(WriteCursor&&) noexcept = default;
  // Inserts or overwrites; kResourceExhausted when the map is full (the transaction must then
  // be abandoned).
  Status put(ByteView key, ByteView value);
  // Inserts a key greater than every key of the database (an error otherwise, and nothing is
  // written). LMDB then fills each page before starting the next, instead of splitting pages
  // in half, and never searches: the way to write a sorted run at the end of a table.
  Status append(ByteView key, ByteView value);
  // put() for keys given in ascending order: once a key sorts after the last key the database
  // had, it and every later one are appended (full pages, no search), the rest put. For tables
  // whose new keys mostly come last, such as record keys that count up. A key out of order after
  // that point is an error.
  Status put_ascending(ByteView key, ByteView value);
  // Deletes the entry the cursor is on. Position the cursor again before using it.
  Status erase();

 private:
  friend class WriteTxn;
  WriteCursor(MDB_cursor* c, const std::string* db_name, unsigned dbi, WriteSet* record)
      : Cursor(c), db_name_(db_name), dbi_(dbi), record_(record) {}
  Status put_flags(ByteView key, ByteView value, unsigned flags);
  const std::string* db_name_;  // the Db's, for error messages
  unsigned dbi_;
  WriteSet* record_;  // the transaction's recorder when this database is recorded, else null
  // put_ascending(): whether the keys have passed the database's last key.
  enum class Tail { kUnknown, kBefore, kPast } tail_ = Tail::kUnknown;
  Bytes last_;  // the database's last key, while kBefore
};

}  // namespace gongshu::store
