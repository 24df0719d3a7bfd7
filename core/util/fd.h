// Fd: the one owner of a file descriptor. Move-only; the destructor closes it and ignores the
// result (close on a valid fd cannot be retried meaningfully). Every descriptor gongshu opens is
// O_CLOEXEC so it never leaks into a child process.
//
// The free functions read and write whole files with the checks that untrusted paths need: a
// size limit on reads, and atomic replacement (write to a temp file, fsync, rename) on writes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  // open(2) with O_CLOEXEC added.
  static Result<Fd> open(const std::string& path, int flags, mode_t mode = 0);

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

  // Writes all of data, retrying on EINTR and short writes.
  Status write_all(ByteView data) const;
  // Reads exactly n bytes unless EOF comes first; returns what was read.
  Result<Bytes> read_up_to(size_t n) const;
  Status sync() const;

 private:
  int fd_ = -1;
};

// Reads a whole regular file, refusing one larger than max_size.
Result<Bytes> read_file(const std::string& path, size_t max_size);

// Creates path with the given mode, failing if it exists (O_EXCL), and syncs it.
Status write_new_file(const std::string& path, ByteView data, mode_t mode);

// Replaces path atomically: writes path.tmp, fsyncs it, renames it over path, fsyncs the dir.
Status write_file_atomic(const std::string& path, ByteView data, mode_t mode);

// fsyncs directory `dir`: what makes a creation, rename or removal in it durable.
Status sync_dir(const std::string& dir);
// sync_dir() of the directory holding `path` ("." for a bare name).
Status sync_dir_of(const std::string& path);

}  // namespace gongshu
