// powercut::Disk: the model of a disk whose write cache is lost when the power goes, in the
// manner of LazyFS (a FUSE file system that keeps un-fsynced writes in its own page cache and
// drops them on command) and of CrashMonkey's crash states. It sits over a backing directory,
// "the platters": what is in the backing directory is exactly what reached the disk.
//
// Per file it keeps
//   - the writes not yet made durable, as non-overlapping extents (newest data wins);
//   - a shadow of the file's size (writes past the end and truncations change it at once, the
//     backing file only when it is synced);
//   - a pending truncation: backing bytes at or past `valid` no longer count, until fsync.
// fsync/fdatasync (and the fsync the kernel issues for msync and for every write on an O_SYNC or
// O_DSYNC file) writes the file's extents to the backing file, sets its size and fdatasyncs it.
// A write through a handle opened O_SYNC/O_DSYNC goes straight to the backing file, durable
// before it returns (LMDB writes its meta pages that way).
//
// Directory operations (create, mkdir, unlink, rmdir, rename, chmod, chown, utimens) are applied
// to the backing directory at once: they are durable from the moment they return, as on a file
// system that journals metadata synchronously. This is a simplification, stated in
// docs/drills.md: a program that forgets to fsync a directory after a rename is not caught. The
// stores it is built for (LMDB's data.mdb and lock.mdb) create their files once and never rename.
//
// arm() is a cut at the worst moment: the power fails right after the next write that leaves
// unsynced data in the cache (the write returns, then everything unsynced is gone), e.g. between
// LMDB's pwrite of a transaction's pages and its fdatasync. CrashMonkey cuts at such points.
//
// cut() is the power failure: every unsynced extent and truncation is discarded, and from then
// on every operation fails with EIO (the machine is off) until the Disk is thrown away and a
// new one made over the same backing directory.
//
// With lie_about_fsync, fsync returns success and persists nothing, and O_SYNC/O_DSYNC writes
// are cached like the others: a disk whose write cache ignores flushes. It exists to prove the
// drill catches a store whose durability is broken.
//
// Thread-safe: one mutex serialises every operation (the FUSE loop is multi-threaded). Paths
// are the mount's, starting with "/". Failures are an errno (what the kernel is answered).
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "core/util/error.h"

namespace gongshu::powercut {

// An operation's result or the errno (positive) the kernel is to be answered with.
// [[nodiscard]] (core/util/error.h Expected): a dropped errno is a write or a sync reported done
// that was not.
template <class T>
using Errno = Expected<T, int>;

struct Stats {
  uint64_t writes = 0;         // write calls
  uint64_t bytes_written = 0;  // by write calls, synced or not
  uint64_t sync_writes = 0;    // writes through O_SYNC/O_DSYNC handles, durable at once
  uint64_t fsyncs = 0;
  uint64_t bytes_synced = 0;     // written to the backing directory
  uint64_t unsynced_bytes = 0;   // held in memory now (after a cut: 0)
  uint64_t unsynced_files = 0;   // files with unsynced data or a pending truncation now
  uint64_t discarded_bytes = 0;  // by the cut
  uint64_t discarded_files = 0;  // files that lost something in the cut
  uint64_t discarded_truncations = 0;
  bool cut = false;
  bool at_write = false;  // the cut came right after a write (arm())
  bool lie_about_fsync = false;
};

// The stats as one line of JSON (for the control file the drill reads).
std::string stats_json(const Stats& s);

struct DiskOptions {
  std::string backing;  // an existing directory
  bool lie_about_fsync = false;
};

class Disk {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Disk>> open(DiskOptions options);
  ~Disk();
  Disk(const Disk&) = delete;
  Disk& operator=(const Disk&) = delete;

  // Files. open_file returns a handle for the other calls; flags as open(2) (O_CREAT with mode,
  // O_EXCL, O_TRUNC, O_SYNC/O_DSYNC honoured).
  [[nodiscard]] Errno<uint64_t> open_file(const std::string& path, int flags, mode_t mode = 0600);
  void release(uint64_t handle);
  [[nodiscard]] Errno<size_t> read(uint64_t handle, char* buf, size_t size, uint64_t offset);
  [[nodiscard]] Errno<size_t> write(uint64_t handle, const char* buf, size_t size, uint64_t offset);
  [[nodiscard]] Errno<void> fsync(uint64_t handle);
  // By handle when given (ftruncate), else by path (truncate).
  [[nodiscard]] Errno<void> truncate(const std::string& path, std::optional<uint64_t> handle,
                                     uint64_t size);
  // lstat of the backing file with the size the file has now, synced or not.
  [[nodiscard]] Errno<struct stat> getattr(const std::string& path, std::optional<uint64_t> handle);

  // Directory operations, durable at once (see above).
  [[nodiscard]] Errno<std::vector<std::string>> list(const std::string& path);
  [[nodiscard]] Errno<void> mkdir(const std::string& path, mode_t mode);
  [[nodiscard]] Errno<void> rmdir(const std::string& path);
  [[nodiscard]] Errno<void> unlink(const std::string& path);
  [[nodiscard]] Errno<void> rename(const std::string& from, const std::string& to, unsigned flags);
  [[nodiscard]] Errno<void> chmod(const std::string& path, mode_t mode);
  [[nodiscard]] Errno<void> chown(const std::string& path, uid_t uid, gid_t gid);
  [[nodiscard]] Errno<void> utimens(const std::string& path, const struct timespec ts[2]);
  [[nodiscard]] Errno<struct statvfs> statfs();
  [[nodiscard]] Errno<void> fsync_dir(const std::string& path);

  // The power failure: discards every unsynced write and truncation; every later call fails
  // with EIO. Returns the figures at the moment of the cut.
  Stats cut();
  // The power fails right after the next unsynced write. wait_cut waits for a cut (of either
  // kind) up to timeout and returns the figures, or nullopt when none came.
  void arm();
  std::optional<Stats> wait_cut(std::chrono::milliseconds timeout);
  Stats stats() const;
  const std::string& backing() const { return options_.backing; }

 private:
  struct File;
  struct Handle {
    std::shared_ptr<File> file;
    bool sync = false;
  };
  explicit Disk(DiskOptions o) : options_(std::move(o)) {}
  std::string real(const std::string& path) const { return options_.backing + path; }
  Errno<void> flush(File& f);
  void truncate_file(File& f, uint64_t size);
  Stats stats_locked() const;
  void cut_locked();
  std::shared_ptr<File> lookup(const std::string& path, std::optional<uint64_t> handle) const;
  // Opens the backing file read-write (with `create_flags`' O_CREAT/O_EXCL) and makes it known,
  // clean: its size on disk is all there is. Under mu_.
  Errno<std::shared_ptr<File>> adopt(const std::string& path, int create_flags, mode_t mode);

  DiskOptions options_;
  mutable std::mutex mu_;
  bool cut_ = false;
  bool armed_ = false;
  std::condition_variable cut_cv_;
  Stats counters_;
  uint64_t next_handle_ = 1;
  // Files by path, kept while open or while they hold unsynced data. A file shared by several
  // handles and by its path is one File: shared ownership is the point.
  std::map<std::string, std::shared_ptr<File>> files_;
  std::map<uint64_t, Handle> handles_;
};

}  // namespace gongshu::powercut
