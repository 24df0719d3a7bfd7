// A drill plan: a scenario written as data (policies/drills/*.toml), a list of steps from a small
// vocabulary that the runner (tools/drill/runner.h) carries out against a platform with the real
// binaries. docs/drills.md describes the format; an example:
//
//   name = "daemon-crash"
//   summary_zh = "守护进程在负载下被强制终止后恢复"
//   summary_en = "gongshud is SIGKILLed under load and restarted"
//   [[step]]
//   do = "start-load"
//   records = 2000
//   [[step]]
//   do = "expect"
//   that = "lost == 0"
//
// A plan file is untrusted input: it is size-limited, parsed strictly (an unknown key, a missing
// key, a value of the wrong type or out of range is an error naming file:line) and validated
// into these types before anything runs. Plans are plain values; any thread may read them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace gongshu::drill {

enum class Action {
  kStartLoad,        // a steady synthetic load through every agent (submit of valid records)
  kWaitUntil,        // a condition on the platform, with a timeout; its wait is a figure
  kKill,             // a signal to the daemon or an agent service (default SIGKILL)
  kStop,             // SIGTERM and wait for the process to exit
  kStart,            // start the daemon or an agent service again
  kRevoke,           // gongshuctl agent revoke: the agent's key is declared compromised
  kReenroll,         // the agency enrolls a new key with a new token and restarts its agent
  kTamper,           // alter copies of an audit export in several ways; gongshu-audit must catch
  kReloadPolicy,     // push a policy (broken or the shipped one) and SIGHUP the daemon
  kVerify,           // the checker: acknowledged == stored once; audit log verifies offline
  kExpect,           // a condition on a figure measured by an earlier step
  kPause,            // let time pass (load keeps running)
  kRotateDaemonKey,  // gongshuctl daemon-key rotate, agents trust the statement, restart
  kBackup,           // gongshuctl backup create under load
  kRestore,          // the store destroyed, gongshud restore from the last backup, restart
  kGrowStore,        // space added: stop gongshud, raise [limits] map_size_mb, start it again
  kPowercutMount,    // the target's LMDB directory moved onto gongshu-powercut (a disk that
                     // keeps unsynced writes in memory), the target restarted on it
  kPowerCut,         // at a random moment: unsynced writes discarded, the target SIGKILLed,
                     // the disk remounted fresh over what reached it, the target started again
  kClusterStart,     // the sandbox becomes a cluster (docs/operations.md §10): three etcd
                     // members, the stopped daemon's state copied to three gongshud in
                     // [cluster] mode, the agents listing every node; "daemon" is the leader
};

std::string_view action_name(Action a);

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };

// `figure op value`, e.g. "lost == 0", "recovery_ms <= 30000".
struct Expectation {
  std::string figure;
  Op op = Op::kEq;
  double value = 0;
  std::string text;  // as written
  bool holds(double actual) const;
};

struct Step {
  Action action = Action::kPause;
  int line = 0;        // in the plan file
  std::string target;  // kill/stop/start: "daemon", "leader" (a cluster's) or an agent ("a", "b")
  std::string signal = "KILL";
  std::string agent;  // revoke/re-enroll
  // wait-until: drained, load-done, stored, acknowledged, refused, store-full, new-leader
  std::string condition;
  uint64_t at_least = 0;  // wait-until stored/acknowledged/refused
  uint64_t timeout_ms = 60'000;
  std::string figure;              // wait-until: the name its waiting time is recorded under
  uint64_t records = 0;            // start-load: records per agent
  uint64_t batch = 100;            // start-load: records per submission
  uint64_t interval_ms = 50;       // start-load: pause between submissions
  uint64_t ms = 0;                 // pause
  uint64_t mb = 0;                 // grow-store: the store's new map size in MiB
  std::vector<std::string> kinds;  // tamper
  bool broken = true;              // reload-policy
  bool lie_about_fsync = false;    // powercut-mount: a disk that ignores flushes (tests only)
  uint64_t within_ms = 0;          // power-cut: the cut comes after a random 0..within_ms
  uint64_t nodes = 3;              // cluster-start: gongshud nodes (3..5)
  uint64_t lease_ttl_s = 5;        // cluster-start: [cluster] lease_ttl_s of every node
  std::optional<Expectation> expect;
};

struct Plan {
  std::string name;
  std::string summary_zh;
  std::string summary_en;
  std::string file;
  // The sandbox daemon's store limit ([limits] map_size_mb) in MiB; 0: the daemon's default.
  // A small one is a disk that fills up (disk-full).
  uint64_t store_mb = 0;
  std::vector<Step> steps;
};

inline constexpr size_t kMaxPlanBytes = 64 * 1024;

// The tamper kinds gongshu-drill knows (tools/drill/tamper.h).
const std::vector<std::string>& tamper_kinds();

[[nodiscard]] Result<Plan> parse_plan(std::string_view text, const std::string& file);
[[nodiscard]] Result<Plan> load_plan(const std::string& path);
// Every *.toml under dir, sorted by name; the first bad file is an error.
[[nodiscard]] Result<std::vector<Plan>> load_plans(const std::string& dir);

}  // namespace gongshu::drill
