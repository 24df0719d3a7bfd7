// Helpers shared by the tests: a temporary directory that removes itself, waiting on a
// condition with a deadline (never a fixed sleep), and running a real child process with its
// output captured.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace gongshu::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Polls cond every few milliseconds until it is true or the timeout passes; returns cond's last
// value. The poll interval is a scheduling courtesy, not a timing assumption.
bool wait_until(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with the given arguments, optional stdin text and extra environment,
// waits for it and returns its exit code and output.
RunResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                      const std::map<std::string, std::string>& env = {});

// A child process running in the background, its output appended to a log file. The
// destructor kills it (SIGKILL) if it still runs and reaps it.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::map<std::string, std::string>& env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  void signal(int sig) const;
  // Waits for the process to exit; returns its exit code (-signal when killed).
  int wait();
  // True while the process runs (reaps it if it has exited).
  bool running();

 private:
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// Path of a binary built in this tree, e.g. binary_path("tools/gongshuctl").
// `bytes` after one to three random mutations — a flipped bit, an inserted byte, up to four bytes
// deleted, or a slice of up to `max_repeat` bytes repeated in place (which duplicates fields
// of a protobuf encoding) — for tests that hold a parser to a reference on hostile input.
std::string mutate(std::string bytes, std::mt19937_64& rng, size_t max_repeat = 32);

std::string binary_path(const std::string& relative);

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text, int mode = 0644);

}  // namespace gongshu::testing
