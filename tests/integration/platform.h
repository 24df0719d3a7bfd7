// The whole platform as real processes for end-to-end tests: a gongshud initialised and run by
// its binary, operators' commands through gongshuctl, agents through gongshu-agent, the audit log
// verified by gongshu-audit. Ports are chosen by the OS on first start and then kept, so the
// daemon can be killed and restarted under the agents' feet.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace gongshu::testing {

struct Counts {
  uint64_t records = 0;
  uint64_t versions = 0;
};

class Platform {
 public:
  Platform();
  ~Platform();

  void start_daemon();
  void kill_daemon(int sig);  // and wait for it
  bool daemon_running() { return daemon_ && daemon_->running(); }

  // gongshuctl with the operator's key; fails the test on a non-zero exit unless allowed.
  RunResult ctl(std::vector<std::string> args, bool allow_failure = false);
  Counts counts(const std::string& dataset);

  // An enrolled agent for agency with its own state directory; returns its config path.
  std::string enroll_agent(const std::string& agency, const std::string& name);
  RunResult agent(const std::string& config, std::vector<std::string> args);
  std::unique_ptr<ChildProcess> run_agent(const std::string& config);

  // Verifies an export of the whole audit log offline; returns gongshu-audit's output.
  RunResult verify_audit();

  const std::string& daemon_key() const { return daemon_key_; }
  TempDir dir;

 private:
  std::string config_path_;
  std::string daemon_key_;
  std::unique_ptr<ChildProcess> daemon_;
  std::map<std::string, std::string> env_;
};

// A JSON Lines file of n household records (unique keys, valid citizen IDs) from index first.
void write_households(const std::string& path, int first, int n);

inline constexpr const char* kHouseholds = "population.household";

// Writes n households from index first and submits them through the agent of config; the
// submission must succeed.
void submit_households(Platform& p, const std::string& config, int first, int n);

// Waits (up to drain) until the households dataset holds n records, then requires exactly n
// records and n versions: distinct keys with one version each means nothing was stored twice.
void require_households_once(Platform& p, uint64_t n, std::chrono::seconds drain);

}  // namespace gongshu::testing
