// Child processes for the drill: the real binaries (gongshud, gongshu-agent, gongshuctl,
// gongshu-audit), run either to completion with their output captured (run_command) or in the
// background with their output appended to a log file (Child). Nothing here knows what the
// binaries do. main()'s thread and the load thread may both call run_command; a Child belongs to
// the thread that made it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace gongshu::drill {

struct CommandResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out;
  std::string err;
  std::chrono::milliseconds took{0};
};

// The whole of a file the drill reads back (a child's log, daemon.info, a config it edits); empty
// when it cannot be read, which the callers report as a missing line or value.
std::string read_text(const std::string& path);

// Writes a file the drill makes (a config, a plan's input), replacing it.
[[nodiscard]] Status write_text(const std::string& path, const std::string& text);

// The value of `key = "..."` in a TOML text the binaries write (daemon.info), or empty.
std::string toml_string(const std::string& text, const std::string& key);

// The command line as an operator would type it (arguments with spaces quoted), for reports.
std::string command_text(const std::vector<std::string>& argv);

// Runs argv (argv[0] a path) with extra environment variables, waits for it; killed after
// timeout. An error only when the process could not be started.
[[nodiscard]] Result<CommandResult> run_command(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A background process, its stdout and stderr appended to log_path. The destructor kills it
// (SIGKILL) if it still runs and reaps it, so a drill that stops early leaves nothing behind.
class Child {
 public:
  [[nodiscard]] static Result<Child> start(const std::vector<std::string>& argv,
                                           const std::string& log_path,
                                           const std::map<std::string, std::string>& env = {});
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  int pid() const { return pid_; }
  void signal(int sig) const;
  // Waits for the process to exit; its exit code, or -signal.
  int wait();
  // True while it runs (reaps it when it has exited).
  bool running();

 private:
  explicit Child(int pid) : pid_(pid) {}
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

}  // namespace gongshu::drill
