#include "tools/powercut/disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace gongshu::powercut {

struct Disk::File {
  int fd = -1;             // the backing file, O_RDWR
  uint64_t size = 0;       // as the programs above see it
  uint64_t on_disk = 0;    // the backing file's size (we are its only writer)
  uint64_t valid = 0;      // backing bytes before this count; later ones were truncated away
  bool truncated = false;  // a truncation waits for fsync
  int open = 0;            // handles
  std::map<uint64_t, std::string> extents;  // offset -> unsynced bytes, non-overlapping

  ~File() {
    if (fd >= 0) ::close(fd);
  }
  uint64_t unsynced() const {
    uint64_t n = 0;
    for (const auto& [off, data] : extents) n += data.size();
    return n;
  }
  bool dirty() const { return truncated || !extents.empty(); }

  // Removes [begin, end) from the extents, keeping what lies outside it.
  void erase(uint64_t begin, uint64_t end) {
    auto it = extents.upper_bound(begin);
    if (it != extents.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second.size() > begin) it = prev;
    }
    while (it != extents.end() && it->first < end) {
      uint64_t e_begin = it->first;
      uint64_t e_end = e_begin + it->second.size();
      std::string data = std::move(it->second);
      it = extents.erase(it);
      if (e_begin < begin) extents.emplace(e_begin, data.substr(0, begin - e_begin));
      if (e_end > end) it = extents.emplace(end, data.substr(end - e_begin)).first;
    }
  }

  void put(uint64_t off, const char* buf, size_t n) {
    erase(off, off + n);
    auto it = extents.lower_bound(off);
    // Joined to the extent ending where this one starts: sequential writes stay one extent.
    if (it != extents.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second.size() == off) {
        prev->second.append(buf, n);
        if (it != extents.end() && it->first == off + n) {
          prev->second.append(it->second);
          extents.erase(it);
        }
        return;
      }
    }
    std::string data(buf, n);
    if (it != extents.end() && it->first == off + n) {
      data.append(it->second);
      extents.erase(it);
    }
    extents.emplace(off, std::move(data));
  }
};

namespace {

Errno<void> sys_errno() { return tl::unexpected(errno ? errno : EIO); }

bool write_all(int fd, const char* p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off_t(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= size_t(w);
    off += uint64_t(w);
  }
  return true;
}

}  // namespace

std::string stats_json(const Stats& s) {
  char buf[640];
  std::snprintf(buf, sizeof buf,
                "{\"cut\":%s,\"lie_about_fsync\":%s,\"writes\":%llu,\"bytes_written\":%llu,"
                "\"sync_writes\":%llu,\"fsyncs\":%llu,\"bytes_synced\":%llu,"
                "\"unsynced_bytes\":%llu,\"unsynced_files\":%llu,\"discarded_bytes\":%llu,"
                "\"discarded_files\":%llu,\"discarded_truncations\":%llu,\"at_write\":%s}",
                s.cut ? "true" : "false", s.lie_about_fsync ? "true" : "false",
                (unsigned long long)s.writes, (unsigned long long)s.bytes_written,
                (unsigned long long)s.sync_writes, (unsigned long long)s.fsyncs,
                (unsigned long long)s.bytes_synced, (unsigned long long)s.unsynced_bytes,
                (unsigned long long)s.unsynced_files, (unsigned long long)s.discarded_bytes,
                (unsigned long long)s.discarded_files, (unsigned long long)s.discarded_truncations,
                s.at_write ? "true" : "false");
  return buf;
}

Result<std::unique_ptr<Disk>> Disk::open(DiskOptions options) {
  struct stat st;
  if (::stat(options.backing.c_str(), &st) != 0) {
    return fail_errno("powercut: backing directory " + options.backing, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                "powercut: backing " + options.backing + " is not a directory");
  }
  while (options.backing.size() > 1 && options.backing.back() == '/') options.backing.pop_back();
  std::unique_ptr<Disk> d(new Disk(std::move(options)));
  d->counters_.lie_about_fsync = d->options_.lie_about_fsync;
  return d;
}

Disk::~Disk() = default;

std::shared_ptr<Disk::File> Disk::lookup(const std::string& path,
                                         std::optional<uint64_t> handle) const {
  if (handle) {
    auto h = handles_.find(*handle);
    return h == handles_.end() ? nullptr : h->second.file;
  }
  auto f = files_.find(path);
  return f == files_.end() ? nullptr : f->second;
}

Errno<std::shared_ptr<Disk::File>> Disk::adopt(const std::string& path, int create_flags,
                                               mode_t mode) {
  int fd =
      ::open(real(path).c_str(), O_RDWR | O_CLOEXEC | (create_flags & (O_CREAT | O_EXCL)), mode);
  if (fd < 0) return tl::unexpected(errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return tl::unexpected(e);
  }
  auto f = std::make_shared<File>();
  f->fd = fd;
  f->size = f->on_disk = f->valid = uint64_t(st.st_size);
  files_[path] = f;
  return f;
}

Errno<uint64_t> Disk::open_file(const std::string& path, int flags, mode_t mode) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  std::shared_ptr<File> f = lookup(path, std::nullopt);
  if (f && (flags & O_CREAT) && (flags & O_EXCL)) return tl::unexpected(EEXIST);
  if (!f) {
    // Root may open any file read-write; the programs above asked for their own mode and the
    // kernel checked it. Creation reaches the backing directory at once (see the header).
    auto adopted = adopt(path, flags, mode);
    if (!adopted) return tl::unexpected(adopted.error());
    f = std::move(*adopted);
  }
  if (flags & O_TRUNC) truncate_file(*f, 0);
  ++f->open;
  uint64_t h = next_handle_++;
  // O_SYNC includes the O_DSYNC bit on Linux.
  handles_[h] = Handle{f, (flags & O_DSYNC) != 0};
  return h;
}

void Disk::release(uint64_t handle) {
  std::lock_guard lock(mu_);
  auto h = handles_.find(handle);
  if (h == handles_.end()) return;
  std::shared_ptr<File> f = h->second.file;
  handles_.erase(h);
  --f->open;
  if (f->open > 0 || f->dirty()) return;
  // Closed and clean: forget it (its size is the backing file's again).
  for (auto it = files_.begin(); it != files_.end(); ++it) {
    if (it->second == f) {
      files_.erase(it);
      break;
    }
  }
}

Errno<size_t> Disk::read(uint64_t handle, char* buf, size_t size, uint64_t offset) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  auto f = lookup("", handle);
  if (!f) return tl::unexpected(EBADF);
  if (offset >= f->size) return size_t{0};
  size_t n = size_t(std::min<uint64_t>(size, f->size - offset));
  std::memset(buf, 0, n);
  uint64_t end = offset + n;
  // What is on the disk and still counts...
  uint64_t disk_end = std::min({end, f->valid, f->on_disk});
  for (uint64_t at = offset; at < disk_end;) {
    ssize_t r = ::pread(f->fd, buf + (at - offset), size_t(disk_end - at), off_t(at));
    if (r < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(errno);
    }
    if (r == 0) break;
    at += uint64_t(r);
  }
  // ...under what was written since.
  auto it = f->extents.upper_bound(offset);
  if (it != f->extents.begin()) --it;
  for (; it != f->extents.end() && it->first < end; ++it) {
    uint64_t b = std::max(offset, it->first);
    uint64_t e = std::min(end, it->first + it->second.size());
    if (b < e) std::memcpy(buf + (b - offset), it->second.data() + (b - it->first), e - b);
  }
  return n;
}

Errno<size_t> Disk::write(uint64_t handle, const char* buf, size_t size, uint64_t offset) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  auto h = handles_.find(handle);
  if (h == handles_.end()) return tl::unexpected(EBADF);
  File& f = *h->second.file;
  ++counters_.writes;
  counters_.bytes_written += size;
  if (h->second.sync && !options_.lie_about_fsync) {
    // Durable before it returns. A pending truncation is made durable first, so that the
    // backing bytes past it never come back.
    if (f.truncated) {
      auto r = flush(f);
      if (!r) return tl::unexpected(r.error());
    }
    if (!write_all(f.fd, buf, size, offset) || ::fdatasync(f.fd) != 0) {
      return tl::unexpected(errno ? errno : EIO);
    }
    ++counters_.sync_writes;
    counters_.bytes_synced += size;
    f.erase(offset, offset + size);
    // Without a pending truncation the backing file is current up to its end; a gap a write
    // past the end leaves reads as zeros there as it should, under any unsynced extent.
    f.on_disk = f.valid = std::max(f.on_disk, offset + size);
    f.size = std::max(f.size, offset + size);
  } else {
    f.put(offset, buf, size);
    f.size = std::max(f.size, offset + size);
    if (armed_) {
      // The write is in the cache and acknowledged, and then the power goes.
      counters_.at_write = true;
      cut_locked();
    }
  }
  return size;
}

void Disk::truncate_file(File& f, uint64_t size) {
  f.erase(size, UINT64_MAX);
  if (size < f.valid) {
    f.valid = size;
    f.truncated = true;
  }
  f.size = size;
}

Errno<void> Disk::truncate(const std::string& path, std::optional<uint64_t> handle, uint64_t size) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  auto f = lookup(path, handle);
  if (!f) {
    if (handle) return tl::unexpected(EBADF);
    // Not open and clean: keep it known, since its new size is unsynced.
    auto adopted = adopt(path, 0, 0);
    if (!adopted) return tl::unexpected(adopted.error());
    f = std::move(*adopted);
  }
  truncate_file(*f, size);
  return {};
}

Errno<void> Disk::flush(File& f) {
  if (f.truncated && ::ftruncate(f.fd, off_t(f.valid)) != 0) return sys_errno();
  uint64_t on_disk = f.truncated ? f.valid : f.on_disk;
  for (const auto& [off, data] : f.extents) {
    if (!write_all(f.fd, data.data(), data.size(), off)) return sys_errno();
    counters_.bytes_synced += data.size();
    on_disk = std::max(on_disk, off + data.size());
  }
  // A file grown by truncate (or shrunk past its last extent) gets its size here.
  if (on_disk != f.size && ::ftruncate(f.fd, off_t(f.size)) != 0) return sys_errno();
  if (::fdatasync(f.fd) != 0) return sys_errno();
  f.extents.clear();
  f.truncated = false;
  f.on_disk = f.valid = f.size;
  return {};
}

Errno<void> Disk::fsync(uint64_t handle) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  auto f = lookup("", handle);
  if (!f) return tl::unexpected(EBADF);
  ++counters_.fsyncs;
  if (options_.lie_about_fsync) return {};  // "done", says the disk, and keeps it in its cache
  return flush(*f);
}

Errno<struct stat> Disk::getattr(const std::string& path, std::optional<uint64_t> handle) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  auto f = lookup(path, handle);
  struct stat st;
  if (f) {
    if (::fstat(f->fd, &st) != 0) return tl::unexpected(errno);
    st.st_size = off_t(f->size);
    st.st_blocks = blkcnt_t((f->size + 511) / 512);
  } else if (handle) {
    return tl::unexpected(EBADF);
  } else if (::lstat(real(path).c_str(), &st) != 0) {
    return tl::unexpected(errno);
  }
  return st;
}

Errno<std::vector<std::string>> Disk::list(const std::string& path) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  DIR* d = ::opendir(real(path).c_str());
  if (!d) return tl::unexpected(errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  return names;
}

Errno<void> Disk::mkdir(const std::string& path, mode_t mode) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  if (::mkdir(real(path).c_str(), mode) != 0) return sys_errno();
  return {};
}

Errno<void> Disk::rmdir(const std::string& path) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  if (::rmdir(real(path).c_str()) != 0) return sys_errno();
  return {};
}

Errno<void> Disk::unlink(const std::string& path) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  if (::unlink(real(path).c_str()) != 0) return sys_errno();
  // Open handles keep the file (and its backing descriptor) until they are released.
  files_.erase(path);
  return {};
}

Errno<void> Disk::rename(const std::string& from, const std::string& to, unsigned flags) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  if (flags & ~unsigned(RENAME_NOREPLACE)) return tl::unexpected(EINVAL);
  if (::renameat2(AT_FDCWD, real(from).c_str(), AT_FDCWD, real(to).c_str(), flags) != 0) {
    return sys_errno();
  }
  // The files follow their names: `to` itself, and everything under it when it is a directory.
  files_.erase(to);
  std::map<std::string, std::shared_ptr<File>> moved;
  for (auto it = files_.begin(); it != files_.end();) {
    const std::string& p = it->first;
    if (p == from ||
        (p.size() > from.size() && p.compare(0, from.size(), from) == 0 && p[from.size()] == '/')) {
      moved[to + p.substr(from.size())] = std::move(it->second);
      it = files_.erase(it);
    } else if (p.size() > to.size() && p.compare(0, to.size(), to) == 0 && p[to.size()] == '/') {
      it = files_.erase(it);  // under a directory the rename replaced
    } else {
      ++it;
    }
  }
  files_.merge(moved);
  return {};
}

Errno<void> Disk::chmod(const std::string& path, mode_t mode) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  if (::chmod(real(path).c_str(), mode) != 0) return sys_errno();
  return {};
}

Errno<void> Disk::chown(const std::string& path, uid_t uid, gid_t gid) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  if (::lchown(real(path).c_str(), uid, gid) != 0) return sys_errno();
  return {};
}

Errno<void> Disk::utimens(const std::string& path, const struct timespec ts[2]) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  if (::utimensat(AT_FDCWD, real(path).c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) return sys_errno();
  return {};
}

Errno<struct statvfs> Disk::statfs() {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  struct statvfs st;
  if (::statvfs(options_.backing.c_str(), &st) != 0) return tl::unexpected(errno);
  return st;
}

Errno<void> Disk::fsync_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  if (cut_) return tl::unexpected(EIO);
  ++counters_.fsyncs;
  if (options_.lie_about_fsync) return {};
  int fd = ::open(real(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_errno();
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return tl::unexpected(e);
  return {};
}

Stats Disk::stats_locked() const {
  Stats s = counters_;
  std::set<const File*> seen;
  auto count = [&](const File* f) {
    if (!seen.insert(f).second) return;
    s.unsynced_bytes += f->unsynced();
    if (f->dirty()) ++s.unsynced_files;
  };
  for (const auto& [p, f] : files_) count(f.get());
  for (const auto& [h, handle] : handles_) count(handle.file.get());
  s.cut = cut_;
  return s;
}

Stats Disk::stats() const {
  std::lock_guard lock(mu_);
  return stats_locked();
}

Stats Disk::cut() {
  std::lock_guard lock(mu_);
  cut_locked();
  return stats_locked();
}

void Disk::arm() {
  std::lock_guard lock(mu_);
  armed_ = true;
}

std::optional<Stats> Disk::wait_cut(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cut_cv_.wait_for(lock, timeout, [&] { return cut_; })) return std::nullopt;
  return stats_locked();
}

void Disk::cut_locked() {
  if (cut_) return;
  std::set<File*> seen;
  auto drop = [&](File* f) {
    if (!seen.insert(f).second) return;
    if (f->dirty()) ++counters_.discarded_files;
    if (f->truncated) ++counters_.discarded_truncations;
    counters_.discarded_bytes += f->unsynced();
    f->extents.clear();
    f->truncated = false;
    f->size = f->valid = f->on_disk;
  };
  for (auto& [p, f] : files_) drop(f.get());
  for (auto& [h, handle] : handles_) drop(handle.file.get());
  cut_ = true;
  cut_cv_.notify_all();
}

}  // namespace gongshu::powercut
