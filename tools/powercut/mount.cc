#include "tools/powercut/mount.h"

#define FUSE_USE_VERSION 31
#include <fuse3/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tools/powercut/disk.h"

namespace gongshu::powercut {
namespace {

Disk* disk() { return static_cast<Disk*>(fuse_get_context()->private_data); }

template <class T>
int status(const Errno<T>& r) {
  return r ? 0 : -r.error();
}

std::optional<uint64_t> handle_of(const fuse_file_info* fi) {
  if (!fi) return std::nullopt;
  return fi->fh;
}

std::string path_of(const char* path) { return path ? path : ""; }

void* fs_init(fuse_conn_info* conn, fuse_config* cfg) {
  // The page cache stays (mmap needs it; see mount.h); the kernel writes through.
  cfg->direct_io = 0;
  cfg->kernel_cache = 1;  // every change comes through this mount: its cache stays coherent
  cfg->hard_remove = 1;   // an unlinked open file is not renamed to .fuse_hidden*
  cfg->nullpath_ok = 1;   // operations on an open file come by handle
  cfg->use_ino = 0;
  conn->want &= ~unsigned(FUSE_CAP_WRITEBACK_CACHE);
  return fuse_get_context()->private_data;
}

int fs_getattr(const char* path, struct stat* st, fuse_file_info* fi) {
  auto r = disk()->getattr(path_of(path), handle_of(fi));
  if (r) *st = *r;
  return status(r);
}

int fs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*,
               fuse_readdir_flags) {
  auto r = disk()->list(path_of(path));
  if (!r) return -r.error();
  for (const auto& name : *r) fill(buf, name.c_str(), nullptr, 0, fuse_fill_dir_flags(0));
  return 0;
}

int fs_open(const char* path, fuse_file_info* fi) {
  auto r = disk()->open_file(path_of(path), fi->flags);
  if (!r) return -r.error();
  fi->fh = *r;
  fi->keep_cache = 1;
  return 0;
}

int fs_create(const char* path, mode_t mode, fuse_file_info* fi) {
  auto r = disk()->open_file(path_of(path), fi->flags | O_CREAT, mode);
  if (!r) return -r.error();
  fi->fh = *r;
  fi->keep_cache = 1;
  return 0;
}

int fs_read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  auto r = disk()->read(fi->fh, buf, size, uint64_t(off));
  return r ? int(*r) : -r.error();
}

int fs_write(const char*, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  auto r = disk()->write(fi->fh, buf, size, uint64_t(off));
  return r ? int(*r) : -r.error();
}

int fs_fsync(const char*, int, fuse_file_info* fi) { return status(disk()->fsync(fi->fh)); }

int fs_fsyncdir(const char* path, int, fuse_file_info*) {
  return status(disk()->fsync_dir(path_of(path)));
}

int fs_flush(const char*, fuse_file_info*) { return 0; }

int fs_release(const char*, fuse_file_info* fi) {
  disk()->release(fi->fh);
  return 0;
}

int fs_truncate(const char* path, off_t size, fuse_file_info* fi) {
  return status(disk()->truncate(path_of(path), handle_of(fi), uint64_t(size)));
}

int fs_mkdir(const char* path, mode_t mode) { return status(disk()->mkdir(path, mode)); }
int fs_rmdir(const char* path) { return status(disk()->rmdir(path)); }
int fs_unlink(const char* path) { return status(disk()->unlink(path)); }
int fs_rename(const char* from, const char* to, unsigned flags) {
  return status(disk()->rename(from, to, flags));
}
int fs_chmod(const char* path, mode_t mode, fuse_file_info*) {
  return status(disk()->chmod(path_of(path), mode));
}
int fs_chown(const char* path, uid_t uid, gid_t gid, fuse_file_info*) {
  return status(disk()->chown(path_of(path), uid, gid));
}
int fs_utimens(const char* path, const struct timespec ts[2], fuse_file_info*) {
  return status(disk()->utimens(path_of(path), ts));
}
int fs_statfs(const char*, struct statvfs* st) {
  auto r = disk()->statfs();
  if (r) *st = *r;
  return status(r);
}

void write_stats(const std::string& file, const Stats& s) {
  if (file.empty()) return;
  std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << stats_json(s) << "\n";
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    std::fprintf(stderr, "gongshu-powercut: cannot write %s: %s\n", file.c_str(),
                 std::strerror(errno));
  }
}

}  // namespace

Status serve(const MountOptions& o) {
  GONGSHU_TRY(std::unique_ptr<Disk> d, Disk::open(DiskOptions{o.backing, o.lie_about_fsync}));
  // SIGUSR1 is taken by one thread with sigwait: blocked here, before libfuse starts its
  // workers, so that they inherit the mask and never run the cut in a signal handler.
  sigset_t usr;
  sigemptyset(&usr);
  sigaddset(&usr, SIGUSR1);
  sigaddset(&usr, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &usr, nullptr);

  fuse_operations ops{};
  ops.init = fs_init;
  ops.getattr = fs_getattr;
  ops.readdir = fs_readdir;
  ops.open = fs_open;
  ops.create = fs_create;
  ops.read = fs_read;
  ops.write = fs_write;
  ops.fsync = fs_fsync;
  ops.fsyncdir = fs_fsyncdir;
  ops.flush = fs_flush;
  ops.release = fs_release;
  ops.truncate = fs_truncate;
  ops.mkdir = fs_mkdir;
  ops.rmdir = fs_rmdir;
  ops.unlink = fs_unlink;
  ops.rename = fs_rename;
  ops.chmod = fs_chmod;
  ops.chown = fs_chown;
  ops.utimens = fs_utimens;
  ops.statfs = fs_statfs;

  std::vector<std::string> argv = {"gongshu-powercut", "-o",
                                   "fsname=gongshu-powercut,subtype=powercut"};
  if (o.debug) argv.push_back("-d");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(int(cargv.size()), cargv.data());
  fuse* f = fuse_new(&args, &ops, sizeof ops, d.get());
  fuse_opt_free_args(&args);
  if (!f) return fail(ErrorCode::kInvalidArgument, "powercut: fuse_new failed");
  if (fuse_mount(f, o.mountpoint.c_str()) != 0) {
    fuse_destroy(f);
    return fail(ErrorCode::kUnavailable,
                "powercut: cannot mount on " + o.mountpoint +
                    " (FUSE needs /dev/fuse, `modprobe fuse`, and the right to mount: root or "
                    "fusermount3; in a container --device /dev/fuse --cap-add SYS_ADMIN)");
  }
  fuse_session* se = fuse_get_session(f);
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_unmount(f);
    fuse_destroy(f);
    return fail(ErrorCode::kInternal, "powercut: cannot install signal handlers");
  }
  write_stats(o.stats_file, d->stats());
  std::atomic<bool> stopping{false};
  std::thread control([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&usr, &sig) != 0 || stopping) return;
      std::optional<Stats> s;
      if (sig == SIGUSR2) {
        // At the worst moment: right after the next write that leaves unsynced data; a disk
        // that sees none within the grace period is cut as it is.
        d->arm();
        s = d->wait_cut(std::chrono::seconds(2));
      }
      if (!s) s = d->cut();
      write_stats(o.stats_file, *s);
      std::fprintf(stderr,
                   "gongshu-powercut: power cut%s: %llu unsynced bytes in %llu files discarded\n",
                   s->at_write ? " right after a write" : "",
                   (unsigned long long)s->discarded_bytes, (unsigned long long)s->discarded_files);
    }
  });
  int rc = fuse_loop_mt(f, 0);
  stopping = true;
  pthread_kill(control.native_handle(), SIGUSR1);
  control.join();
  fuse_remove_signal_handlers(se);
  fuse_unmount(f);
  fuse_destroy(f);
  write_stats(o.stats_file, d->stats());
  if (rc < 0) {  // a positive value is the signal that ended it
    return fail(ErrorCode::kIo, "powercut: the FUSE loop ended with " + std::to_string(rc));
  }
  return {};
}

}  // namespace gongshu::powercut
