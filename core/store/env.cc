#include "core/store/env.h"

#include <lmdb.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/store/txn.h"
#include "core/util/check.h"

namespace gongshu::store {

tl::unexpected<Error> lmdb_error(std::string_view context, int rc) {
  ErrorCode code = ErrorCode::kInternal;
  switch (rc) {
    case MDB_MAP_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
    case MDB_TXN_FULL:
      code = ErrorCode::kResourceExhausted;
      break;
    case MDB_NOTFOUND:
      code = ErrorCode::kNotFound;
      break;
    case MDB_KEYEXIST:
      code = ErrorCode::kAlreadyExists;
      break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      code = ErrorCode::kCorrupt;
      break;
    case EACCES:
      code = ErrorCode::kPermissionDenied;
      break;
    case ENOENT:
      code = ErrorCode::kNotFound;
      break;
    default:
      if (rc > 0) code = ErrorCode::kIo;
  }
  std::string m(context);
  m.append(": ").append(mdb_strerror(rc));
  if (rc == MDB_MAP_FULL)
    m.append(" (the store has reached its map size, the largest it may become; raise map_size)");
  return fail(code, std::move(m));
}

tl::unexpected<Error> put_error(const std::string& db_name, int rc, unsigned flags) {
  if (rc == MDB_KEYEXIST && (flags & MDB_APPEND)) {
    return fail(ErrorCode::kAlreadyExists,
                "store: append to " + db_name + ": the key does not sort after the last one");
  }
  return lmdb_error("store: put into " + db_name, rc);
}

Result<std::unique_ptr<Env>> Env::open(const std::string& path, EnvOptions options) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return lmdb_error("store " + path + ": create", rc);
  auto cleanup = [&](int code, const char* what) {
    mdb_env_close(env);
    return lmdb_error("store " + path + ": " + what, code);
  };
  if ((rc = mdb_env_set_maxdbs(env, options.max_dbs)) != 0) return cleanup(rc, "set max dbs");
  if ((rc = mdb_env_set_maxreaders(env, options.max_readers)) != 0)
    return cleanup(rc, "set max readers");
  if ((rc = mdb_env_set_mapsize(env, options.map_size)) != 0) return cleanup(rc, "set map size");
  unsigned flags = MDB_NOTLS;
  if (options.read_only) flags |= MDB_RDONLY;
  if (options.no_readahead) flags |= MDB_NORDAHEAD;
  if ((rc = mdb_env_open(env, path.c_str(), flags, 0600)) != 0) return cleanup(rc, "open");
  // A store another process opened with a larger map keeps that size (LMDB adopts the larger).
  MDB_envinfo info;
  mdb_env_info(env, &info);
  options.map_size = static_cast<size_t>(info.me_mapsize);
  return std::unique_ptr<Env>(new Env(env, path, options));
}

Env::~Env() {
  GONGSHU_CHECK_MSG(active_txns_.load() == 0, "store closed with transactions still open");
  mdb_env_close(env_);
}

Result<Db> Env::open_db(const std::string& name, bool integer_dup) {
  MDB_txn* txn = nullptr;
  unsigned tflags = options_.read_only ? MDB_RDONLY : 0;
  int rc = mdb_txn_begin(env_, nullptr, tflags, &txn);
  if (rc != 0) return lmdb_error("store: open database " + name, rc);
  unsigned flags = options_.read_only ? 0 : MDB_CREATE;
  if (integer_dup) flags |= MDB_DUPSORT;
  MDB_dbi dbi;
  rc = mdb_dbi_open(txn, name.c_str(), flags, &dbi);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("store: open database " + name, rc);
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return lmdb_error("store: open database " + name, rc);
  if (integer_dup) {
    if (dbi >= dupsort_.size()) dupsort_.resize(dbi + 1, 0);
    dupsort_[dbi] = 1;
  }
  return Db{dbi, name};
}

void Env::exclude_from_recording(const Db& db) {
  if (db.dbi >= excluded_.size()) excluded_.resize(db.dbi + 1, 0);
  excluded_[db.dbi] = 1;
}

Status Env::begin(unsigned flags, MDB_txn** txn) const {
  // Counted as live before mdb_txn_begin, under map_mu_, so that the map can only move while
  // no transaction of ours is live or beginning. The lock is not held across mdb_txn_begin: a
  // write begin blocks there until the running write transaction ends, and that transaction's
  // thread may need the lock meanwhile (release_resident).
  {
    std::lock_guard lock(map_mu_);
    active_txns_.fetch_add(1, std::memory_order_acq_rel);
  }
  int rc = mdb_txn_begin(env_, nullptr, flags, txn);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map. Adopting its size moves the map, which no live transaction
    // of ours may see; none can begin meanwhile, since every begin is counted under this lock.
    std::lock_guard lock(map_mu_);
    if (active_txns_.fetch_sub(1, std::memory_order_acq_rel) != 1) {
      return fail(ErrorCode::kUnavailable,
                  "store " + path_ +
                      ": another process grew the map; this process adopts the new size once its "
                      "open transactions end (retry)");
    }
    rc = mdb_env_set_mapsize(env_, 0);
    if (rc != 0)
      return lmdb_error("store " + path_ + ": adopt the map size another process set", rc);
    active_txns_.fetch_add(1, std::memory_order_acq_rel);
    rc = mdb_txn_begin(env_, nullptr, flags, txn);
  }
  if (rc != 0) {
    txn_ended();
    return lmdb_error(flags & MDB_RDONLY ? "store: begin read" : "store: begin write", rc);
  }
  return {};
}

Result<ReadTxn> Env::begin_read() const {
  MDB_txn* txn = nullptr;
  GONGSHU_RETURN_IF_ERROR(begin(MDB_RDONLY, &txn));
  return ReadTxn(this, txn);
}

Result<WriteTxn> Env::begin_write() {
  GONGSHU_CHECK_MSG(!options_.read_only, "write transaction on a read-only store");
  MDB_txn* txn = nullptr;
  GONGSHU_RETURN_IF_ERROR(begin(0, &txn));
  return WriteTxn(this, txn, commit_hook() != nullptr);
}

Result<WriteTxn> Env::begin_write_unrecorded() {
  GONGSHU_CHECK_MSG(!options_.read_only, "write transaction on a read-only store");
  MDB_txn* txn = nullptr;
  GONGSHU_RETURN_IF_ERROR(begin(0, &txn));
  return WriteTxn(this, txn, false);
}

Status Env::update(const std::function<Status(WriteTxn&)>& fn) {
  GONGSHU_TRY(WriteTxn txn, begin_write());
  GONGSHU_RETURN_IF_ERROR(fn(txn));
  return std::move(txn).commit();
}

EnvInfo Env::info() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  MDB_stat st;
  mdb_env_stat(env_, &st);
  EnvInfo out;
  out.map_size = info.me_mapsize;
  out.page_size = st.ms_psize;
  out.used_bytes = (info.me_last_pgno + 1) * st.ms_psize;
  out.last_txn_id = info.me_last_txnid;
  return out;
}

namespace {

// The address of the environment's map. mdb_env_info's me_mapaddr is only the fixed address of
// MDB_FIXEDMAP (null otherwise), and LMDB has no call for the map itself, so it is found from a
// page read through the map: LMDB's file format starts every page with its page number, and page
// 0, the first meta page, with the flag P_META and then the magic 0xBEEFC0DE. Null if the store
// has no named database yet (nothing is read through the map but the meta pages) or the page
// does not look like LMDB's.
const char* map_base(MDB_env* env, size_t page_size) {
  constexpr uint32_t kMagic = 0xBEEFC0DE;  // MDB_MAGIC
  constexpr uint16_t kMetaFlag = 0x08;     // P_META
  constexpr size_t kHeader = 16;           // PAGEHDRSZ: pgno (8), pad (2), flags (2), bounds (4)
  MDB_txn* txn = nullptr;
  if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) != 0) return nullptr;
  const char* base = nullptr;
  MDB_dbi main = 0;
  MDB_cursor* cursor = nullptr;
  if (mdb_dbi_open(txn, nullptr, 0, &main) == 0 && mdb_cursor_open(txn, main, &cursor) == 0) {
    MDB_val key, value;
    if (mdb_cursor_get(cursor, &key, &value, MDB_FIRST) == 0) {
      auto at = reinterpret_cast<uintptr_t>(key.mv_data);
      const char* page = reinterpret_cast<const char*>(at - at % page_size);
      uint64_t pgno = 0;
      std::memcpy(&pgno, page, sizeof pgno);
      const char* candidate = page - pgno * page_size;
      uint16_t flags = 0;
      uint32_t magic = 0;
      std::memcpy(&flags, candidate + 10, sizeof flags);
      std::memcpy(&magic, candidate + kHeader, sizeof magic);
      if (pgno * page_size <= at && (flags & kMetaFlag) && magic == kMagic) base = candidate;
    }
    mdb_cursor_close(cursor);
  }
  mdb_txn_abort(txn);
  return base;
}

}  // namespace

Status Env::release_resident() const {
  std::lock_guard lock(map_mu_);
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  MDB_stat st;
  mdb_env_stat(env_, &st);
  const char* base = map_base(env_, st.ms_psize);
  if (base == nullptr) return {};
  if (::madvise(const_cast<char*>(base), info.me_mapsize, MADV_DONTNEED) != 0) {
    int err = errno;
    return fail(ErrorCode::kInternal,
                "store " + path_ + ": release the map: madvise: " + std::strerror(err));
  }
  return {};
}

Status Env::copy_to(const std::string& dir) const {
  // The copy runs inside a read transaction of LMDB's own: count it as live, so the map is not
  // moved under it.
  {
    std::lock_guard lock(map_mu_);
    active_txns_.fetch_add(1, std::memory_order_acq_rel);
  }
  int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT);
  txn_ended();
  if (rc != 0) return lmdb_error("store: copy to " + dir, rc);
  return {};
}

}  // namespace gongshu::store
