// A throwaway platform for a drill, built and driven only through the real binaries as an
// operator would: `gongshud init` and `gongshud run` (OS-chosen ports, kept across restarts),
// the shipped agencies, catalog and policy registered with gongshuctl, two agents enrolled with
// tokens (agent "a" of sjz-gongan delivering population.household, agent "b" of sjz-shichang
// delivering legal_person.registration) and run as `gongshu-agent run`, and a synthetic load of
// valid records submitted with `gongshu-agent submit` from a background thread with known counts.
// Everything lives in one temporary directory, removed by the destructor with every process it
// started killed.
//
// Sandbox is used by one thread (the runner's), except the load thread it owns, which only
// submits files and updates the per-agent counts under a mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/util/error.h"
#include "tools/drill/process.h"

namespace gongshu::drill {

struct SandboxOptions {
  std::string bin_dir;       // gongshud, gongshu-agent, gongshuctl, gongshu-audit
  std::string policies_dir;  // agencies.toml, catalog/, policy/
  bool keep = false;         // leave the directory behind (for a post-mortem)
  uint64_t store_mb = 0;     // the daemon's [limits] map_size_mb; 0: its default
  // A real backup to restore instead of `gongshud init`: the backup, the storage master key,
  // the backed-up daemon's key file (keys are not in a backup) and a key registered as an
  // operator of that platform, which the drill then acts as.
  std::string from_backup;
  std::string master_key;
  std::string backup_daemon_key;
  std::string operator_key;
  // --target systemd (tools/drill/target.h): the daemon is this host's unit, started, stopped,
  // killed and reloaded only through systemctl, found through its configuration's state
  // directory (daemon.info); operator_key must be an operator of it. The drill's two agents, its
  // load and everything else still live in the temporary directory, and its records carry keys
  // of their own run (drill-<run>-hh-N), so drills on one host never update each other's.
  std::string systemd_unit;
  std::string systemd_config;
  // Called for every command run on a step's behalf (not for polling), for the report.
  std::function<void(const std::string& command, const CommandResult&)> on_command;
};

struct DatasetCounts {
  uint64_t records = 0;
  uint64_t versions = 0;
};

// cluster-start (tools/drill/sandbox_cluster.cc): the replicated mode of docs/replication.md.
struct ClusterOptions {
  int nodes = 3;
  int lease_ttl_s = 5;
};

// What the live nodes of a cluster say (gongshuctl cluster status on each).
struct ClusterView {
  std::string leader;  // the node that says it leads; empty: none does (an election)
  int64_t term = 0;
  int64_t leader_since_mono_ns = 0;  // CLOCK_MONOTONIC, one clock for every process here
  int64_t last_ack_mono_ns = 0;      // the leader's last acknowledgement to an agent
  int live = 0;                      // nodes running
};

// The leader the drill killed (a kill or stop of target "leader").
struct LeaderLoss {
  std::string node;
  int64_t term = 0;
  int64_t at_mono_ns = 0;
  int64_t restarted_at_mono_ns = 0;  // start of target "old-leader": its machine restored
};

// The lost leader started again (target "old-leader"), as it and the leader now say.
struct RejoinView {
  std::string node;  // the lost leader
  bool running = false;
  bool leads = false;   // it says it leads (it must not)
  std::string follows;  // the leader it names; empty: none yet
  std::string leader;   // the node that leads, as the cluster says
  int64_t term = 0;     // the leader's
  // Audit tree size and latest checkpoint (size, root) of the lost node and of the leader.
  uint64_t tree_size = 0, head_size = 0, leader_tree_size = 0, leader_head_size = 0;
  std::string root, leader_root;
  bool reseeded = false;      // its journal since the restart says replica_reseeded
  std::string reseed_reason;  // "diverged", "behind" or empty
  int64_t since_restart_ms = 0;
  // Equal audit trees, each fully covered by the same signed checkpoint.
  bool audit_equal() const {
    return tree_size > 0 && tree_size == leader_tree_size && head_size == tree_size &&
           leader_head_size == leader_tree_size && !root.empty() && root == leader_root;
  }
};

struct AgentFigures {
  uint64_t spooled = 0;
  uint64_t in_flight = 0;
  uint64_t acknowledged = 0;
  uint64_t acknowledged_batches = 0;
  std::string key_id;
  std::string last_error;  // the service's, e.g. a batch the daemon could not store
};

class Sandbox {
 public:
  static constexpr const char* kAgents[2] = {"a", "b"};

  [[nodiscard]] static Result<std::unique_ptr<Sandbox>> create(SandboxOptions options);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& dir() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& daemon_key() const { return daemon_key_; }
  static std::string dataset_of(const std::string& agent);
  static std::string agency_of(const std::string& agent);

  // Daemon and agent services. start_daemon returns once daemon.info is written (the daemon
  // is ready) or fails if the process exits first.
  [[nodiscard]] Status start_daemon();
  [[nodiscard]] Status start_agent(const std::string& agent);
  // Sends sig; with wait, waits for the process to exit and returns its exit status.
  [[nodiscard]] Result<int> signal(const std::string& target, int sig, bool wait);
  bool running(const std::string& target);

  // The operator's and agencies' commands. record = false for polling (not in the report).
  [[nodiscard]] Result<CommandResult> ctl(std::vector<std::string> args, bool record = true);
  [[nodiscard]] Result<CommandResult> agent_cmd(const std::string& agent,
                                                std::vector<std::string> args, bool record = true);
  [[nodiscard]] Result<CommandResult> audit_cmd(std::vector<std::string> args, bool record = true);
  // Another of the binaries (e.g. gongshud restore), run to completion.
  [[nodiscard]] Result<CommandResult> run_bin(const std::string& name,
                                              std::vector<std::string> args);

  [[nodiscard]] Result<DatasetCounts> counts(const std::string& dataset);
  [[nodiscard]] Result<AgentFigures> agent_figures(const std::string& agent);
  // A token for the agent's agency, a fresh key, enrollment, the service started again.
  [[nodiscard]] Status reenroll(const std::string& agent);
  // Rewrites the daemon's configuration with [limits] map_size_mb = mb (the store's limit; it
  // takes effect when the daemon starts next).
  [[nodiscard]] Status set_store_mb(uint64_t mb);
  const std::string& daemon_config() const { return daemon_config_; }
  // With from_backup: how long gongshud restore took and the backup's size.
  uint64_t restore_ms() const { return restore_ms_; }
  uint64_t backup_bytes() const { return backup_bytes_; }
  // gongshuctl audit export into path.
  [[nodiscard]] Status export_audit(const std::string& path, bool record = true);

  // The synthetic load: per agent `records` records in submissions of `batch`, `interval`
  // apart, alternating agents. Runs until done or stop_load().
  void start_load(uint64_t records, uint64_t batch, std::chrono::milliseconds interval);
  void stop_load();
  // Holds the load between two submissions while the lock lives (an agent's spool is being
  // moved or remounted: a submission then would spool into the bare mount point).
  std::unique_lock<std::mutex> hold_load() { return std::unique_lock<std::mutex>(load_gate_); }
  bool load_done() const { return load_done_; }
  uint64_t submitted(const std::string& agent) const;
  uint64_t submit_failures() const { return submit_failures_; }
  std::string load_error() const;

  std::string daemon_log() const;
  std::string policy_dir() const { return file("policy"); }

  // The cluster (sandbox_cluster.cc). make_cluster stops the daemon cleanly, starts three etcd
  // members, copies its state to each node (docs/operations.md §10: one state, three copies),
  // gives each a node key and a [cluster] section, starts them and points the agents at every
  // node. From then on "daemon" and "leader" name the node that leads, and every gongshuctl
  // command goes to it (cluster_view follows the leader).
  [[nodiscard]] Status make_cluster(const ClusterOptions& options);
  bool clustered() const { return !nodes_.empty(); }
  [[nodiscard]] Result<ClusterView> cluster_view();
  const LeaderLoss& leader_loss() const { return leader_loss_; }
  // The lost leader's machine restored: its gongshud started again on its own state and
  // configuration (same ports), returning once it is ready (daemon.info written).
  [[nodiscard]] Status restart_lost_leader();
  // What the restarted lost leader and the leader say now (polled by wait-until rejoined).
  [[nodiscard]] Result<RejoinView> rejoin_view();
  const SandboxOptions& options() const { return options_; }

 private:
  explicit Sandbox(SandboxOptions o) : options_(std::move(o)) {}
  [[nodiscard]] Status build();
  [[nodiscard]] Status write_daemon_config();
  [[nodiscard]] Status restore_backup();
  [[nodiscard]] Result<CommandResult> run(const std::vector<std::string>& argv, bool record,
                                          const std::map<std::string, std::string>& env = {});
  [[nodiscard]] Status enroll(const std::string& agent);
  std::string bin(const std::string& name) const { return options_.bin_dir + "/" + name; }
  std::string agent_config(const std::string& agent) const {
    return file("agent-" + agent + ".toml");
  }
  std::string write_records(const std::string& agent, uint64_t first, uint64_t n);

  SandboxOptions options_;
  std::string dir_;
  std::string daemon_config_;
  std::string daemon_key_;
  std::string ingest_endpoint_ = "tcp://127.0.0.1:*";
  std::string api_endpoint_ = "tcp://127.0.0.1:*";
  uint64_t store_mb_ = 0;
  uint64_t restore_ms_ = 0;
  uint64_t backup_bytes_ = 0;
  std::map<std::string, std::string> ctl_env_;
  std::optional<Child> daemon_;
  std::map<std::string, Child> agents_;

  std::thread load_thread_;
  std::atomic<bool> load_stop_{false};
  std::atomic<bool> load_done_{true};
  std::atomic<uint64_t> submit_failures_{0};
  std::mutex load_gate_;   // held by the load thread for each submission (hold_load)
  mutable std::mutex mu_;  // guards submitted_, load_error_
  std::map<std::string, uint64_t> submitted_;
  std::string load_error_;
  uint64_t next_record_ = 0;  // the load thread's only
  std::string record_prefix_ = "drill";
  // The systemd target: the unit's systemctl, and the daemon.info it writes.
  [[nodiscard]] Result<CommandResult> systemctl(std::vector<std::string> args, bool record);
  std::string daemon_info_;

  struct Node {
    std::string id, state, config, api, ingest;
    std::string cluster_section;  // its [cluster] text, kept to rewrite the config
    size_t log_from = 0;          // where its log's current run begins
    std::optional<Child> process;
  };
  std::vector<Child> etcd_;
  std::vector<Node> nodes_;
  std::string leader_;  // the node gongshuctl goes to
  LeaderLoss leader_loss_;
  Node* leader_node();
  Node* node_named(const std::string& id);
  [[nodiscard]] Status write_node_config(const Node& n);
  void stop_cluster();
  [[nodiscard]] Result<int> signal_leader(int sig, bool wait);
};

}  // namespace gongshu::drill
