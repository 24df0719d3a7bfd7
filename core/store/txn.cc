#include "core/store/txn.h"

#include <lmdb.h>

#include "core/store/cursor.h"
#include "core/util/check.h"

namespace gongshu::store {
namespace {

MDB_val to_val(ByteView b) { return MDB_val{b.size(), const_cast<uint8_t*>(b.data())}; }

}  // namespace

MDB_txn* Txn::raw() const {
  GONGSHU_CHECK_MSG(txn_ != nullptr, "transaction used after commit or move");
  return txn_;
}

void Txn::abort_if_open() {
  if (txn_) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
    env_->txn_ended();
  }
}

std::optional<ByteView> Txn::get(const Db& db, ByteView key) const {
  // A key LMDB cannot hold (empty, or longer than its key limit) is in no table. Keys often come
  // from requests, so this is an answer, not a broken invariant.
  if (key.empty() || key.size() > static_cast<size_t>(mdb_env_get_maxkeysize(env_->raw())))
    return std::nullopt;
  MDB_val k = to_val(key), v;
  int rc = mdb_get(raw(), db.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  GONGSHU_CHECK_MSG(rc == 0, mdb_strerror(rc));
  return ByteView(static_cast<const uint8_t*>(v.mv_data), v.mv_size);
}

uint64_t Txn::count(const Db& db) const {
  MDB_stat st;
  int rc = mdb_stat(raw(), db.dbi, &st);
  GONGSHU_CHECK_MSG(rc == 0, mdb_strerror(rc));
  return st.ms_entries;
}

Cursor Txn::cursor(const Db& db) const {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(raw(), db.dbi, &c);
  GONGSHU_CHECK_MSG(rc == 0, mdb_strerror(rc));
  return Cursor(c);
}

WriteSet* WriteTxn::recorder(const Db& db) {
  if (!record_ || !env_->recorded(db.dbi)) return nullptr;
  GONGSHU_CHECK_MSG(!env_->dupsort(db.dbi), "store: a DUPSORT database cannot be recorded");
  return record_.get();
}

WriteCursor WriteTxn::write_cursor(const Db& db) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(raw(), db.dbi, &c);
  GONGSHU_CHECK_MSG(rc == 0, mdb_strerror(rc));
  return WriteCursor(c, &db.name, db.dbi, recorder(db));
}

Status WriteTxn::put_flags(const Db& db, ByteView key, ByteView value, unsigned flags) {
  MDB_val k = to_val(key), v = to_val(value);
  WriteSet* rec = record_ ? recorder(db) : nullptr;
  if (rec) rec->flush_reserved();  // a put may move the pages a reserved slot points into
  int rc = mdb_put(raw(), db.dbi, &k, &v, flags);
  if (rc != 0) return put_error(db.name, rc, flags);
  if (rec) rec->record_put(db.dbi, db.name, key, value);
  return {};
}

Status WriteTxn::put(const Db& db, ByteView key, ByteView value) {
  return put_flags(db, key, value, 0);
}

Status WriteTxn::insert(const Db& db, ByteView key, ByteView value) {
  return put_flags(db, key, value, MDB_NOOVERWRITE);
}

Status WriteTxn::append(const Db& db, ByteView key, ByteView value) {
  return put_flags(db, key, value, MDB_APPEND);
}

Result<std::span<uint8_t>> WriteTxn::append_reserve(const Db& db, ByteView key, size_t size) {
  MDB_val k = to_val(key), v{size, nullptr};
  const unsigned flags = MDB_APPEND | MDB_RESERVE;
  WriteSet* rec = record_ ? recorder(db) : nullptr;
  if (rec) rec->flush_reserved();
  int rc = mdb_put(raw(), db.dbi, &k, &v, flags);
  if (rc != 0) return put_error(db.name, rc, flags);
  std::span<uint8_t> slot(static_cast<uint8_t*>(v.mv_data), size);
  if (rec) rec->record_reserved(db.dbi, db.name, key, slot);
  return slot;
}

Result<bool> WriteTxn::del(const Db& db, ByteView key) {
  MDB_val k = to_val(key);
  WriteSet* rec = record_ ? recorder(db) : nullptr;
  if (rec) rec->flush_reserved();
  int rc = mdb_del(raw(), db.dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return lmdb_error("store: delete from " + db.name, rc);
  if (rec) rec->record_delete(db.dbi, db.name, key);
  return true;
}

Status WriteTxn::clear(const Db& db) {
  WriteSet* rec = record_ ? recorder(db) : nullptr;
  if (rec) rec->flush_reserved();
  int rc = mdb_drop(raw(), db.dbi, 0);
  if (rc != 0) return lmdb_error("store: clear " + db.name, rc);
  if (rec) rec->record_clear(db.dbi, db.name);
  return {};
}

Result<Db> WriteTxn::open_db(const std::string& name) {
  MDB_dbi dbi;
  int rc = mdb_dbi_open(raw(), name.c_str(), MDB_CREATE, &dbi);
  if (rc != 0) return lmdb_error("store: open database " + name, rc);
  return Db{dbi, name};
}

const WriteSet* WriteTxn::write_set() {
  if (!record_) return nullptr;
  record_->flush_reserved();
  return record_.get();
}

Status WriteTxn::commit() && {
  MDB_txn* txn = raw();
  CommitHook* hook = nullptr;
  if (record_ && !record_->empty()) {
    hook = env_->commit_hook();
    if (hook) {
      record_->flush_reserved();
      Status s = hook->before_commit(*this, *record_);
      if (!s) {
        abort_if_open();
        return s;
      }
    }
  }
  txn_ = nullptr;
  int rc = mdb_txn_commit(txn);  // frees txn whether or not it succeeds
  env_->txn_ended();             // only now: the map must not move under a committing txn
  if (rc != 0) return lmdb_error("store: commit", rc);
  if (hook) hook->after_commit();
  return {};
}

}  // namespace gongshu::store
