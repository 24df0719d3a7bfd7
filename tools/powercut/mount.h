// powercut::serve: a powercut::Disk (tools/powercut/disk.h) mounted with FUSE (libfuse3, the
// only user of it in this tree) over a mount point, served until the file system is unmounted
// (fusermount3 -u, umount) or the process gets SIGTERM/SIGINT.
//
// The control: SIGUSR1 cuts the power now (Disk::cut); SIGUSR2 right after the next write that
// leaves unsynced data (Disk::arm), or after 2 s without one. After it every operation fails
// with EIO.
// The figures are written to stats_file (when given) as one line of JSON, replaced atomically:
// at start, after the cut ("cut":true) and at the end. The drill (tools/drill/powercut_mount.h)
// sends the signal and waits for the file to say "cut":true.
//
// The kernel's page cache stays on (no direct_io): LMDB reads its data file through mmap, which
// FUSE serves only through the page cache. Writes still reach the Disk as they happen: FUSE
// without writeback_cache writes through, and a shared writable mapping's dirty pages come as
// writes when the kernel writes them back. What the kernel caches of a mount is dropped with
// the mount, so after a cut the drill unmounts and mounts a fresh instance over the same backing
// directory. Called once per process, from main.
#pragma once

#include <string>

#include "core/util/error.h"

namespace gongshu::powercut {

struct MountOptions {
  std::string backing;
  std::string mountpoint;
  std::string stats_file;  // optional
  bool lie_about_fsync = false;
  bool debug = false;  // libfuse's request trace on stderr
};

// Returns when unmounted; an error when the mount could not be made.
[[nodiscard]] Status serve(const MountOptions& options);

}  // namespace gongshu::powercut
