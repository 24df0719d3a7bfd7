// AlertService: security monitoring in gongshud (R-24, R-23; docs/monitoring.md). The rules are
// core/policy/alerts.h (alerts.toml in the policy directory, loaded and reloaded with the
// policy); this file raises, keeps, announces and acknowledges alerts.
//
// Every audit entry passes through the service as it is appended (audit::AppendHook, installed
// on the store's log), inside the transaction of the action it records:
//   before()  tags an entry whose principal is third-party staff (stored::Principal.third_party)
//             with the reference {kind "third_party", value <company>}, so every action of
//             theirs is identifiable in an export;
//   after()   feeds the entry's facts to the rules; each rule that fires becomes an alert,
//             written to the `alerts` table with its `alert_raised` audit entry in that same
//             transaction (policy_rule = the rule's name, refs {alert, <id>}, detail
//             "severity=<s> kind=<k>; <text>", principal = whoever acted). If the action's
//             transaction aborts, its alert never existed.
// A thread of the service samples what no entry records (agents' last batches and reported spool
// backlog, the audit head, open objections and their deadlines) once a second for the timer
// rules, raising their alerts in a transaction of their own under the daemon's key, and
// announces every committed alert: a journal message at warning or critical priority (errors'
// level) with GONGSHU_ALERT_* fields, and, when `[alerts] notify_command` is set, that command
// run by another thread with the alert as JSON on its standard input and killed after
// notify_timeout_ms. The notification queue is bounded (kMaxQueued): ingest and the api never
// wait for a notification; alerts beyond it wait in the store for the next round.
//
// Announcement is durable, at least once: the store's meta key `alerts_announced_up_to` holds
// the id up to which every alert was announced (journal written and notify_command run, whatever
// its exit), advanced in order after each. An alert committed by a process that died before
// announcing it is announced by the next start, with its id, so a gateway can drop a repeat. A
// store from before this key counts what it holds as announced.
//
// Memory: the rules' windows are bounded (core/policy/alerts.h); the timer rules keep one entry
// per agent key and rule.
//
// Threads: the hook runs on whichever thread appends (LMDB's write lock serialises them); the
// api handlers on the api thread; set_rules on the thread that (re)loads the policy. All are
// safe together.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/audit/log.h"
#include "core/policy/alerts.h"
#include "core/sys/logger.h"
#include "daemon/api_context.h"
#include "daemon/cluster_gate.h"
#include "daemon/config.h"
#include "daemon/daemon_store.h"
#include "daemon/directory.h"
#include "daemon/status.h"

namespace gongshu::daemon {

class AlertService : public audit::AppendHook {
 public:
  static constexpr size_t kMaxQueued = 256;

  struct Options {
    AlertConfig config;
    const sys::Logger* log = nullptr;  // null: lines on stderr
    int64_t tick_ms = 1000;            // timer rules
    // Cluster mode (daemon/cluster_gate.h): the timer rules run only while may_write() — a node
    // that does not lead hears no agent and its store is not its own to write. Null: always.
    const LeaderGate* gate = nullptr;
  };

  // Opens the alerts tables, installs the hook on store's audit log and starts the thread.
  static Result<std::unique_ptr<AlertService>> start(DaemonStore& store, CatalogView& catalog,
                                                     Options options);
  ~AlertService() override;  // stops the threads, removes the hook

  // Rules in force from now on (a policy load); every window starts again. The zone is set
  // for the process (TZ) when it changes: the C library's localtime_r reads tzdata.
  // The first rules set before run() settle the zone of working hours (TZ, process-wide); a
  // reload naming another zone is logged and takes effect at the next start.
  void set_rules(std::shared_ptr<const policy::AlertRules> rules);
  // Starts the timer and notifier threads, once, after the policy's first load (or its failure):
  // before the daemon's other threads, since the zone is settled through setenv.
  void run();
  std::shared_ptr<const policy::AlertRules> rules() const;
  // The agents' activity the ingest pipeline keeps (status.h: last frame, reported backlog);
  // until set, the timer rules see what the store records.
  void set_agents(std::function<std::map<std::string, AgentActivity>()> agents);

  // audit::AppendHook.
  Status before(store::WriteTxn& txn, v1::AuditEntry& entry) override;
  Status after(store::WriteTxn& txn, const v1::AuditEntry& entry,
               const audit::Appended& appended) override;

  // Runs the timer rules once now (the thread does every tick_ms).
  Status check_timers();

  // Open (unacknowledged) alerts as txn sees them.
  uint64_t open_count(const store::Txn& txn) const;

  // The api's requests (operators and officers). ack writes `alert_acknowledged` (principal the
  // caller, refs {alert, <id>}, detail the note) in the transaction that records it.
  Reply list(ApiContext& ctx, const Caller& c, const v1::AlertListRequest& req,
             v1::ApiResponse& resp);
  Reply show(ApiContext& ctx, const Caller& c, const v1::AlertShowRequest& req,
             v1::ApiResponse& resp);
  Reply ack(ApiContext& ctx, const Caller& c, const v1::AlertAckRequest& req,
            v1::ApiResponse& resp);

  struct Figures {
    uint64_t raised = 0;         // since start, committed or not
    uint64_t announced = 0;      // journal messages written
    uint64_t notified = 0;       // notify_command runs that exited 0
    uint64_t notify_failed = 0;  // ... that exited otherwise or could not start
    uint64_t notify_timed_out = 0;
    uint64_t notify_deferred = 0;  // the queue was full: left for the next round
    size_t tracked = 0;            // principals held in rule windows
    size_t tracked_subjects = 0;
  };
  Figures figures() const;

 private:
  AlertService(DaemonStore& store, CatalogView& catalog, Options options,
               store::Table<std::string_view> alerts, store::Table<std::string_view> open);
  // Writes an alert for firing and its alert_raised entry in txn; returns its id.
  Result<std::string> raise(store::WriteTxn& txn, const policy::Firing& firing,
                            const v1::AuditEntry* trigger, uint64_t trigger_seq,
                            const std::string& about, const std::string& agency,
                            const std::string& dataset = "");
  // Records durably that every alert up to id is announced.
  void mark_announced(uint64_t id);
  void timer_loop();
  void notify_loop();
  void announce_new();
  void run_notify(const std::string& json);
  struct Queued {
    uint64_t id = 0;
    std::string json;
  };

  DaemonStore& store_;
  CatalogView& catalog_;
  Options options_;
  std::unique_ptr<sys::Logger> own_log_;
  const sys::Logger* log_;
  store::Table<std::string_view> alerts_;  // 20-digit id -> v1::Alert
  store::Table<std::string_view> open_;    // 20-digit id -> "" while unacknowledged

  std::mutex timers_mu_;   // held through check_timers()
  mutable std::mutex mu_;  // rules_, evaluator_, timer state, figures_
  std::shared_ptr<const policy::AlertRules> rules_;
  policy::AlertEvaluator evaluator_{nullptr};
  std::string zone_;
  // Timer rules: (rule, about) -> when its latest alert was raised; previous backlog per agent.
  std::map<std::string, int64_t> last_raised_;
  std::map<std::string, uint64_t> backlog_;
  Figures figures_;
  std::function<std::map<std::string, AgentActivity>()> agents_;
  uint64_t announced_up_to_ = 0;          // timer thread only: journaled (and queued) up to
  uint64_t checkpoint_seen_ = 0;          // checkpoint_stalled: the size last seen, and since when
  int64_t checkpoint_waiting_since_ = 0;  // (steady ms) entries waited behind it; 0: none

  std::mutex qmu_;
  std::condition_variable qcv_;
  std::deque<Queued> queue_;
  bool crash_before_announce_ = false;  // failpoint alert_before_announce (tests only)
  bool stopping_ = false;
  bool running_ = false;  // run() started the threads
  std::condition_variable tcv_;
  std::thread timer_;
  std::thread notifier_;
};

// "00000000000000000042" for 42: the alerts tables' keys.
std::string alert_key(uint64_t id);

// The alert as JSON for notify_command and `gongshuctl alert show --json` (keys as in api.proto).
std::string alert_json(const v1::Alert& a);

}  // namespace gongshu::daemon
