#include "core/store/cursor.h"

#include <lmdb.h>

#include <algorithm>

#include "core/store/env.h"
#include "core/store/write_set.h"
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
// Keys often come from requests. LMDB refuses an empty key or one longer than its limit with
// an error; here such a key simply orders first (empty) or is absent (find).
size_t Cursor::max_key() const {
  return static_cast<size_t>(mdb_env_get_maxkeysize(mdb_txn_env(mdb_cursor_txn(cursor_))));
}

std::optional<Entry> Cursor::seek(ByteView key) {
  if (key.empty()) return first();
  if (key.size() <= max_key()) return op(MDB_SET_RANGE, key);
  // No stored key is this long: the first entry at or after it follows its longest storable
  // prefix, skipping the stored keys that sort below the whole key.
  auto e = op(MDB_SET_RANGE, key.first(max_key()));
  while (e && std::lexicographical_compare(e->key.begin(), e->key.end(), key.begin(), key.end()))
    e = next();
  return e;
}

std::optional<Entry> Cursor::find(ByteView key) {
  if (key.empty() || key.size() > max_key()) return std::nullopt;
  return op(MDB_SET_KEY, key);
}

Status WriteCursor::put_flags(ByteView key, ByteView value, unsigned flags) {
  MDB_val k{key.size(), const_cast<uint8_t*>(key.data())};
  MDB_val v{value.size(), const_cast<uint8_t*>(value.data())};
  if (record_) record_->flush_reserved();
  int rc = mdb_cursor_put(raw(), &k, &v, flags);
  if (rc != 0) return put_error(*db_name_, rc, flags);
  if (record_) record_->record_put(dbi_, *db_name_, key, value);
  return {};
}

Status WriteCursor::put(ByteView key, ByteView value) { return put_flags(key, value, 0); }

Status WriteCursor::append(ByteView key, ByteView value) {
  return put_flags(key, value, MDB_APPEND);
}

Status WriteCursor::put_ascending(ByteView key, ByteView value) {
  if (tail_ == Tail::kUnknown) {
    auto last = this->last();
    tail_ = last ? Tail::kBefore : Tail::kPast;
    if (last) last_.assign(last->key.begin(), last->key.end());
  }
  if (tail_ == Tail::kBefore && bytes_less(last_, key)) tail_ = Tail::kPast;
  return tail_ == Tail::kPast ? append(key, value) : put(key, value);
}

Status WriteCursor::erase() {
  Bytes key;
  if (record_) {
    record_->flush_reserved();
    MDB_val k{0, nullptr}, v{0, nullptr};
    int rc = mdb_cursor_get(raw(), &k, &v, MDB_GET_CURRENT);
    if (rc != 0) return lmdb_error("store: delete from " + *db_name_, rc);
    const auto* p = static_cast<const uint8_t*>(k.mv_data);
    key.assign(p, p + k.mv_size);
  }
  int rc = mdb_cursor_del(raw(), 0);
  if (rc != 0) return lmdb_error("store: delete from " + *db_name_, rc);
  if (record_) record_->record_delete(dbi_, *db_name_, key);
  return {};
}

}  // namespace gongshu::store
