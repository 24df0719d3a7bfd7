// gongshu-powercut: a FUSE file system for the power-loss drill (断电演练) that keeps every write
// not yet fsynced in memory and discards it on SIGUSR1. Parses the command line and serves the
// mount; the model is tools/powercut/disk.h, the FUSE glue tools/powercut/mount.h.

#include <exception>
#include <iostream>

#include "core/util/cli.h"
#include "core/util/version.h"
#include "tools/powercut/mount.h"

int main(int argc, char** argv) {
  try {
    CLI::App app{
        "gongshu-powercut — 断电模拟 a disk that loses its write cache when the power goes.\n"
        "Mounts BACKING on MOUNTPOINT (FUSE): reads and writes pass through, but every write\n"
        "not yet made durable (fsync, fdatasync, msync, a write on an O_SYNC/O_DSYNC file) is\n"
        "kept in memory. `kill -USR1 PID` cuts the power: what was not synced is discarded and\n"
        "every later operation fails (EIO); BACKING then holds exactly what reached the disk.\n"
        "`kill -USR2 PID` cuts it right after the next write that leaves unsynced data (the\n"
        "worst moment, e.g. between a commit's page writes and its fsync), or after 2 s.\n"
        "Unmount (fusermount3 -u MOUNTPOINT) and mount again over the same BACKING to \"reboot\".\n"
        "Directory operations are durable at once. gongshu-drill's power-loss scenarios run\n"
        "gongshud's store and the agent's spool on it; docs/drills.md."};
    gongshu::powercut::MountOptions o;
    app.add_option("BACKING", o.backing, "the directory that stands for the disk 磁盘目录")
        ->required()
        ->check(CLI::ExistingDirectory);
    app.add_option("MOUNTPOINT", o.mountpoint, "where to mount it 挂载点")
        ->required()
        ->check(CLI::ExistingDirectory);
    app.add_option("--stats", o.stats_file,
                   "write the figures here as JSON (at start, after the cut, at the end): bytes "
                   "written, synced, unsynced, discarded 统计文件");
    app.add_flag("--lie-about-fsync", o.lie_about_fsync,
                 "test only: answer fsync and O_SYNC writes with success and persist nothing, a "
                 "disk that ignores flushes (proves a drill catches broken durability) "
                 "仅供测试：谎报同步成功");
    app.add_flag("--debug", o.debug, "libfuse's request trace on stderr");
    app.set_version_flag("--version", std::string("gongshu-powercut ") + gongshu::kVersion);
    app.footer("Exit status: 0 unmounted cleanly; 1 the mount failed; 2 usage.");
    int exit_code = 1;
    app.callback([&] {
      auto st = gongshu::powercut::serve(o);
      if (!st) {
        std::cerr << "gongshu-powercut: " << st.error().message() << "\n";
        exit_code = 1;
      } else {
        exit_code = 0;
      }
    });
    return gongshu::run_cli(app, argc, argv, exit_code);
  } catch (const std::exception& e) {
    std::cerr << "gongshu-powercut: " << e.what() << "\n";
    return 1;
  }
}
