// Env: one LMDB environment (a directory holding data.mdb and lock.mdb). It is the one owner of
// the MDB_env and must outlive every transaction and cursor made from it. Open it once per
// process (LMDB forbids opening the same environment twice in one process).
//
// The map is fixed for the Env's life: it is opened at EnvOptions::map_size, which is meant to
// be large (virtual address space is cheap; the file only grows as pages are used), and never
// grown while the process runs. Growing an LMDB map is only safe while no transaction of the
// process is live, which a daemon serving readers on several threads cannot promise; a map
// grown under live transactions crashed the agent inside liblmdb on a large backlog. The one
// resize left is adopting a larger size that another process recorded in the file
// (MDB_MAP_RESIZED), done only under the lock every transaction begins under, and only when no
// transaction of this process is live; otherwise the begin fails with a clear error.
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
#include <vector>

#include "core/util/error.h"

typedef struct MDB_env MDB_env;
typedef struct MDB_txn MDB_txn;

namespace gongshu::store {

class ReadTxn;
class WriteTxn;
class WriteSet;

// The replicated mode's view of every commit (docs/replication.md §3): with a hook set, each
// WriteTxn from begin_write() records its write set (write_set.h), and its commit runs
//   before_commit(txn, writes)   inside the transaction, only when writes is not empty; it may
//                                write to databases excluded from recording (the changelog) and
//                                fails the commit (the transaction is aborted) with an Error;
//   mdb commit;
//   after_commit()               after a successful commit, on the committing thread.
class CommitHook {
 public:
  virtual ~CommitHook() = default;
  virtual Status before_commit(WriteTxn& txn, const WriteSet& writes) = 0;
  virtual void after_commit() noexcept = 0;
};

struct EnvOptions {
  // The map size (bytes), fixed for the Env's life: the largest the store may become. 0 adopts
  // the size recorded in an existing store (for tools that open one someone else made).
  size_t map_size = size_t{64} << 30;
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
  // A write transaction that records nothing and runs no commit hook: the replica's applier,
  // whose write sets come numbered from the primary (core/replication).
  Result<WriteTxn> begin_write_unrecorded();

  // Sets (null: clears) the commit hook; recording is on exactly while one is set. A write
  // transaction records if a hook was set when it began, and runs the hook set at its commit.
  // Set it before the first write the hook must see (start-up). Without a hook nothing is
  // recorded: one pointer test per write.
  void set_commit_hook(CommitHook* hook) { hook_.store(hook, std::memory_order_release); }
  CommitHook* commit_hook() const { return hook_.load(std::memory_order_acquire); }
  // Writes to db are never recorded (the changelog and replication state themselves). Call at
  // start-up, like open_db.
  void exclude_from_recording(const Db& db);
  bool recorded(unsigned dbi) const { return dbi >= excluded_.size() || !excluded_[dbi]; }
  bool dupsort(unsigned dbi) const { return dbi < dupsort_.size() && dupsort_[dbi]; }

  // Runs fn in a write transaction and commits it if fn succeeds; aborts it otherwise. A full
  // map is an error (kResourceExhausted, naming map_size).
  [[nodiscard]] Status update(const std::function<Status(WriteTxn&)>& fn);

  EnvInfo info() const;
  const std::string& path() const { return path_; }

  // Drops this process's page-table entries for the memory map of data.mdb
  // (madvise(MADV_DONTNEED) over the whole map), so the pages read so far stop counting towards
  // the process's resident set. The map is read-only (writes go through write(2)), so nothing
  // is lost: the pages stay in the page cache and the next access maps them again. Safe at any
  // time, also while other threads read through open transactions; serialised with the
  // adoption of another process's map size, which may move the map.
  [[nodiscard]] Status release_resident() const;

  // Writes a compacted, consistent copy of the environment to dir (must exist and be empty)
  // while writers continue (mdb_env_copy2 with MDB_CP_COMPACT). The copy holds a read
  // transaction for its duration, counted as one of this process's.
  [[nodiscard]] Status copy_to(const std::string& dir) const;

  // Internal bookkeeping used by the transaction types: a transaction counts as live from
  // before its mdb_txn_begin (counted under map_mu_) until after its commit or abort returned.
  MDB_env* raw() const { return env_; }
  void txn_ended() const { active_txns_.fetch_sub(1, std::memory_order_acq_rel); }

 private:
  Env(MDB_env* env, std::string path, EnvOptions options)
      : env_(env), path_(std::move(path)), options_(options) {}
  MDB_env* env_;
  std::string path_;
  EnvOptions options_;
  // Begins a transaction (flags: 0 or MDB_RDONLY) and counts it as live. On MDB_MAP_RESIZED
  // adopts the size another process recorded, if no transaction of this process is live.
  Status begin(unsigned flags, MDB_txn** txn) const;

  std::atomic<CommitHook*> hook_{nullptr};
  std::vector<uint8_t> excluded_;  // by dbi: 1 = not recorded
  std::vector<uint8_t> dupsort_;   // by dbi: 1 = opened with DUPSORT
  mutable std::atomic<int> active_txns_{0};
  // Held while a beginning transaction is counted (not while it waits in mdb_txn_begin), while
  // the map may move (adopting another process's size) and while release_resident advises it.
  mutable std::mutex map_mu_;
};

// "context: mdb_strerror(rc)" with a code that says what kind of LMDB failure it was.
tl::unexpected<Error> lmdb_error(std::string_view context, int rc);
// The error of a put with LMDB `flags` into the database named db_name that LMDB refused with rc
// (an append of a key that does not sort last is named as such).
tl::unexpected<Error> put_error(const std::string& db_name, int rc, unsigned flags);

}  // namespace gongshu::store
