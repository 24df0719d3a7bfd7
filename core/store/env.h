// Env: one LMDB environment (a directory holding data.mdb and lock.mdb). It is the one owner of
// the MDB_env and must outlive every transaction and cursor made from it. Open it once per
// process (LMDB forbids opening the same environment twice in one process).
//
// Threads: any thread may begin read transactions (the env is opened with MDB_NOTLS, so a
// ReadTxn is not tied to its thread); LMDB allows one write transaction at a time, and
// begin_write blocks until the previous one ends. Named databases are opened once, at start-up,
// through open_db, and the Db handles are then valid for the life of the Env.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/util/error.h"

typedef struct MDB_env MDB_env;

namespace gongshu::store {

class ReadTxn;
class WriteTxn;

struct EnvOptions {
  size_t map_size = size_t{1} << 30;  // initial map size (bytes); grown on demand by update()
  size_t max_map_size = size_t{64} << 30;
  unsigned max_dbs = 32;
  unsigned max_readers = 256;
  bool read_only = false;
  // MDB_NORDAHEAD: no kernel read-ahead on the map. A page fault then reads only its page, and
  // the kernel's fault-around maps fewer neighbours into the process: for a store larger than
  // memory, or a process that must stay small (the agent's spool), fewer pages are resident.
  bool no_readahead = false;
};

// A named database handle. Plain value; valid while its Env lives.
struct Db {
  unsigned dbi = 0;
  std::string name;
};

struct EnvInfo {
  size_t map_size = 0;
  size_t used_bytes = 0;  // pages in use × page size
  size_t page_size = 0;
  uint64_t last_txn_id = 0;
};

class Env {
 public:
  // Opens (creating if needed, mode 0600) the environment in directory path, which must exist.
  static Result<std::unique_ptr<Env>> open(const std::string& path, EnvOptions options = {});
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // Opens or creates a named database. Call once per name during start-up.
  Result<Db> open_db(const std::string& name, bool integer_dup = false);

  Result<ReadTxn> begin_read() const;
  Result<WriteTxn> begin_write();

  // Runs fn in a write transaction and commits it. If the map fills up, the transaction is
  // aborted, the map doubled (up to max_map_size) and fn run again — so fn must have no effects
  // outside the transaction. Growing needs no other transaction active in this process; if one
  // is, the MAP_FULL error is returned instead.
  Status update(const std::function<Status(WriteTxn&)>& fn);

  // Sets a new map size. Requires that no transaction is active in this process.
  Status grow_map(size_t new_size);

  EnvInfo info() const;
  const std::string& path() const { return path_; }

  // Drops this process's page-table entries for the memory map of data.mdb
  // (madvise(MADV_DONTNEED) over the whole map), so the pages read so far stop counting towards
  // the process's resident set. The map is read-only (writes go through write(2)), so nothing
  // is lost: the pages stay in the page cache and the next access maps them again. Safe at any
  // time, also while other threads read through open transactions; serialised with grow_map,
  // which may move the map.
  Status release_resident() const;

  // Writes a compacted, consistent copy of the environment to dir (must exist and be empty)
  // while writers continue (mdb_env_copy2 with MDB_CP_COMPACT). The copy holds a read
  // transaction for its duration, so the map is not grown meanwhile (update() then returns
  // MAP_FULL instead of resizing).
  Status copy_to(const std::string& dir) const;

  // Internal bookkeeping used by the transaction types.
  MDB_env* raw() const { return env_; }
  void txn_started() const { active_txns_.fetch_add(1, std::memory_order_relaxed); }
  void txn_ended() const { active_txns_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  Env(MDB_env* env, std::string path, EnvOptions options)
      : env_(env), path_(std::move(path)), options_(options) {}
  MDB_env* env_;
  std::string path_;
  EnvOptions options_;
  mutable std::atomic<int> active_txns_{0};
  // Held while the map may move (grow_map) and while release_resident advises it.
  mutable std::mutex map_mu_;
};

// "context: mdb_strerror(rc)" with a code that says what kind of LMDB failure it was.
tl::unexpected<Error> lmdb_error(std::string_view context, int rc);
// The error of a put with LMDB `flags` into the database named db_name that LMDB refused with rc
// (an append of a key that does not sort last is named as such).
tl::unexpected<Error> put_error(const std::string& db_name, int rc, unsigned flags);

}  // namespace gongshu::store
