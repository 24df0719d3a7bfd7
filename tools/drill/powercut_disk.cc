#include "tools/drill/powercut_disk.h"

// Languages: its errors end a step and are recorded in the report (a signed record with its own
// Chinese beside English), written the same in every language (i18n-exempt).

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace gongshu::drill {
namespace {

bool is_mounted(const std::string& mp) {
  struct stat a, b;
  return ::stat(mp.c_str(), &a) == 0 && ::stat((mp + "/..").c_str(), &b) == 0 &&
         a.st_dev != b.st_dev;
}

std::string fusermount() {
  for (const char* p : {"/usr/bin/fusermount3", "/bin/fusermount3"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "fusermount3";
}

std::string tail(const std::string& s) { return s.size() > 600 ? s.substr(s.size() - 600) : s; }

}  // namespace

Result<std::unique_ptr<PowercutDisk>> PowercutDisk::start(const std::string& bin_dir,
                                                          const std::string& backing,
                                                          const std::string& mountpoint,
                                                          const std::string& work_prefix,
                                                          bool lie_about_fsync) {
  std::unique_ptr<PowercutDisk> d(new PowercutDisk());
  d->backing_ = backing;
  d->mountpoint_ = mountpoint;
  d->stats_ = work_prefix + ".stats.json";
  d->log_ = work_prefix + ".log";
  d->lie_ = lie_about_fsync;
  std::string bin = bin_dir + "/gongshu-powercut";
  if (::access(bin.c_str(), X_OK) != 0) {
    return fail(ErrorCode::kNotFound,
                "no executable " + bin + " (gongshu-tools installs it)");  // i18n-exempt
  }
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    return fail(ErrorCode::kUnavailable,
                "power-loss needs FUSE: /dev/fuse is missing or "  // i18n-exempt
                "not usable (`modprobe fuse`; in "
                "a container, pass the device in)");
  }
  ::unlink(d->stats_.c_str());
  std::vector<std::string> argv = {bin, backing, mountpoint, "--stats", d->stats_};
  if (lie_about_fsync) argv.push_back("--lie-about-fsync");
  d->command_ = command_text(argv) + " &";
  GONGSHU_TRY(Child c, Child::start(argv, d->log_));
  d->proc_.emplace(std::move(c));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!is_mounted(mountpoint)) {
    if (!d->proc_->running()) {
      return fail(ErrorCode::kUnavailable,
                  "gongshu-powercut exited: " + tail(read_text(d->log_)));  // i18n-exempt
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(ErrorCode::kUnavailable, "gongshu-powercut did not mount " +  // i18n-exempt
                                               mountpoint +                     // i18n-exempt
                                               " within 10 s: " + tail(read_text(d->log_)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  d->mounted_ = true;
  return d;
}

Result<PowercutFigures> PowercutDisk::cut(bool at_write) {
  if (!proc_ || !proc_->running()) {
    return fail(ErrorCode::kUnavailable, "gongshu-powercut is not running");  // i18n-exempt
  }
  proc_->signal(at_write ? SIGUSR2 : SIGUSR1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    std::string text = read_text(stats_);
    if (text.find("\"cut\":true") != std::string::npos) {
      try {
        auto j = nlohmann::json::parse(text);
        PowercutFigures f;
        f.writes = j.at("writes").get<uint64_t>();
        f.bytes_written = j.at("bytes_written").get<uint64_t>();
        f.fsyncs = j.at("fsyncs").get<uint64_t>();
        f.sync_writes = j.at("sync_writes").get<uint64_t>();
        f.bytes_synced = j.at("bytes_synced").get<uint64_t>();
        f.discarded_bytes = j.at("discarded_bytes").get<uint64_t>();
        f.discarded_files = j.at("discarded_files").get<uint64_t>();
        f.discarded_truncations = j.at("discarded_truncations").get<uint64_t>();
        f.at_write = j.at("at_write").get<bool>();
        return f;
      } catch (const std::exception& e) {
        return fail(ErrorCode::kCorrupt, stats_ + ": " + e.what());
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(ErrorCode::kUnavailable,
                  "gongshu-powercut did not report the cut within 10 s: " +  // i18n-exempt
                      tail(read_text(log_)));                                // i18n-exempt
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Status PowercutDisk::unmount() {
  if (mounted_) {
    mounted_ = false;
    auto r = run_command({fusermount(), "-u", "-z", mountpoint_}, {}, std::chrono::seconds(10));
    if (!r) return tl::unexpected(r.error());
    if (r->exit_code != 0 && is_mounted(mountpoint_)) {
      return fail(ErrorCode::kUnavailable, "fusermount3 -u " + mountpoint_ + ": " + r->err);
    }
  }
  if (proc_ && proc_->running()) {
    // Unmounted, it ends by itself; lazily unmounted with files still open, when they close.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (proc_->running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (proc_->running()) {
      proc_->signal(SIGTERM);
      (void)proc_->wait();  // a disk that will not stop is stopped; its exit status is moot
    }
  }
  return {};
}

PowercutDisk::~PowercutDisk() {
  // Best effort on the way out (the sandbox is being removed): a failed unmount leaves a
  // directory behind, which harms nobody.
  (void)unmount();
}

}  // namespace gongshu::drill
