// Reading a process's memory for the agent's memory tests: VmHWM / VmRSS from /proc/PID/status
// and a breakdown of the resident set by mapping (/proc/PID/smaps): each shared library, the
// binary, the heap, other anonymous memory, thread stacks and the LMDB spool map.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace gongshu::agent::testing {

// A field of /proc/PID/status in KiB ("VmHWM", "VmRSS"), 0 if the process is gone.
inline uint64_t proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

// Runs argv[0] (a path) with its output in log_path, waits, and returns its exit code (-1 if
// killed) and its peak resident set in KiB. The peak is VmHWM read from /proc every
// millisecond while the process lives (wait4's ru_maxrss cannot be used: posix_spawn's child
// shares this process's memory until exec, and the kernel folds that into ru_maxrss), so growth
// in its last millisecond may be missed.
struct Measured {
  int exit_code = -1;
  uint64_t max_rss_kib = 0;
};
inline Measured run_measured(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  pid_t pid = -1;
  // glibc's posix_spawn returns once the child has exec'd, so /proc shows the new program.
  int rc = ::posix_spawn(&pid, argp[0], &fa, nullptr, argp.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0]);
  Measured m;
  int status = 0;
  while (true) {
    m.max_rss_kib = std::max(m.max_rss_kib, proc_status_kib(pid, "VmHWM"));
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error("waitpid " + argv[0]);
    ::usleep(1000);
  }
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return m;
}

// Resident KiB per kind of mapping, from the text of /proc/PID/smaps.
struct RssBreakdown {
  std::map<std::string, uint64_t> kib;  // name -> resident KiB
  uint64_t total_kib = 0;
  uint64_t file_kib = 0;  // file-backed (libraries, the binary, the spool map)
  uint64_t anon_kib = 0;  // Anonymous: lines (heap, stacks, copied-on-write library data)

  std::string text() const {
    std::vector<std::pair<uint64_t, std::string>> rows;
    for (auto& [name, k] : kib) rows.emplace_back(k, name);
    std::sort(rows.rbegin(), rows.rend());
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "  %-40s %8llu KiB (file-backed %llu, anonymous %llu)\n",
                  "total", (unsigned long long)total_kib, (unsigned long long)file_kib,
                  (unsigned long long)anon_kib);
    out += line;
    for (auto& [k, name] : rows) {
      if (k == 0) continue;
      std::snprintf(line, sizeof line, "  %-40s %8llu KiB\n", name.c_str(), (unsigned long long)k);
      out += line;
    }
    return out;
  }
};

inline RssBreakdown rss_breakdown(const std::string& smaps) {
  RssBreakdown b;
  std::istringstream in(smaps);
  std::string line, name;
  bool file = false;
  uint64_t lo = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // A mapping header: "lo-hi perms offset dev inode [path]"; field lines start "Name:".
    auto colon = line.find(':');
    auto space = line.find(' ');
    bool header = space != std::string::npos && (colon == std::string::npos || colon > space);
    if (header) {
      std::istringstream h(line);
      std::string range, perms, offset, dev, inode, path;
      h >> range >> perms >> offset >> dev >> inode;
      lo = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
      std::getline(h >> std::ws, path);
      file = !path.empty() && path[0] == '/';
      if (path.empty()) {
        name = "[anon]";
      } else if (path.find("data.mdb") != std::string::npos) {
        name = "LMDB map (data.mdb)";
      } else if (path.find("lock.mdb") != std::string::npos) {
        name = "LMDB lock.mdb";
      } else if (file) {
        name = path.substr(path.rfind('/') + 1);
      } else {
        name = path;  // [heap], [stack], [vdso]...
      }
      continue;
    }
    if (name == "[anon]" && line.rfind("Size:", 0) == 0) {
      // glibc's thread stacks are 8 MiB mappings (+ guard); a thread's malloc arena is a
      // 64 MiB-aligned heap.
      uint64_t size = std::stoull(line.substr(5));
      if (lo % (uint64_t{64} << 20) == 0) {
        name = "[anon: malloc arena]";
      } else if (size == 8192 || size == 8196) {
        name = "[anon: thread stacks]";
      }
    } else if (line.rfind("Rss:", 0) == 0) {
      uint64_t k = std::stoull(line.substr(4));
      b.kib[name] += k;
      b.total_kib += k;
      if (file) b.file_kib += k;
    } else if (line.rfind("Anonymous:", 0) == 0) {
      b.anon_kib += std::stoull(line.substr(10));
    }
  }
  return b;
}

}  // namespace gongshu::agent::testing
