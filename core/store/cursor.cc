#include "core/store/cursor.h"

#include <lmdb.h>

#include "core/util/check.h"

namespace gongshu::store {

Cursor::~Cursor() {
  if (cursor_) mdb_cursor_close(cursor_);
}

std::optional<Entry> Cursor::op(int mdb_op, ByteView key) {
  MDB_val k{key.size(), const_cast<uint8_t*>(key.data())}, v{0, nullptr};
  int rc = mdb_cursor_get(cursor_, &k, &v, static_cast<MDB_cursor_op>(mdb_op));
  if (rc == MDB_NOTFOUND) return std::nullopt;
  GONGSHU_CHECK_MSG(rc == 0, mdb_strerror(rc));
  return Entry{ByteView(static_cast<const uint8_t*>(k.mv_data), k.mv_size),
               ByteView(static_cast<const uint8_t*>(v.mv_data), v.mv_size)};
}

std::optional<Entry> Cursor::first() { return op(MDB_FIRST); }
std::optional<Entry> Cursor::last() { return op(MDB_LAST); }
std::optional<Entry> Cursor::next() { return op(MDB_NEXT); }
std::optional<Entry> Cursor::prev() { return op(MDB_PREV); }
std::optional<Entry> Cursor::seek(ByteView key) { return op(MDB_SET_RANGE, key); }
std::optional<Entry> Cursor::find(ByteView key) { return op(MDB_SET_KEY, key); }

}  // namespace gongshu::store
