#include "core/util/fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace gongshu {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Fd> Fd::open(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail_errno("open " + path, errno);
  return Fd(fd);
}

Status Fd::write_all(ByteView data) const {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write", errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<Bytes> Fd::read_up_to(size_t n) const {
  Bytes out(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::read(fd_, out.data() + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read", errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  out.resize(done);
  return out;
}

Status Fd::sync() const {
  if (::fsync(fd_) != 0) return fail_errno("fsync", errno);
  return {};
}

Result<Bytes> read_file(const std::string& path, size_t max_size) {
  GONGSHU_TRY(Fd fd, Fd::open(path, O_RDONLY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kInvalidArgument, path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    return fail(ErrorCode::kResourceExhausted, path + ": " + std::to_string(st.st_size) +
                                                   " bytes exceeds the limit of " +
                                                   std::to_string(max_size));
  }
  // Read one byte past the limit so a file that grew after fstat is still caught.
  GONGSHU_TRY(Bytes data, with_context(fd.read_up_to(max_size + 1), path));
  if (data.size() > max_size) {
    return fail(ErrorCode::kResourceExhausted,
                path + ": exceeds the limit of " + std::to_string(max_size) + " bytes");
  }
  return data;
}

Status write_new_file(const std::string& path, ByteView data, mode_t mode) {
  GONGSHU_TRY(Fd fd, Fd::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode));
  // The umask may have narrowed the mode; set it exactly.
  if (::fchmod(fd.get(), mode) != 0) return fail_errno("chmod " + path, errno);
  GONGSHU_RETURN_IF_ERROR(with_context(fd.write_all(data), path));
  GONGSHU_RETURN_IF_ERROR(with_context(fd.sync(), path));
  return {};
}

Status write_file_atomic(const std::string& path, ByteView data, mode_t mode) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  // A half-written tmp is never left behind (it may hold a secret: key files).
  if (auto s = write_new_file(tmp, data, mode); !s) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail_errno("rename " + tmp + " to " + path, err);
  }
  return sync_dir_of(path);
}

Status sync_dir(const std::string& dir) {
  GONGSHU_TRY(Fd dfd, Fd::open(dir, O_RDONLY | O_DIRECTORY));
  return with_context(dfd.sync(), dir);
}

Status sync_dir_of(const std::string& path) {
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos)
    dir = slash == 0 ? "/" : path.substr(0, slash);
  return sync_dir(dir);
}

}  // namespace gongshu
