// PowercutDisk: one "boot" of gongshu-powercut (tools/powercut/) as the power-loss drill drives
// it: the binary started over a backing directory and a mount point, the cut (SIGUSR1, then the
// figures it writes once the unsynced data is gone), and the unmount (fusermount3 -u -z) that
// ends the process. After a cut the drill throws this one away and starts another over the
// same backing directory: a fresh mount has no page cache, as a rebooted machine has none.
// The destructor unmounts (lazily, so that a process still holding files cannot keep the
// sandbox's directory from being removed) and stops the process. One thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/util/error.h"
#include "tools/drill/process.h"

namespace gongshu::drill {

// gongshu-powercut's figures (its --stats file).
struct PowercutFigures {
  uint64_t writes = 0;
  uint64_t bytes_written = 0;
  uint64_t fsyncs = 0;
  uint64_t sync_writes = 0;
  uint64_t bytes_synced = 0;
  uint64_t discarded_bytes = 0;
  uint64_t discarded_files = 0;
  uint64_t discarded_truncations = 0;
  bool at_write = false;  // the cut came right after a write that left unsynced data
};

class PowercutDisk {
 public:
  // Mounts backing on mountpoint (both existing directories) and returns once it is mounted.
  [[nodiscard]] static Result<std::unique_ptr<PowercutDisk>> start(const std::string& bin_dir,
                                                                   const std::string& backing,
                                                                   const std::string& mountpoint,
                                                                   const std::string& work_prefix,
                                                                   bool lie_about_fsync);
  ~PowercutDisk();
  PowercutDisk(const PowercutDisk&) = delete;
  PowercutDisk& operator=(const PowercutDisk&) = delete;

  // The power goes: what was not synced is discarded; the figures at that moment. at_write:
  // right after the next write that leaves unsynced data (within 2 s), else at once.
  [[nodiscard]] Result<PowercutFigures> cut(bool at_write);
  // Unmounts and waits for the process to end.
  [[nodiscard]] Status unmount();

  const std::string& backing() const { return backing_; }
  const std::string& mountpoint() const { return mountpoint_; }
  bool lies() const { return lie_; }
  const std::string& command() const { return command_; }

 private:
  PowercutDisk() = default;
  std::string backing_, mountpoint_, stats_, log_, command_;
  bool lie_ = false;
  bool mounted_ = false;
  std::optional<Child> proc_;
};

}  // namespace gongshu::drill
