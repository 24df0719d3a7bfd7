#include "tools/drill/runner.h"

// Languages: the progress lines are for the person at the terminal and are translated. What a
// step records (its title, expectations, evidence, commands and errors) is the report's, signed
// and kept for officers with its own Chinese beside English: each title, expectation and evidence
// is written in both languages at once (both(), tools/drill/bilingual.h), whatever the language
// of the drill (i18n-exempt); the progress line shows the one of the reader's language (a
// catalogued pattern whose translation picks the Chinese arguments).

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/util/check.h"
#include "core/util/i18n.h"
#include "tools/drill/bilingual.h"
#include "tools/drill/checker.h"
#include "tools/drill/powercut_disk.h"
#include "tools/drill/tamper.h"

namespace gongshu::drill {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t ms_since(Clock::time_point t) {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

int signal_number(const std::string& s) {
  static const std::map<std::string, int> m = {{"KILL", SIGKILL}, {"TERM", SIGTERM},
                                               {"INT", SIGINT},   {"HUP", SIGHUP},
                                               {"STOP", SIGSTOP}, {"CONT", SIGCONT}};
  return m.at(s);
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A step's target as the report names it, in both languages.
Bilingual whom(const std::string& target) {
  if (target == "daemon") return same("gongshud");
  if (target == "leader") return both("主节点 gongshud", "the leading gongshud");  // i18n-exempt
  if (target == "old-leader")
    return both("原主节点 gongshud（其机器已恢复）",                   // i18n-exempt
                "the lost leader's gongshud (its machine restored)");  // i18n-exempt
  return both("代理程序 {}（{}）", "agent {} ({})", target, Sandbox::agency_of(target));
}

// What the restarted lost leader and the leader say (wait-until rejoined), as evidence.
Bilingual rejoin_state(const RejoinView& r) {
  if (!r.running) return both("{} 未运行", "{} is not running", r.node);  // i18n-exempt
  if (r.leads) return both("{} 自称主节点", "{} says it leads", r.node);  // i18n-exempt
  Bilingual b =
      r.follows.empty()
          ? both("{} 尚未跟随任何主节点", "{} follows no leader yet", r.node)    // i18n-exempt
          : both("{0} 跟随 {1}（不是主节点）", "{0} follows {1} (not leading)",  // i18n-exempt
                 r.node, r.follows);
  if (r.reseeded)
    b = b + both("，已从主节点的备份重新播种（{}）",                             // i18n-exempt
                 ", re-seeded from the leader's backup ({})", r.reseed_reason);  // i18n-exempt
  else if (!r.reseed_reason.empty())
    b = b + both("，正在重新播种（{}）", ", re-seeding ({})", r.reseed_reason);  // i18n-exempt
  else
    b = b + both("，从自身位置继续同步，未重新播种",                      // i18n-exempt
                 ", streaming on from its own position, not re-seeded");  // i18n-exempt
  if (r.audit_equal())
    return b + both("；审计树与主节点相同：{0} 项，根 {1}",                       // i18n-exempt
                    "; audit tree equal to the leader's: {0} entries, root {1}",  // i18n-exempt
                    r.tree_size, r.root.substr(0, 16) + "…");
  return b +
         both(
             "；审计树 {0} 项（检查点 {1}），主节点 {2} 项（检查点 {3}）",  // i18n-exempt
             "; audit tree {0} entries (checkpoint {1}), the leader's {2} (checkpoint {3})",  // i18n-exempt
             r.tree_size, r.head_size, r.leader_tree_size, r.leader_head_size);
}

// A process's exit status as evidence.
Bilingual exit_status(const std::string& program, int code) {
  return both("{} 退出码 {}", "{} exit {}", program, code);  // i18n-exempt
}

// "ready" or the reason a start failed.
Bilingual ready_or(const Status& st, const char* zh_ready, const char* en_ready) {
  return st ? Bilingual{zh_ready, en_ready} : with_reason("未就绪", st.error().message());
}

// Carries out one scenario. A failed expectation ends it (failed_); an error means the drill
// could not go on (error_).
class Run {
 public:
  Run(const Plan& plan, const RunOptions& o) : plan_(plan), o_(o) {}

  ScenarioResult go();

 private:
  void say(const std::string& line) {
    if (o_.progress) *o_.progress << line << std::endl;
  }
  // An expectation and its evidence, each in Chinese and English (bilingual.h).
  void expect(bool held, const Bilingual& text, const Bilingual& evidence) {
    step_->expectations.push_back({text.en, held, evidence.en, text.zh, evidence.zh});
    if (!held) failed_ = true;
  }
  void figure(const std::string& name, double v) {
    figures_[name] = v;
    step_->figures.emplace_back(name, v);
  }
  [[nodiscard]] Status step(const Step& s);
  [[nodiscard]] Status wait_until(const Step& s);
  [[nodiscard]] Status tamper_step(const Step& s);
  [[nodiscard]] Status reload_policy(const Step& s);
  [[nodiscard]] Status verify();
  [[nodiscard]] Status rotate_daemon_key();
  [[nodiscard]] Status backup();
  [[nodiscard]] Status restore();
  [[nodiscard]] Status grow_store(const Step& s);
  [[nodiscard]] Status powercut_mount(const Step& s);
  [[nodiscard]] Status power_cut(const Step& s);
  [[nodiscard]] Status cluster_start(const Step& s);
  std::string lmdb_dir(const std::string& target) const;
  void unmount_disks();
  [[nodiscard]] Result<std::map<std::string, uint64_t>> stored_per_dataset();
  [[nodiscard]] Result<uint64_t> refusals();
  [[nodiscard]] Result<std::string> audit_show(const std::string& name);
  [[nodiscard]] Result<HistoryCheck> check_agent(const std::string& agent,
                                                 const std::string& receipts,
                                                 const std::string& audit_export,
                                                 const std::vector<IngestEntry>& entries,
                                                 uint64_t checkpoint_size);
  // gongshuctl drill mark: the drill's start or end in the platform's audit log. The entry's
  // seq, or 0 when the daemon could not record it (down at the end of a failed drill).
  uint64_t mark(const std::string& phase, const std::string& outcome);

  const Plan& plan_;
  const RunOptions& o_;
  std::unique_ptr<Sandbox> sb_;
  StepResult* step_ = nullptr;
  std::map<std::string, double> figures_;
  bool failed_ = false;
  uint64_t refused_baseline_ = 0;
  std::string backup_;                                // the last backup's file
  std::map<std::string, uint64_t> stored_at_backup_;  // records per dataset just before it
  uint64_t log_size_at_backup_ = 0;  // a lower bound: the signed head just before the backup
  bool restored_ = false;
  uint64_t started_seq_ = 0;  // the drill_started entry
  std::string last_store_error_;
  std::map<std::string, std::set<std::string>> agent_keys_;  // every key each agent signed with
  std::map<std::string, uint64_t> baseline_;  // records per dataset before the drill (a backup's)
                                              // // what an agent was told when the store was full
  std::map<std::string, uint64_t> rpo_;       // per dataset: acknowledged after the backup, lost
  int exports_ = 0;
  // power-loss: the gongshu-powercut disk under each target's LMDB directory (destroyed before
  // the sandbox, which removes the directory it is mounted in).
  std::map<std::string, std::unique_ptr<PowercutDisk>> disks_;
};

ScenarioResult Run::go() {
  ScenarioResult r;
  r.name = plan_.name;
  r.summary_zh = plan_.summary_zh;
  r.summary_en = plan_.summary_en;
  r.plan_file = plan_.file;
  r.started_at_ms = wall_ms();
  auto t0 = Clock::now();
  for (size_t i = 0; i < plan_.steps.size(); ++i) {
    StepResult st;
    st.index = int(i + 1);
    st.action = std::string(action_name(plan_.steps[i].action));
    st.line = plan_.steps[i].line;
    Bilingual title = describe(plan_.steps[i]);
    st.title = std::move(title.en);
    st.title_zh = std::move(title.zh);
    st.outcome = "not run";  // i18n-exempt
    r.steps.push_back(std::move(st));
  }
  // Step 0: the sandbox itself, timed and recorded like a step.
  StepResult setup;
  setup.index = 0;
  setup.action = "sandbox";
  setup.title =
      "build the sandbox platform: gongshud init + run, agencies, catalog, "  // i18n-exempt
      "agents a (sjz-gongan) and b (sjz-shichang) enrolled and running";      // i18n-exempt
  setup.title_zh =
      "构建沙箱平台：初始化并运行 gongshud，登记机构和数据目录，注册并运行代理程序 "  // i18n-exempt
      "a（sjz-gongan）和 b（sjz-shichang）";                                          // i18n-exempt
  setup.started_at_ms = wall_ms();
  step_ = &setup;
  // TRANSLATORS: {3} is the step's English title, {4} the same in Chinese: show {4}.
  say(trf("[{0} {1}/{2}] {3}", plan_.name, 0, plan_.steps.size(), setup.title, setup.title_zh));
  SandboxOptions so = o_.sandbox;
  so.bin_dir = o_.bin_dir;
  so.policies_dir = o_.policies_dir;
  so.keep = o_.keep;
  so.store_mb = plan_.store_mb;
  so.on_command = [this](const std::string& cmd, const CommandResult& res) {
    step_->commands.push_back({cmd, res.exit_code, uint64_t(res.took.count())});
  };
  auto sb = Sandbox::create(so);
  setup.duration_ms = ms_since(t0);
  if (!sb) {
    setup.outcome = "error";
    r.error = sb.error().message();
    r.steps.insert(r.steps.begin(), std::move(setup));
    r.duration_ms = ms_since(t0);
    say(trf("  ✗ could not build the sandbox: {}", r.error));
    return r;
  }
  sb_ = std::move(*sb);
  setup.outcome = "ok";
  setup.figures.emplace_back("setup_ms", double(setup.duration_ms));
  say(trf("  ✓ {} ms, in {}", setup.duration_ms, sb_->dir()));
  if (!o_.sandbox.from_backup.empty()) {
    setup.figures.emplace_back("backup_bytes", double(sb_->backup_bytes()));
    setup.figures.emplace_back("backup_restore_ms", double(sb_->restore_ms()));
    say(trf("  backup restored in {} ms ({} bytes)", sb_->restore_ms(), sb_->backup_bytes()));
  }
  for (const char* a : Sandbox::kAgents) {
    auto f = sb_->agent_figures(a);
    auto c = sb_->counts(Sandbox::dataset_of(a));
    if (f) agent_keys_[a].insert(f->key_id);
    if (c) {
      baseline_[Sandbox::dataset_of(a)] = c->records;
      if (c->records > 0)
        setup.figures.emplace_back("records_before_" + Sandbox::dataset_of(a), double(c->records));
    }
  }
  // Officers reading the log can tell what follows from a real incident.
  started_seq_ = mark("started", "");
  if (started_seq_) setup.figures.emplace_back("drill_started_seq", double(started_seq_));
  r.steps.insert(r.steps.begin(), std::move(setup));

  for (size_t i = 0; i < plan_.steps.size() && !failed_ && r.error.empty(); ++i) {
    const Step& s = plan_.steps[i];
    step_ = &r.steps[i + 1];
    if (g_stop) {
      r.error = "interrupted before step " + std::to_string(i + 1);  // i18n-exempt
      break;
    }
    step_->started_at_ms = wall_ms();
    auto ts = Clock::now();
    // TRANSLATORS: {4} is the step's English title, {5} the same in Chinese: show {5}.
    say(trf("[{0} {1}/{2} +{3}s] {4}", plan_.name, i + 1, plan_.steps.size(), ms_since(t0) / 1000,
            step_->title, step_->title_zh));
    auto st = step(s);
    step_->duration_ms = ms_since(ts);
    if (!st) {
      step_->outcome = "error";
      r.error = "step " + std::to_string(i + 1) + " (" + std::string(action_name(s.action)) + ", " +
                plan_.file + ":" + std::to_string(s.line) + "): " + st.error().message();
      say(trf("  ✗ could not run: {}", st.error().message()));
      break;
    }
    step_->outcome = failed_ ? "failed" : "ok";
    // The report keeps each expectation and its evidence in both languages; the terminal
    // shows the reader's.
    for (const auto& e : step_->expectations) {
      // TRANSLATORS: {0} {1} are the expectation and its evidence in English, {2} {3} the same
      // in Chinese: show {2} and {3}.
      say(e.held ? trf("  ✓ {0} — {1}", e.text, e.evidence, e.text_zh, e.evidence_zh)
                 // TRANSLATORS: as above: {2} {3} are the Chinese.
                 : trf("  ✗ FAILED {0} — {1}", e.text, e.evidence, e.text_zh, e.evidence_zh));
    }
    say(failed_ ? trf("  ✗ failed in {} ms", step_->duration_ms)
                : trf("  ✓ done in {} ms", step_->duration_ms));
  }
  r.passed = !failed_ && r.error.empty();
  r.audit_marks.emplace_back("drill_started", started_seq_);
  if (sb_->running("daemon")) {
    step_ = &r.steps.front();  // the marker's command is the sandbox's, not the last step's
    uint64_t seq = mark("finished", !r.error.empty() ? "error" : r.passed ? "passed" : "failed");
    r.audit_marks.emplace_back("drill_finished", seq);
  }
  unmount_disks();
  sb_.reset();  // stops every process and removes the sandbox
  r.duration_ms = ms_since(t0);
  return r;
}

Status Run::step(const Step& s) {
  switch (s.action) {
    case Action::kStartLoad:
      sb_->start_load(s.records, s.batch, std::chrono::milliseconds(s.interval_ms));
      step_->commands.push_back(
          {"gongshu-agent submit --dataset <dataset> <file of " +  // i18n-exempt
               std::to_string(s.batch) +
               " records>  # repeated in the background for agents a and b",  // i18n-exempt
           0, 0});
      figure("load_records_per_agent", double(s.records));
      return {};
    case Action::kWaitUntil:
      return wait_until(s);
    case Action::kKill:
    case Action::kStop: {
      int sig = s.action == Action::kStop ? SIGTERM : signal_number(s.signal);
      bool wait = sig == SIGKILL || sig == SIGTERM || sig == SIGINT;
      auto t = Clock::now();
      GONGSHU_TRY(int code, sb_->signal(s.target, sig, wait));
      if (wait) {
        figure(s.target == "daemon" || s.target == "leader" ? "daemon_exit_ms" : "agent_exit_ms",
               double(ms_since(t)));
        if (s.action == Action::kStop) {
          expect(code == 0,
                 both("{} 收到 SIGTERM 后正常停止", "{} stops cleanly on SIGTERM",  // i18n-exempt
                      whom(s.target)),
                 both("退出状态 {}", "exit status {}", code));  // i18n-exempt
        }
      }
      return {};
    }
    case Action::kStart: {
      auto t = Clock::now();
      if (s.target == "daemon" || s.target == "old-leader") {
        // old-leader: the lost leader's machine restored, its gongshud started again on its own
        // state and configuration (tools/drill/sandbox_cluster.cc).
        auto st = s.target == "daemon" ? sb_->start_daemon() : sb_->restart_lost_leader();
        expect(st.has_value(),
               both("gongshud 启动并就绪", "gongshud starts and is ready"),  // i18n-exempt
               ready_or(st, "已就绪（已写入 daemon.info）",
                        "ready (daemon.info written)"));  // i18n-exempt
        figure("daemon_start_ms", double(ms_since(t)));
      } else {
        GONGSHU_RETURN_IF_ERROR(sb_->start_agent(s.target));
      }
      return {};
    }
    case Action::kRevoke: {
      GONGSHU_TRY(auto f, sb_->agent_figures(s.agent));
      GONGSHU_TRY(refused_baseline_, refusals());
      GONGSHU_TRY(auto r, sb_->ctl({"agent", "revoke", f.key_id}));
      expect(
          r.exit_code == 0,
          both("运维人员吊销代理程序密钥 {}", "the operator revokes agent key {}",  // i18n-exempt
               f.key_id),
          exit_status("gongshuctl", r.exit_code));
      figure("acknowledged_at_revoke", double(f.acknowledged));
      return {};
    }
    case Action::kReenroll: {
      auto st = sb_->reenroll(s.agent);
      expect(
          st.has_value(),
          both(
              "机构 {} 用新的注册令牌注册新密钥并重启其代理程序",                     // i18n-exempt
              "agency {} enrolls a new key with a new token and restarts its agent",  // i18n-exempt
              Sandbox::agency_of(s.agent)),
          st ? both("已注册", "enrolled")
             : with_reason("注册失败", st.error().message()));  // i18n-exempt
      if (st) {
        GONGSHU_TRY(auto f, sb_->agent_figures(s.agent));
        agent_keys_[s.agent].insert(f.key_id);
        step_->commands.push_back({"# new agent key " + f.key_id, 0, 0});  // i18n-exempt
      }
      return {};
    }
    case Action::kTamper:
      return tamper_step(s);
    case Action::kReloadPolicy:
      return reload_policy(s);
    case Action::kVerify:
      return verify();
    case Action::kExpect: {
      auto it = figures_.find(s.expect->figure);
      // The plan's condition as written; in Chinese with the figure named in words.
      Bilingual name = figure_name(s.expect->figure);
      Bilingual that = same(s.expect->text);
      if (size_t at = that.zh.find(s.expect->figure); at != std::string::npos)
        that.zh.replace(at, s.expect->figure.size(), name.zh);
      if (it == figures_.end()) {
        expect(false, that,
               both("此前没有步骤测得 {}", "no earlier step measured `{}`",  // i18n-exempt
                    name));
      } else {
        std::ostringstream v;
        v << " = " << it->second;
        expect(s.expect->holds(it->second), that, name + same(v.str()));
      }
      return {};
    }
    case Action::kPause:
      std::this_thread::sleep_for(std::chrono::milliseconds(s.ms));
      return {};
    case Action::kRotateDaemonKey:
      return rotate_daemon_key();
    case Action::kBackup:
      return backup();
    case Action::kRestore:
      return restore();
    case Action::kGrowStore:
      return grow_store(s);
    case Action::kPowercutMount:
      return powercut_mount(s);
    case Action::kPowerCut:
      return power_cut(s);
    case Action::kClusterStart:
      return cluster_start(s);
  }
  return {};
}

// cluster-start (docs/operations.md §10, tools/drill/sandbox_cluster.cc): the platform becomes a
// cluster and one node is elected, which audits its term.
Status Run::cluster_start(const Step& s) {
  auto t = Clock::now();
  GONGSHU_RETURN_IF_ERROR(sb_->make_cluster({int(s.nodes), int(s.lease_ttl_s)}));
  figure("cluster_start_ms", double(ms_since(t)));
  ClusterView v;
  while (ms_since(t) < 60'000 && !g_stop) {
    GONGSHU_TRY(v, sb_->cluster_view());
    if (!v.leader.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  figure("leader_elected_ms", double(ms_since(t)));
  figure("term", double(v.term));
  expect(!v.leader.empty(),
         both("etcd 和 {} 个 gongshud 组成集群运行，并有一个主节点",                 // i18n-exempt
              "etcd and {} gongshud run as a cluster and one node leads", s.nodes),  // i18n-exempt
         v.leader.empty()
             ? both("{} 毫秒后仍无主节点", "no leader after {} ms", ms_since(t))  // i18n-exempt
             : both("{} 为主节点，任期 {}", "{} leads in term {}", v.leader,      // i18n-exempt
                    v.term));
  return {};
}

Result<std::map<std::string, uint64_t>> Run::stored_per_dataset() {
  std::map<std::string, uint64_t> out;
  for (const char* a : Sandbox::kAgents) {
    GONGSHU_TRY(auto c, sb_->counts(Sandbox::dataset_of(a)));
    out[Sandbox::dataset_of(a)] = c.records;
  }
  return out;
}

// docs/operations.md §5: a hot backup while the agencies deliver.
Status Run::backup() {
  GONGSHU_TRY(stored_at_backup_, stored_per_dataset());
  // Every batch acknowledged before this is in the backup: its receipt's entry is at most here.
  GONGSHU_TRY(auto head, sb_->ctl({"audit", "head", "--json"}, false));
  try {
    log_size_at_backup_ = nlohmann::json::parse(head.out).at("tree_size").get<uint64_t>();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kCorrupt,
                std::string("gongshuctl audit head --json: ") + e.what());  // i18n-exempt
  }
  backup_ = sb_->file("drill-backup.gsb");
  auto t = Clock::now();
  GONGSHU_TRY(auto r, sb_->ctl({"backup", "create", "--out", backup_, "--quiet"}));
  figure("backup_ms", double(ms_since(t)));
  uint64_t total = 0;
  for (const auto& [ds, n] : stored_at_backup_) total += n;
  figure("stored_before_backup", double(total));
  expect(r.exit_code == 0,
         both("守护进程运行期间完成热备份",
              "a hot backup is made while the daemon runs"),     // i18n-exempt
         exit_status("gongshuctl backup create", r.exit_code) +  // i18n-exempt
             same(r.exit_code == 0 ? "" : ": " + r.err.substr(0, 300)));
  return {};
}

// docs/operations.md §5, after a disaster: the store is gone; restore the last backup, restart.
// RTO: from the loss to a daemon ready again. RPO: what was acknowledged and is not in the
// restored store, per dataset, for the agencies to re-deliver.
Status Run::restore() {
  if (backup_.empty())
    return fail(ErrorCode::kInvalidArgument, "restore needs a backup step first");  // i18n-exempt
  GONGSHU_TRY(auto before, stored_per_dataset());
  auto t = Clock::now();
  GONGSHU_TRY(int code, sb_->signal("daemon", SIGKILL, true));
  (void)code;  // killed on purpose: the disaster
  std::error_code ec;
  std::filesystem::remove_all(sb_->file("state/store"), ec);
  if (ec) return fail(ErrorCode::kIo, "destroy the store: " + ec.message());  // i18n-exempt
  step_->commands.push_back(
      {"rm -r " + sb_->file("state/store") + "  # the disaster", 0, 0});  // i18n-exempt
  GONGSHU_TRY(auto r,
              sb_->run_bin("gongshud", {"restore", "--from", backup_, "--state", sb_->file("state"),
                                        "--daemon-key", sb_->daemon_key()}));
  expect(r.exit_code == 0,
         both("gongshud restore 校验并恢复备份",                   // i18n-exempt
              "gongshud restore checks and restores the backup"),  // i18n-exempt
         exit_status("gongshud restore", r.exit_code) +            // i18n-exempt
             same(r.exit_code == 0 ? "" : ": " + r.err.substr(0, 300)));
  if (r.exit_code != 0) return {};
  auto started = sb_->start_daemon();
  expect(started.has_value(),
         both("gongshud 在恢复后的存储上启动",
              "gongshud starts on the restored store"),  // i18n-exempt
         ready_or(started, "已就绪", "ready"));          // i18n-exempt
  if (!started) return {};
  figure("rto_ms", double(ms_since(t)));
  GONGSHU_TRY(auto after, stored_per_dataset());
  uint64_t rpo = 0;
  for (const auto& [ds, n] : after) {
    uint64_t gone = before[ds] > n ? before[ds] - n : 0;
    rpo += gone;
    rpo_[ds] = gone;
    expect(
        n == stored_at_backup_[ds],
        both("{}：恢复后的存储与备份时一致",
             "{}: the restored store holds what the backup held",  // i18n-exempt
             ds),
        both(
            "恢复 {0} 条记录，备份时 {1} 条；备份后确认的 {2} 条须重新报送（RPO）",  // i18n-exempt
            "{0} records restored, {1} at the backup; {2} acknowledged after the backup "  // i18n-exempt
            "are to be re-delivered (RPO)",  // i18n-exempt
            n, stored_at_backup_[ds], gone));
  }
  figure("rpo_records", double(rpo));
  restored_ = true;
  std::string audit = sb_->file("restored.gsa");
  GONGSHU_RETURN_IF_ERROR(sb_->export_audit(audit));
  GONGSHU_TRY(auto v, sb_->audit_cmd({"verify", audit, "--key", sb_->daemon_key()}));
  expect(v.exit_code == 0,
         both("恢复后的审计日志离线验证通过",
              "the restored audit log verifies offline"),  // i18n-exempt
         exit_status("gongshu-audit", v.exit_code));
  return {};
}

// Space is added to a full store: gongshud stopped cleanly, its store limit raised in its
// configuration, started again. Until then it must have kept running and refused batches
// whole (the agents hold them), which the drill checks first.
Status Run::grow_store(const Step& s) {
  bool alive = sb_->running("daemon");
  expect(alive,
         both("存储已满时 gongshud 保持运行",
              "gongshud keeps running with its store full"),  // i18n-exempt
         alive ? both("运行中；代理程序收到的答复：{}",
                      "running; an agent was told: {}",  // i18n-exempt
                      last_store_error_.substr(0, 300))
               : both("已退出", "exited"));  // i18n-exempt
  if (!alive) return {};
  uint64_t spooled = 0, stored = 0;
  for (const char* a : Sandbox::kAgents) {
    GONGSHU_TRY(auto f, sb_->agent_figures(a));
    GONGSHU_TRY(auto c, sb_->counts(Sandbox::dataset_of(a)));
    spooled += f.spooled + f.in_flight;
    stored += c.records;
  }
  figure("stored_when_full", double(stored));
  figure("spooled_when_full", double(spooled));
  expect(spooled > 0,
         both("存储已满期间，机构的批次保留在队列中",                              // i18n-exempt
              "the agencies keep their batches spooled while the store is full"),  // i18n-exempt
         both("队列中 {} 条记录，已存储 {} 条", "{} records spooled, {} stored",   // i18n-exempt
              spooled,                                                             // i18n-exempt
              stored));
  GONGSHU_TRY(auto st, sb_->ctl({"status", "--json", "--timeout", "5"}));
  try {
    auto j = nlohmann::json::parse(st.out).at("store");
    figure("store_used_bytes", j.value("used_bytes", 0.0));
    figure("store_map_bytes", j.value("map_bytes", 0.0));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kCorrupt,
                std::string("gongshuctl status --json: ") + e.what());  // i18n-exempt
  }
  auto t = Clock::now();
  GONGSHU_TRY(int code, sb_->signal("daemon", SIGTERM, true));
  expect(code == 0,
         both("存储已满时 gongshud 正常停止",
              "gongshud stops cleanly with its store full"),  // i18n-exempt
         exit_status("gongshud", code));
  GONGSHU_RETURN_IF_ERROR(sb_->set_store_mb(s.mb));
  auto started = sb_->start_daemon();
  expect(started.has_value(),
         both("gongshud 在同一存储上以 {} MiB 启动",            // i18n-exempt
              "gongshud starts on the same store with {} MiB",  // i18n-exempt
              s.mb),
         ready_or(started, "已就绪", "ready"));  // i18n-exempt
  figure("grow_ms", double(ms_since(t)));
  return {};
}

// The LMDB directory a power-loss drill puts on gongshu-powercut: gongshud's store, or an
// agent's spool.
std::string Run::lmdb_dir(const std::string& target) const {
  return target == "daemon" ? sb_->file("state/store") : sb_->file("agent-" + target + "/spool");
}

// power-loss: the target is stopped cleanly, its LMDB directory becomes the backing directory
// ("the disk") of a gongshu-powercut mounted where it was, and the target starts again on it.
Status Run::powercut_mount(const Step& s) {
  namespace fs = std::filesystem;
  if (disks_.count(s.target)) {
    return fail(ErrorCode::kInvalidArgument,
                whom(s.target).en + " is on a powercut disk already");  // i18n-exempt
  }
  std::string dir = lmdb_dir(s.target);
  std::string backing = sb_->file("disk-" + s.target);
  std::unique_lock<std::mutex> gate;
  if (s.target != "daemon") gate = sb_->hold_load();  // no submission into a bare mount point
  bool was_running = sb_->running(s.target);
  if (was_running) {
    GONGSHU_TRY(int code, sb_->signal(s.target, SIGTERM, true));
    expect(code == 0,
           both("{} 在迁移存储前正常停止",
                "{} stops cleanly before its store is moved",  // i18n-exempt
                whom(s.target)),
           both("退出状态 {}", "exit status {}", code));  // i18n-exempt
    if (code != 0) return {};
  }
  std::error_code ec;
  fs::rename(dir, backing, ec);
  if (!ec) fs::create_directory(dir, ec);
  if (!ec) fs::permissions(dir, fs::perms::owner_all, ec);
  if (ec)
    return fail(ErrorCode::kIo,
                "move " + dir + " onto the powercut disk: " + ec.message());  // i18n-exempt
  step_->commands.push_back({"mv " + dir + " " + backing + " && mkdir -m 700 " + dir, 0, 0});
  auto t = Clock::now();
  GONGSHU_TRY(auto disk, PowercutDisk::start(o_.bin_dir, backing, dir,
                                             sb_->file("powercut-" + s.target), s.lie_about_fsync));
  step_->commands.push_back({disk->command(), 0, ms_since(t)});
  figure("mount_ms", double(ms_since(t)));
  disks_[s.target] = std::move(disk);
  if (!was_running) return {};
  if (s.target == "daemon") {
    auto st = sb_->start_daemon();
    expect(st.has_value(),
           both("gongshud 在断电模拟盘上的存储上启动",                   // i18n-exempt
                "gongshud starts with its store on the powercut disk"),  // i18n-exempt
           ready_or(st, "已就绪（已写入 daemon.info）",
                    "ready (daemon.info written)"));  // i18n-exempt
    return {};
  }
  return sb_->start_agent(s.target);
}

// The power cut, at a random moment under load: the disk drops every write not yet synced and
// answers EIO from then on (the machine is off), the target is SIGKILLed, the disk is unmounted
// and mounted fresh over what reached it (no page cache survives a reboot), the target starts.
// Everything the agencies held as acknowledged just before must be stored right after the
// restart, before any re-delivery could add to it; the checker (verify) then proves each
// acknowledged batch recorded exactly once. For an agent the cut may catch a `gongshu-agent
// submit` midway: it then fails and its records count as not submitted. The load spools each
// file in one LMDB transaction, so a failed submission has spooled nothing; one that had would
// show in the checker as records stored but never submitted.
Status Run::power_cut(const Step& s) {
  auto it = disks_.find(s.target);
  if (it == disks_.end()) {
    const std::string named = whom(s.target).en;
    return fail(ErrorCode::kInvalidArgument,
                "power-cut needs a powercut-mount step for " + named + " first");  // i18n-exempt
  }
  uint64_t delay = 0;
  if (s.within_ms > 0) {
    std::random_device rd;
    delay = std::mt19937_64(rd())() % s.within_ms;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  figure("cut_after_ms", double(delay));
  uint64_t acked = 0;
  for (const char* a : Sandbox::kAgents) {
    GONGSHU_TRY(auto f, sb_->agent_figures(a));
    acked += f.acknowledged;
  }
  auto t = Clock::now();
  GONGSHU_TRY(auto f, it->second->cut(/*at_write=*/true));
  step_->commands.push_back(
      {"kill -USR2 <gongshu-powercut on " + it->second->mountpoint() +  // i18n-exempt
           ">  # the power cut, right after the next unsynced write: "  // i18n-exempt
           "unsynced writes discarded",
       0, ms_since(t)});
  figure("cut_right_after_write", f.at_write ? 1 : 0);
  figure("unsynced_bytes_discarded", double(f.discarded_bytes));
  figure("unsynced_files_discarded", double(f.discarded_files));
  figure("bytes_synced_before_cut", double(f.bytes_synced));
  figure("fsyncs_before_cut", double(f.fsyncs + f.sync_writes));
  // A submission the cut caught fails now (EIO); the next waits until the spool is back.
  std::unique_lock<std::mutex> gate;
  if (s.target != "daemon") gate = sb_->hold_load();
  if (sb_->running(s.target)) {
    GONGSHU_TRY(int code, sb_->signal(s.target, SIGKILL, true));
    (void)code;  // killed on purpose: the machine went down
  }
  std::string backing = it->second->backing(), mp = it->second->mountpoint();
  bool lie = it->second->lies();
  GONGSHU_RETURN_IF_ERROR(it->second->unmount());
  step_->commands.push_back({"fusermount3 -u -z " + mp, 0, 0});
  disks_.erase(it);
  GONGSHU_TRY(auto disk,
              PowercutDisk::start(o_.bin_dir, backing, mp, sb_->file("powercut-" + s.target), lie));
  step_->commands.push_back({disk->command() + "  # the machine boots", 0, 0});  // i18n-exempt
  disks_[s.target] = std::move(disk);
  if (s.target == "daemon") {
    auto st = sb_->start_daemon();
    expect(st.has_value(),
           both("gongshud 以断电前已写入磁盘的数据启动",
                "gongshud starts on what reached the disk"),  // i18n-exempt
           ready_or(st, "已就绪（已写入 daemon.info）",
                    "ready (daemon.info written)"));  // i18n-exempt
    if (!st) return {};
  } else {
    GONGSHU_RETURN_IF_ERROR(sb_->start_agent(s.target));
  }
  if (gate.owns_lock()) gate.unlock();
  figure("power_cycle_ms", double(ms_since(t)));
  // The daemon may take a moment to answer after it is ready.
  Result<std::map<std::string, uint64_t>> stored = stored_per_dataset();
  for (int i = 0; !stored && i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stored = stored_per_dataset();
  }
  if (!stored) return tl::unexpected(stored.error());
  uint64_t total = 0;
  for (const auto& [ds, n] : *stored) total += n > baseline_[ds] ? n - baseline_[ds] : 0;
  figure("acknowledged_before_cut", double(acked));
  figure("stored_after_restart", double(total));
  figure("acknowledged_missing_after_cut", double(acked > total ? acked - total : 0));
  expect(
      total >= acked,
      both(
          "断电前已确认的每条记录，重启后、重新报送前均已存储",  // i18n-exempt
          "every record acknowledged before the cut is stored after the restart, before "  // i18n-exempt
          "any re-delivery"),  // i18n-exempt
      both(
          "断电前已确认 {0} 条，重启后已存储 {1} 条；丢弃 {3} 个文件中未同步的 {2} 字节",  // i18n-exempt
          "{0} acknowledged before the cut, {1} stored after the restart; {2} unsynced "  // i18n-exempt
          "bytes in {3} files discarded",  // i18n-exempt
          acked, total, f.discarded_bytes, f.discarded_files) +
          (lie ? both("；该磁盘谎报了 fsync", "; the disk lied about fsync")  // i18n-exempt
               : same("")));
  return {};
}

void Run::unmount_disks() {
  if (disks_.empty()) return;
  sb_->stop_load();
  for (auto& [target, disk] : disks_) {
    if (sb_->running(target)) {
      auto code = sb_->signal(target, SIGTERM, true);
      (void)code;  // the sandbox is being removed: how it exits no longer matters
    }
    (void)disk->unmount();  // best effort: a directory left behind harms nobody
  }
  disks_.clear();
}

// docs/operations.md §6, "The daemon's key", under load.
Status Run::rotate_daemon_key() {
  auto t = Clock::now();
  GONGSHU_TRY(auto rot, sb_->ctl({"daemon-key", "rotate"}));
  expect(rot.exit_code == 0,
         both("运维人员轮换守护进程密钥（新旧密钥共同签名）",                 // i18n-exempt
              "the operator rotates the daemon key (old and new key sign)"),  // i18n-exempt
         exit_status("gongshuctl daemon-key rotate", rot.exit_code));         // i18n-exempt
  if (rot.exit_code != 0) return {};
  std::string statement = sb_->file("daemon-key-rotation.txt");
  GONGSHU_TRY(auto st, sb_->ctl({"daemon-key", "statement", "--out", statement}));
  expect(st.exit_code == 0,
         both("发布已签名的轮换声明", "the signed rotation statement is published"),  // i18n-exempt
         exit_status("gongshuctl daemon-key statement", st.exit_code));               // i18n-exempt
  for (const char* a : Sandbox::kAgents) {
    GONGSHU_TRY(auto tr, sb_->agent_cmd(a, {"trust-daemon-key", statement}));
    expect(tr.exit_code == 0,
           both("代理程序 {} 接受该声明", "agent {} accepts the statement", a),  // i18n-exempt
           exit_status("gongshu-agent trust-daemon-key", tr.exit_code) +         // i18n-exempt
               same(tr.exit_code == 0 ? "" : ": " + tr.err.substr(0, 300)));
  }
  auto r = Clock::now();
  GONGSHU_TRY(int code, sb_->signal("daemon", SIGTERM, true));
  expect(
      code == 0,
      both("gongshud 为重启而正常停止", "gongshud stops cleanly for the restart"),  // i18n-exempt
      exit_status("gongshud", code));
  auto started = sb_->start_daemon();
  expect(
      started.has_value(),
      both("gongshud 以新密钥重启", "gongshud restarts with the new key in force"),  // i18n-exempt
      ready_or(started, "已就绪", "ready"));                                         // i18n-exempt
  figure("restart_ms", double(ms_since(r)));
  figure("rotation_ms", double(ms_since(t)));
  if (started) {
    GONGSHU_TRY(auto show, sb_->ctl({"daemon-key", "show"}));
    std::smatch m;
    std::string info = read_text(sb_->file("state/daemon.info"));
    std::string now = std::regex_search(info, m, std::regex("daemon_public_key = \"([0-9a-f]*)\""))
                          ? std::string(m[1])
                          : "";
    expect(show.exit_code == 0 && !now.empty() && now != sb_->daemon_key(),
           both("新的守护进程密钥已生效", "a new daemon key is in force"),  // i18n-exempt
           both("守护进程密钥 {}…，原为 {}…", "daemon key {}…, was {}…",    // i18n-exempt
                now.substr(0, 16), sb_->daemon_key().substr(0, 16)));
  }
  return {};
}

Result<uint64_t> Run::refusals() {
  GONGSHU_TRY(auto r, sb_->ctl({"status", "--json", "--timeout", "2"}, false));
  if (r.exit_code != 0)
    return fail(ErrorCode::kUnavailable, "gongshuctl status: " + r.err);  // i18n-exempt
  try {
    auto j = nlohmann::json::parse(r.out).at("ingest");
    return j.value("batches_refused", uint64_t{0}) + j.value("connection_cuts", uint64_t{0});
  } catch (const std::exception& e) {
    return fail(ErrorCode::kCorrupt,
                std::string("gongshuctl status --json: ") + e.what());  // i18n-exempt
  }
}

Status Run::wait_until(const Step& s) {
  auto t = Clock::now();
  auto deadline = t + std::chrono::milliseconds(s.timeout_ms);
  auto next_note = t + std::chrono::seconds(2);
  Bilingual state;
  bool met = false;
  std::string waits_for = s.condition;
  Bilingual waits_for_b = condition_name(s.condition);
  if (s.condition == "stored" || s.condition == "acknowledged" || s.condition == "refused") {
    waits_for += " ≥ " + std::to_string(s.at_least);
    waits_for_b = waits_for_b + same(" ≥ " + std::to_string(s.at_least));
  }
  say(trf("  waiting for {} (at most {} s)", waits_for, s.timeout_ms / 1000));
  std::optional<uint64_t> stored_at_start;
  uint64_t stored_now = 0;
  for (;;) {
    uint64_t stored = 0, acked = 0, spooled = 0;
    std::string store_error;
    // load-done and new-leader ask nothing of the daemon, which may be down (a poll of a dead
    // node costs gongshuctl's timeout).
    bool ok =
        s.condition != "load-done" && s.condition != "new-leader" && s.condition != "rejoined";
    for (const char* a : Sandbox::kAgents) {
      if (!ok) break;  // load-done asks nothing of the platform, which may be down
      auto f = sb_->agent_figures(a);
      auto c = sb_->counts(Sandbox::dataset_of(a));
      if (!f || !c) {
        ok = false;  // the daemon may be down for a moment: the condition is not met yet
        continue;
      }
      uint64_t base = baseline_[Sandbox::dataset_of(a)];
      stored += c->records > base ? c->records - base : 0;
      acked += f->acknowledged;
      spooled += f->spooled;
      if (f->last_error.find("could not store the batch") != std::string::npos)  // i18n-exempt
        store_error = f->last_error;
    }
    if (ok) {
      if (!stored_at_start) stored_at_start = stored;
      stored_now = stored;
    }
    if (s.condition == "load-done") {
      met = sb_->load_done();
    } else if (s.condition == "new-leader") {
      // Another node leads in a later term and has acknowledged a batch since the leader was
      // lost: the agents found it (CLOCK_MONOTONIC instants, one clock on this machine).
      const LeaderLoss& lost = sb_->leader_loss();
      auto v = sb_->cluster_view();
      met = v && !lost.node.empty() && !v->leader.empty() && v->leader != lost.node &&
            v->term > lost.term && v->last_ack_mono_ns > lost.at_mono_ns;
      if (v && met) {
        figure("term_before", double(lost.term));
        figure("term_after", double(v->term));
        figure("new_leader_ms", double(v->leader_since_mono_ns - lost.at_mono_ns) / 1e6);
        figure("first_ack_ms", double(v->last_ack_mono_ns - lost.at_mono_ns) / 1e6);
        step_->commands.push_back({"# " + v->leader + " leads in term " +  // i18n-exempt
                                       std::to_string(v->term) + " (was " + lost.node + ", term " +
                                       std::to_string(lost.term) + ")",
                                   0, 0});
      }
      if (v) {
        state =
            (v->leader.empty() ? both("无主节点", "no leader")                        // i18n-exempt
                               : both("{} 为主节点", "{} leads", v->leader)) +        // i18n-exempt
            both("（任期 {}），{} 个节点运行中；", " (term {}), {} nodes running; ",  // i18n-exempt
                 v->term, v->live);
      }
    } else if (s.condition == "rejoined") {
      // The lost leader, started again, follows the leader without leading, and its audit tree
      // equals the leader's, both covered by the same signed checkpoint (re-seeded first when
      // its history diverged: none of its unshipped writes kept). Timed from its restart.
      GONGSHU_TRY(RejoinView r, sb_->rejoin_view());
      met = r.running && !r.leads && !r.leader.empty() && r.follows == r.leader && r.audit_equal();
      state = rejoin_state(r);
      if (met) {
        figure("rejoin_ms", double(r.since_restart_ms));
        figure("reseeded", r.reseeded ? 1 : 0);
        figure("rejoined_tree_size", double(r.tree_size));
        step_->commands.push_back(
            {"# " + r.node + " follows " + r.leader +  // i18n-exempt
                 " (term " + std::to_string(r.term) + ")" +
                 (r.reseeded ? ", re-seeded (" + r.reseed_reason + ")"  // i18n-exempt
                             : std::string()),
             0, 0});
      }
    } else if (s.condition == "drained") {
      met = ok && sb_->load_done() && spooled == 0 && stored >= acked;
    } else if (s.condition == "stored") {
      met = ok && stored >= s.at_least;
    } else if (s.condition == "acknowledged") {
      met = ok && acked >= s.at_least;
    } else if (s.condition == "store-full") {
      // What the agencies see: the daemon answers that it could not store their batches, and
      // they keep them spooled to resend.
      met = ok && !store_error.empty() && sb_->running("daemon");
      if (met) last_store_error_ = store_error;
    } else if (s.condition == "refused") {
      auto r = refusals();
      met = r && *r >= refused_baseline_ + std::max<uint64_t>(1, s.at_least);
      if (r) state = both("拒绝 {} 次，", "refusals {}, ", *r - refused_baseline_);  // i18n-exempt
    }
    if (s.condition != "rejoined")  // its state says everything; nothing else was polled
      state = (s.condition == "refused" || s.condition == "new-leader" ? state : Bilingual{}) +
              both("已存储 {}，已确认 {}，队列中 {}",
                   "stored {}, acknowledged {}, spooled {}",  // i18n-exempt
                   stored, acked, spooled) +
              (sb_->load_done() ? both("，负载已提交完毕", ", load done")   // i18n-exempt
                                : both("，负载运行中", ", load running"));  // i18n-exempt
    if (met || Clock::now() > deadline) break;
    if (g_stop) return fail(ErrorCode::kUnavailable, "interrupted");
    if (Clock::now() > next_note) {
      // TRANSLATORS: {1} is the platform's state in English, {2} the same in Chinese: show {2}.
      say(trf("  … {0} s: {1}", ms_since(t) / 1000, state.en, state.zh));
      next_note += std::chrono::seconds(2);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  uint64_t waited = ms_since(t);
  figure("waited_ms", double(waited));
  // The drain rate: records stored while waiting, per second of the wait.
  uint64_t gained = stored_at_start ? stored_now - std::min(stored_now, *stored_at_start) : 0;
  figure("stored_while_waiting", double(gained));
  if (waited > 0) figure("stored_per_s", double(gained) * 1000.0 / double(waited));
  if (!s.figure.empty()) figure(s.figure, double(waited));
  expect(met,
         both("{1} 毫秒内达到 {0}", "{0} within {1} ms", waits_for_b, s.timeout_ms),  // i18n-exempt
         (met ? both("{} 毫秒后达到：", "after {} ms: ", waited)                      // i18n-exempt
              : both("{} 毫秒后仍未达到：", "not after {} ms: ", waited)) +           // i18n-exempt
             state);
  return {};
}

Result<std::string> Run::audit_show(const std::string& name) {
  std::string path = sb_->file(name + "-" + std::to_string(++exports_) + ".gsa");
  GONGSHU_RETURN_IF_ERROR(sb_->export_audit(path, false));
  GONGSHU_TRY(auto r, sb_->audit_cmd({"show", path, "--json"}, false));
  if (r.exit_code != 0)
    return fail(ErrorCode::kUnavailable, "gongshu-audit show: " + r.err);  // i18n-exempt
  return r.out;
}

Status Run::tamper_step(const Step& s) {
  std::string path = sb_->file("tamper-original.gsa");
  GONGSHU_RETURN_IF_ERROR(sb_->export_audit(path));
  GONGSHU_TRY(auto clean, sb_->audit_cmd({"verify", path, "--key", sb_->daemon_key(), "--json"}));
  expect(clean.exit_code == 0,
         both("未改动的导出文件验证通过", "the untouched export verifies"),  // i18n-exempt
         exit_status("gongshu-audit", clean.exit_code));
  std::string original = read_text(path);
  uint64_t caught = 0, located = 0;
  for (const auto& kind : s.kinds) {
    auto t = tamper(original, kind);
    if (!t) return tl::unexpected(t.error());
    std::string bad = sb_->file("tamper-" + kind + ".gsa");
    {
      std::ofstream out(bad, std::ios::binary | std::ios::trunc);
      out << t->bytes;
    }
    GONGSHU_TRY(auto r, sb_->audit_cmd({"verify", bad, "--key", sb_->daemon_key(), "--json"}));
    Bilingual evidence =
        Bilingual{t->description_zh, t->description} +
        both("；gongshu-audit 退出码 {}", "; gongshu-audit exit {}",  // i18n-exempt
             r.exit_code);
    bool is_caught = r.exit_code == 1;
    bool is_located = false;
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex("\"failing_seq\":(\\d+)"))) {
      uint64_t at = std::stoull(m[1]);
      evidence =
          evidence + both("，验证失败的审计日志项 {}", ", failing entry {}", at);  // i18n-exempt
      // A removed or altered entry shows at its own seq or, for a chain, the next one.
      is_located = at >= t->seq && at <= t->seq + 1;
    }
    if (std::regex_search(r.out, m, std::regex("\"reason\":\"([^\"]*)\""))) {
      evidence = evidence + both("：{}", ": {}", std::string(m[1]));
    }
    caught += is_caught;
    located += is_caught && is_located;
    bool exact = kind == "drop-entry" || kind == "flip-entry";
    expect(
        is_caught && is_located,
        both("{0}：gongshu-audit 报告篡改（退出码 1），位置在审计日志项 {1}{2}",     // i18n-exempt
             "{0}: gongshu-audit reports tampering (exit 1) at entry {1}{2}",        // i18n-exempt
             kind, t->seq, exact ? same("") : both(" 或其下一项", " or the next")),  // i18n-exempt
        evidence);
  }
  figure("tamper_cases", double(s.kinds.size()));
  figure("tamper_caught", double(caught));
  figure("tamper_located", double(located));
  return {};
}

Status Run::reload_policy(const Step& s) {
  namespace fs = std::filesystem;
  std::string rules = sb_->policy_dir() + "/rules.toml";
  auto version = [&]() -> Result<std::string> {
    GONGSHU_TRY(auto r, sb_->ctl({"status", "--json"}, false));
    try {
      auto v = nlohmann::json::parse(r.out).at("policy_version");
      return v.is_null() ? std::string() : v.get<std::string>();
    } catch (const std::exception& e) {
      return fail(ErrorCode::kCorrupt,
                  std::string("gongshuctl status --json: ") + e.what());  // i18n-exempt
    }
  };
  GONGSHU_TRY(std::string before, version());
  std::string needle = s.broken ? "reload refused" : "policy reloaded";  // i18n-exempt
  GONGSHU_TRY(std::string audit_before, audit_show("policy-before"));
  size_t audited_before = count_of(audit_before, needle);
  size_t journal_before = count_of(read_text(sb_->file("gongshud.log")),
                                   s.broken ? "policy reload refused" : "policy");  // i18n-exempt
  if (s.broken) {
    // An operator's typo: an unterminated table header in the rules file.
    std::ofstream(rules, std::ios::app) << "\n[[rule\nid = \"drill-broken\"\n";  // i18n-exempt
    step_->commands.push_back(
        {"echo '[[rule' >> " + rules + "  # a broken policy", 0, 0});  // i18n-exempt
  } else {
    std::error_code ec;
    fs::copy_file(o_.policies_dir + "/policy/rules.toml", rules,
                  fs::copy_options::overwrite_existing, ec);
    if (ec)
      return fail(ErrorCode::kIo, "restore the shipped rules: " + ec.message());   // i18n-exempt
    step_->commands.push_back({"cp <shipped>/policy/rules.toml " + rules, 0, 0});  // i18n-exempt
  }
  auto t = Clock::now();
  GONGSHU_TRY(int ignored, sb_->signal("daemon", SIGHUP, false));
  (void)ignored;  // no exit status without waiting
  say(tr("  waiting for the reload to be audited (at most 15 s)"));
  std::string audit;
  size_t audited = audited_before;
  while (ms_since(t) < 15'000) {
    auto a = audit_show("policy-after");
    if (a) {
      audit = *a;
      audited = count_of(audit, needle);
      if (audited > audited_before) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  figure("reload_audited_ms", double(ms_since(t)));
  std::string journal = read_text(sb_->file("gongshud.log"));
  size_t journal_now =
      count_of(journal, s.broken ? "policy reload refused" : "policy");  // i18n-exempt
  GONGSHU_TRY(std::string after, version());
  bool alive = sb_->running("daemon");
  expect(alive, both("gongshud 保持运行", "gongshud keeps running"),     // i18n-exempt
         alive ? both("运行中", "running") : both("已退出", "exited"));  // i18n-exempt
  if (s.broken) {
    expect(!before.empty() && after == before,
           both("正在运行的策略继续有效", "the running policy stays in force"),      // i18n-exempt
           both("策略版本：之前 {}，之后 {}", "policy version before {}, after {}",  // i18n-exempt
                before,                                                              // i18n-exempt
                after));
    expect(journal_now > journal_before,
           both("守护进程日志中记有拒绝", "the refusal is in the daemon's journal"),  // i18n-exempt
           journal_now > journal_before
               ? both("日志：“policy reload refused, keeping the running policy”",  // i18n-exempt
                      "\"policy reload refused, keeping the running policy\"")      // i18n-exempt
               : both("日志中没有拒绝记录", "no refusal logged"));                  // i18n-exempt
  } else {
    expect(!after.empty(), both("有策略生效", "a policy is in force"),  // i18n-exempt
           both("策略版本 {}", "policy version {}", after));            // i18n-exempt
  }
  Bilingual evidence = both("没有审计日志项", "no audit entry");  // i18n-exempt
  std::smatch m;
  size_t at = audit.rfind(needle);
  if (at != std::string::npos) {
    size_t line = audit.rfind('\n', at);
    std::string entry = audit.substr(line == std::string::npos ? 0 : line + 1, 300);
    if (std::regex_search(entry, m, std::regex("\"seq\":(\\d+)"))) {
      evidence = both("审计日志项 {0}（policy_change，{1}）",
                      "audit entry {0} (policy_change, {1})",  // i18n-exempt
                      std::string(m[1]), s.broken ? "deny" : "allow");
    }
  }
  expect(audited > audited_before,
         s.broken
             ? both("审计日志中记有拒绝", "the refusal is in the audit log")      // i18n-exempt
             : both("审计日志中记有重新加载", "the reload is in the audit log"),  // i18n-exempt
         evidence);
  return {};
}

// The proof of one agent's history (tools/drill/checker.h): its receipts against the log as
// exported after recovery, each acknowledged batch proven by gongshu-audit prove / check-proof
// under the export's closing checkpoint, with the keys the officers trust (the daemon's first
// key and, after a rotation, the one in force).
Result<HistoryCheck> Run::check_agent(const std::string& agent, const std::string& receipts,
                                      const std::string& audit_export,
                                      const std::vector<IngestEntry>& entries,
                                      uint64_t checkpoint_size) {
  namespace fs = std::filesystem;
  HistoryInput in;
  in.key_ids = agent_keys_[agent];
  in.entries = &entries;
  in.checkpoint_size = checkpoint_size;
  in.restored_size = restored_ ? std::max<uint64_t>(log_size_at_backup_, 1) : 0;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(receipts, ec)) {
    if (e.path().extension() == ".receipt") files.push_back(e.path().string());
  }
  if (ec) return fail(ErrorCode::kIo, receipts + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    GONGSHU_TRY(auto r, parse_receipt_ref(read_text(f), f));
    in.receipts.push_back(std::move(r));
  }
  std::vector<std::string> keys = {"--key", sb_->daemon_key()};
  std::smatch m;
  std::string info = read_text(sb_->file("state/daemon.info"));
  if (std::regex_search(info, m, std::regex("daemon_public_key = \"([0-9a-f]{64})\"")) &&
      m[1] != sb_->daemon_key()) {
    keys.push_back("--key");
    keys.push_back(m[1]);
  }
  std::string proof = sb_->file("inclusion-" + agent + ".proof");
  uint64_t proofs = 0;
  auto t = Clock::now();
  in.prove = [&](uint64_t seq) -> Result<Proven> {
    ++proofs;
    GONGSHU_TRY(auto p, sb_->audit_cmd(
                            {"prove", audit_export, "--seq", std::to_string(seq),
                             "--checkpoint-size", std::to_string(checkpoint_size), "--out", proof},
                            false));
    if (p.exit_code != 0)
      return fail(ErrorCode::kNotFound, "gongshu-audit prove: " + p.err);  // i18n-exempt
    std::vector<std::string> check = {"check-proof", proof, "--json"};
    check.insert(check.end(), keys.begin(), keys.end());
    GONGSHU_TRY(auto c, sb_->audit_cmd(check, false));
    if (c.exit_code != 0)
      return fail(ErrorCode::kUnauthenticated,
                  "gongshu-audit check-proof: " + c.out + c.err);  // i18n-exempt
    try {
      auto j = nlohmann::json::parse(c.out);
      return Proven{j.at("entry").at("entry_hash").get<std::string>(),
                    j.at("tree_size").get<uint64_t>()};
    } catch (const std::exception& e) {
      return fail(ErrorCode::kCorrupt,
                  std::string("check-proof --json: ") + e.what());  // i18n-exempt
    }
  };
  HistoryCheck h = check_history(in);
  // The proofs are one pair of commands per batch: recorded once, as what an officer would run.
  std::string key_args;
  for (size_t i = 1; i < keys.size(); i += 2) key_args += " --key " + keys[i].substr(0, 16) + "…";
  step_->commands.push_back(
      {"for each receipt in " + receipts + ": gongshu-audit prove " +  // i18n-exempt
           audit_export + " --seq <receipt seq> --checkpoint-size " +  // i18n-exempt
           std::to_string(checkpoint_size) +
           " --out P && gongshu-audit check-proof P" +  // i18n-exempt
           key_args +                                   // i18n-exempt
           "  # " +                                     // i18n-exempt
           std::to_string(proofs) + " proofs",
       h.unproven_batches == 0 ? 0 : 1, ms_since(t)});
  return h;
}

uint64_t Run::mark(const std::string& phase, const std::string& outcome) {
  const std::string target = o_.sandbox.systemd_unit.empty() ? "sandbox" : "systemd";
  std::vector<std::string> args = {"drill",    "mark",        "--phase",    phase,      "--plan",
                                   plan_.name, "--report-id", o_.report_id, "--target", target,
                                   "--json",   "--timeout",   "5"};
  if (!outcome.empty()) {
    args.push_back("--outcome");
    args.push_back(outcome);
  }
  auto r = sb_->ctl(args);
  if (!r || r->exit_code != 0) return 0;
  try {
    return nlohmann::json::parse(r->out).at("seq").get<uint64_t>();
  } catch (const std::exception&) {
    return 0;
  }
}

Status Run::verify() {
  sb_->stop_load();
  // The log after recovery, closed by a checkpoint the daemon signs now: every proof below is
  // against it, and the officers keep it (gongshu-audit checkpoint) as the trusted one.
  std::string audit = sb_->file("verify-" + std::to_string(++exports_) + ".gsa");
  GONGSHU_RETURN_IF_ERROR(sb_->export_audit(audit));
  GONGSHU_TRY(auto cp, sb_->audit_cmd({"checkpoint", audit}));
  uint64_t checkpoint_size = 0;
  {
    // A signed note: origin, then the tree size.
    std::istringstream note(cp.out);
    std::string origin, size;
    std::getline(note, origin);
    std::getline(note, size);
    checkpoint_size = std::strtoull(size.c_str(), nullptr, 10);
  }
  if (cp.exit_code != 0 || checkpoint_size == 0)
    return fail(ErrorCode::kUnavailable,
                "gongshu-audit checkpoint " + audit + ": " + cp.err);  // i18n-exempt
  std::ofstream(sb_->file("checkpoint-after-recovery.note"), std::ios::trunc) << cp.out;
  GONGSHU_TRY(auto show, sb_->audit_cmd({"show", audit, "--json"}, false));
  if (show.exit_code != 0)
    return fail(ErrorCode::kUnavailable, "gongshu-audit show: " + show.err);  // i18n-exempt
  GONGSHU_TRY(auto entries, parse_ingest_entries(show.out));
  figure("checkpoint_size", double(checkpoint_size));

  uint64_t tot_sub = 0, tot_ack = 0, tot_stored = 0, lost = 0, doubled = 0;
  uint64_t batches = 0, proven = 0, unknown = 0, unknown_records = 0, rpo_batches = 0;
  for (const char* a : Sandbox::kAgents) {
    std::string ds = Sandbox::dataset_of(a);
    std::string receipts =
        sb_->file("receipts-" + std::string(a) + "-" + std::to_string(++exports_));
    GONGSHU_TRY(auto rx, sb_->agent_cmd(a, {"receipts", "export", "--dir", receipts}));
    GONGSHU_TRY(auto f, sb_->agent_figures(a));
    GONGSHU_TRY(auto c, sb_->counts(ds));
    agent_keys_[a].insert(f.key_id);
    // A restored backup's records were there before the drill: only the drill's are counted.
    uint64_t base = baseline_[ds];
    c.records = c.records > base ? c.records - base : 0;
    c.versions = c.versions > base ? c.versions - base : 0;
    uint64_t sub = sb_->submitted(a);
    tot_sub += sub;
    tot_ack += f.acknowledged;
    tot_stored += c.records;
    uint64_t rpo = rpo_.count(ds) ? rpo_[ds] : 0;

    GONGSHU_TRY(auto h, check_agent(a, receipts, audit, entries, checkpoint_size));
    batches += h.acknowledged_batches;
    proven += h.proven_batches;
    unknown += h.unknown_batches;
    unknown_records += h.unknown_records;
    rpo_batches += h.rpo_batches;
    // Acknowledged records the log cannot account for: lost, unless a restore took them (RPO).
    uint64_t accounted = h.proven_records + rpo;
    uint64_t l = f.acknowledged > accounted ? f.acknowledged - accounted : 0;
    uint64_t d = (c.versions > c.records ? c.versions - c.records : 0) +
                 (c.records > sub ? c.records - sub : 0) + h.doubled_batches;
    lost += l;
    doubled += d;
    Bilingual ev = both(
        "{0} 批次共 {1} 条记录已确认并持有回执；其中 {2} 批次（{3} "
        "条记录）只记录一次，并在树大小为 "                                       // i18n-exempt
        "{4} 的检查点下得到证明；丢失 {5} 批次，重复 {6} 批次，未证明 {7} 批次",  // i18n-exempt
        "{1} records acknowledged in {0} batches with receipts; {2} batches ({3} records) "  // i18n-exempt
        "recorded once and proven under the checkpoint at tree size {4}; lost {5}, doubled "
        "{6}, "                  // i18n-exempt
        "unproven {7} batches",  // i18n-exempt
        h.acknowledged_batches, f.acknowledged, h.proven_batches, h.proven_records, checkpoint_size,
        h.lost_batches, h.doubled_batches, h.unproven_batches);
    if (restored_)
      ev = ev + both("；备份后确认（RPO）{} 批次",
                     "; acknowledged after the backup (RPO) {} batches",  // i18n-exempt
                     h.rpo_batches);
    for (size_t i = 0; i < h.problems.size(); ++i)
      ev = ev + Bilingual{"；" + h.problems_zh[i], "; " + h.problems[i]};
    expect(
        rx.exit_code == 0 && h.holds() && l == 0,
        both(
            "{}：每个已确认的批次都按其回执所载只记录一次，并在恢复后所取检查点下有包含证明",  // i18n-exempt
            "{}: every acknowledged batch is recorded exactly once, as its receipt says, and "  // i18n-exempt
            "proven by an inclusion proof against the checkpoint taken after recovery",  // i18n-exempt
            ds),
        ev);
    expect(
        c.records == c.versions && c.records == h.proven_records + h.unknown_records,
        both(
            "{}：每条已存储的记录只存储一次，并对应一个报送日志项",  // i18n-exempt
            "{}: every stored record is stored once and accounted for by one ingest entry",  // i18n-exempt
            ds),
        both(
            "已存储 {0} 条记录 / {1} 个版本；已证明 {2} 条 + 未知 {3} 条（已记入审计日志、"  // i18n-exempt
            "确认未送达，{4} 批次）",  // i18n-exempt
            "stored {0} records / {1} versions; proven {2} + unknown {3} (in the log, ack "  // i18n-exempt
            "lost, {4} batches)",  // i18n-exempt
            c.records, c.versions, h.proven_records, h.unknown_records, h.unknown_batches));
    expect(
        f.spooled == 0 && f.acknowledged == sub,
        both("{}：机构提交的全部记录均已送达并确认",                                // i18n-exempt
             "{}: everything the agency submitted was delivered and acknowledged",  // i18n-exempt
             ds),                                                                   // i18n-exempt
        both("提交 {}，已确认 {}，仍在队列中 {}",
             "submitted {}, acknowledged {}, still spooled {}",  // i18n-exempt
             sub, f.acknowledged, f.spooled));
    std::string held = receipts;
    if (!h.rpo_receipts.empty()) {
      // After a restore the log forks from the receipts of what was acknowledged after the
      // backup (their entries went with the lost store): verify against the others.
      namespace fs = std::filesystem;
      held = receipts + "-restored";
      std::error_code ec;
      fs::create_directories(held, ec);
      std::set<std::string> aside(h.rpo_receipts.begin(), h.rpo_receipts.end());
      for (const auto& e : fs::directory_iterator(receipts, ec)) {
        if (!aside.count(e.path().string()))
          fs::copy_file(e.path(), held + "/" + e.path().filename().string(), ec);
      }
      if (ec) return fail(ErrorCode::kIo, held + ": " + ec.message());
      step_->commands.push_back(
          {"# " + std::to_string(aside.size()) + " receipts of agent " + a +  // i18n-exempt
               " issued after the backup set aside (RPO); the rest in " +     // i18n-exempt
               held,
           0, 0});
    }
    GONGSHU_TRY(auto v, sb_->audit_cmd({"verify", audit, "--key", sb_->daemon_key(), "--receipts",
                                        held, "--json"}));
    std::smatch m;
    std::string nentries =
        std::regex_search(v.out, m, std::regex("\"entries\":(\\d+)")) ? std::string(m[1]) : "?";
    std::string nreceipts =
        std::regex_search(v.out, m, std::regex("\"receipts\":(\\d+)")) ? std::string(m[1]) : "?";
    expect(
        v.exit_code == 0,
        both(
            "审计日志用安全管理员持有的守护进程密钥（{}…）和代理程序 {} 的回执离线验证通过",  // i18n-exempt
            "the audit log verifies offline with the daemon key the officers hold ({}…) and "  // i18n-exempt
            "agent {}'s receipts",  // i18n-exempt
            sb_->daemon_key().substr(0, 16), a),
        both("gongshu-audit 退出码 {}，{} 个审计日志项，{} 份回执",  // i18n-exempt
             "gongshu-audit exit {}, {} entries, {} receipts",       // i18n-exempt
             v.exit_code, nentries, nreceipts) +
            same(v.exit_code == 0 ? "" : ": " + v.out.substr(0, 300) + v.err.substr(0, 300)));
  }
  // The drill is in the log it drills, as a drill.
  bool marked = show.out.find("\"action\":\"drill_started\"") != std::string::npos &&
                show.out.find("\"value\":\"" + o_.report_id + "\"") != std::string::npos;
  expect(
      marked,
      both(
          "演练开始已作为演练记入平台审计日志（drill_started，报告 {}）",  // i18n-exempt
          "the drill's start is in the platform's audit log as a drill (drill_started, "  // i18n-exempt
          "report {})",  // i18n-exempt
          o_.report_id),
      marked ? both("审计日志项 {}", "entry {}", started_seq_)                // i18n-exempt
             : both("没有 drill_started 日志项", "no drill_started entry"));  // i18n-exempt
  if (sb_->submit_failures() > 0) {
    step_->commands.push_back(
        {"# " + std::to_string(sb_->submit_failures()) +
             " submissions refused by the agent: " + sb_->load_error(),  // i18n-exempt
         1, 0});
  }
  figure("submitted", double(tot_sub));
  figure("acknowledged", double(tot_ack));
  figure("stored", double(tot_stored));
  figure("acknowledged_batches", double(batches));
  figure("proven_batches", double(proven));
  figure("unknown_batches", double(unknown));
  figure("unknown_records", double(unknown_records));
  if (restored_) figure("rpo_batches", double(rpo_batches));
  figure("lost", double(lost));
  figure("doubled", double(doubled));
  if (sb_->clustered()) {
    // One cluster_leader entry per term: the log verified above runs across them.
    figure("leader_terms_in_log", double(count_of(show.out, "\"action\":\"cluster_leader\"")));
  }
  return {};
}

}  // namespace

Bilingual describe(const Step& s) {
  // i18n-exempt: the report's own text in both languages (bilingual.h); one line a step. No
  // default: a new action does not compile until it has its title in both.
  switch (s.action) {
    case Action::kStartLoad:
      return both(
          "启动负载：每个代理程序 {} 条有效记录，每次提交 {} 条，间隔 {} 毫秒",   // i18n-exempt
          "start a steady load: {} valid records per agent, {} per submission, "  // i18n-exempt
          "every {} ms",                                                          // i18n-exempt
          s.records, s.batch, s.interval_ms);
    case Action::kWaitUntil: {
      Bilingual c = condition_name(s.condition);
      if (s.condition == "stored" || s.condition == "acknowledged" || s.condition == "refused")
        c = c + same(" ≥ " + std::to_string(s.at_least));
      return both("等待直到 {0}（超时 {1} 毫秒{2}）",
                  "wait until {0} (timeout {1} ms{2})",  // i18n-exempt
                  c, s.timeout_ms,
                  s.figure.empty() ? same("")
                                   : both("，用时记为 {}", ", measured as {}",  // i18n-exempt
                                          figure_name(s.figure)));
    }
    case Action::kKill:
      return both("强制终止 {}（SIG{}）", "kill {} with SIG{}", whom(s.target),  // i18n-exempt
                  s.signal);
    case Action::kStop:
      return both("停止 {}（SIGTERM）", "stop {} (SIGTERM)", whom(s.target));  // i18n-exempt
    case Action::kStart:
      return both("启动 {}", "start {}", whom(s.target));  // i18n-exempt
    case Action::kRevoke:
      return both("吊销 {} 的密钥（宣布已泄露）",                                 // i18n-exempt
                  "revoke the key of {} (declared compromised)", whom(s.agent));  // i18n-exempt
    case Action::kReenroll:
      return both("用新的密钥和注册令牌重新注册 {}",                        // i18n-exempt
                  "re-enroll {} with a new key and token", whom(s.agent));  // i18n-exempt
    case Action::kTamper: {
      Bilingual k;
      for (const auto& x : s.kinds) {
        k.zh += (k.zh.empty() ? "" : "、") + x;
        k.en += (k.en.empty() ? "" : ", ") + x;
      }
      return both(
          "篡改审计日志导出文件的副本（{}）；gongshu-audit 须逐一识别",  // i18n-exempt
          "tamper with copies of an audit export ({}); gongshu-audit must catch each",  // i18n-exempt
          k);
    }
    case Action::kReloadPolicy:
      return s.broken ? both("推送错误策略并重新加载（SIGHUP）",                 // i18n-exempt
                             "push a broken policy and reload (SIGHUP)")         // i18n-exempt
                      : both("恢复随附策略并重新加载（SIGHUP）",                 // i18n-exempt
                             "restore the shipped policy and reload (SIGHUP)");  // i18n-exempt
    case Action::kVerify:
      return both(
          "核验：每个已确认的批次只记录一次，并在恢复后所取检查点下有包含证明（故障中丢失的"  // i18n-exempt
          "确认计为未知）；审计日志和回执离线验证通过",  // i18n-exempt
          "the checker: every acknowledged batch recorded exactly once and proven by an "  // i18n-exempt
          "inclusion proof against a checkpoint taken after recovery (acks lost in the fault "  // i18n-exempt
          "count as unknown); the audit log and receipts verify offline");  // i18n-exempt
    case Action::kExpect: {
      std::string that = s.expect->text;
      if (size_t at = that.find(s.expect->figure); at != std::string::npos)
        that.replace(at, s.expect->figure.size(), figure_name(s.expect->figure).zh);
      return both("预期 {}", "expect {}", Bilingual{that, s.expect->text});  // i18n-exempt
    }
    case Action::kPause:
      return both("暂停 {} 毫秒（负载继续）", "let {} ms pass", s.ms);  // i18n-exempt
    case Action::kBackup:
      return both("备份：守护进程运行期间热备份（gongshuctl backup create）",      // i18n-exempt
                  "hot backup while the daemon runs (gongshuctl backup create)");  // i18n-exempt
    case Action::kRestore:
      return both(
          "恢复：存储丢失，gongshud restore 从最近的备份恢复并重启；测量 RTO 和 RPO",  // i18n-exempt
          "the store is lost: gongshud restore from the last backup, restart; RTO and "  // i18n-exempt
          "RPO");  // i18n-exempt
    case Action::kGrowStore:
      return both(
          "扩容：停止 gongshud，将其存储上限提高到 {} MiB（[limits] map_size_mb），"  // i18n-exempt
          "在同一存储上再次启动",                                                     // i18n-exempt
          "space is added: stop gongshud, raise its store limit to {} MiB ([limits] "  // i18n-exempt
          "map_size_mb), start it on the same store",  // i18n-exempt
          s.mb);
    case Action::kRotateDaemonKey:
      return both(
          "紧急轮换守护进程密钥：轮换，代理程序信任已签名的声明，重启 gongshud",    // i18n-exempt
          "emergency rotation of the daemon key: rotate, agents trust the signed "  // i18n-exempt
          "statement, restart gongshud");                                           // i18n-exempt
    case Action::kPowercutMount:
      return both(
          "挂载断电模拟盘：把 {0} 的 LMDB 存储放到 gongshu-powercut 上（一个把尚未 fsync "  // i18n-exempt
          "的写入都留在内存中的磁盘{1}），并在其上重启",  // i18n-exempt
          "put the LMDB store of {0} on gongshu-powercut, a disk that keeps every write not "  // i18n-exempt
          "yet fsynced in memory{1}; restart it there",  // i18n-exempt
          whom(s.target),
          s.lie_about_fsync
              ? both("，且（仅供测试）对 fsync 应答成功却不持久化任何内容",         // i18n-exempt
                     " and (test only) answers fsync without persisting anything")  // i18n-exempt
              : same(""));
    case Action::kClusterStart:
      return both(
          "组建集群：3 个 etcd 成员，守护进程的状态复制到 {} 个以 [cluster] 模式运行的 "  // i18n-exempt
          "gongshud（租约 {} 秒，sync_count 1），代理程序列出每个节点",  // i18n-exempt
          "the platform becomes a cluster: 3 etcd members, the daemon's state copied to {} "  // i18n-exempt
          "gongshud in [cluster] mode (lease {} s, sync_count 1), the agents listing every "  // i18n-exempt
          "node",  // i18n-exempt
          s.nodes, s.lease_ttl_s);
    case Action::kPowerCut:
      return both(
          "断电：在 {1} 毫秒内的随机时刻、紧接一次尚未 fsync 的写入之后切断 {0} 的电源："  // i18n-exempt
          "丢弃未同步的写入，SIGKILL，按已写入的内容重新挂载磁盘，重启",  // i18n-exempt
          "cut the power under {0} at a random moment within {1} ms, right after a write not "  // i18n-exempt
          "yet fsynced: unsynced writes discarded, SIGKILL, the disk remounted over what "  // i18n-exempt
          "reached it, restart",  // i18n-exempt
          whom(s.target), s.within_ms);
  }
  GONGSHU_CHECK(false);  // every Action is handled above
  return {};
}

void request_stop() { g_stop = true; }
bool stop_requested() { return g_stop; }

ScenarioResult run_plan(const Plan& plan, const RunOptions& options) {
  return Run(plan, options).go();
}

}  // namespace gongshu::drill
