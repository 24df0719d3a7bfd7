// Test helpers for the notify protocol: the service manager's end of NOTIFY_SOCKET (an AF_UNIX
// datagram socket bound in a temporary directory, with SO_PASSCRED so every message carries
// its sender's pid, as systemd sees it), a scoped environment variable, and a child process
// that keeps running while the test talks to it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gongshu::sys::testing {

struct NotifyMessage {
  std::string text;  // "READY=1", "STATUS=...", "RELOADING=1\nMONOTONIC_USEC=..."
  pid_t pid = 0;     // the sender, from SCM_CREDENTIALS
  bool has(std::string_view line) const;                         // text contains this exact line
  std::optional<std::string> value(std::string_view key) const;  // "KEY=value" -> value
};

class NotifySocket {
 public:
  explicit NotifySocket(std::string path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  // The next datagram, or nullopt when none arrives within timeout.
  std::optional<NotifyMessage> receive(std::chrono::milliseconds timeout);
  // Receives until a message satisfies pred (returning it) or the timeout passes. Messages
  // that do not match are kept in skipped() for the test to inspect.
  std::optional<NotifyMessage> expect(const std::function<bool(const NotifyMessage&)>& pred,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::optional<NotifyMessage> expect_line(
      std::string_view line, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::vector<NotifyMessage>& skipped() { return skipped_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<NotifyMessage> skipped_;
};

// Sets (or, with nullopt, unsets) an environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A child process with stdout and stderr appended to log_path. The environment is this
// process's minus `unset`, plus `env`. The destructor kills (SIGKILL) and reaps a child that is
// still running.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
        const std::set<std::string>& unset, const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // True while the child has not exited (reaps it if it has).
  bool running();
  // The exit code once the child exited within timeout (-1 when killed by a signal); nullopt
  // when it is still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace gongshu::sys::testing
