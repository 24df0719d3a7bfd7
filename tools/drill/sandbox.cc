#include "tools/drill/sandbox.h"

// Languages: the commands, errors and evidence recorded here are the report's (a signed record
// with its own Chinese beside English), written the same in every language (i18n-exempt).

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "core/ids/citizen_id.h"
#include "core/ids/credit_code.h"
#include "tools/drill/target.h"

namespace gongshu::drill {
namespace fs = std::filesystem;
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

Status must_succeed(const Result<CommandResult>& r, const std::string& what) {
  if (!r) return tl::unexpected(r.error());
  if (r->exit_code != 0) {
    return fail(ErrorCode::kUnavailable, what + " exited " + std::to_string(r->exit_code) + ": " +
                                             trimmed(r->err.empty() ? r->out : r->err));
  }
  return {};
}

// A valid citizen ID for record i: birth date and sequence number vary with i.
std::string citizen_id(uint64_t i) {
  int days = int((i / 1000) % 20000);
  // 1950-01-01 plus days, computed by hand to stay free of the daemon's clock helpers.
  int y = 1950, m = 1, d = 1;
  static const int kMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  while (days-- > 0) {
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int len = kMonth[m - 1] + (m == 2 && leap ? 1 : 0);
    if (++d > len) {
      d = 1;
      if (++m > 12) {
        m = 1;
        ++y;
      }
    }
  }
  char body[64];
  std::snprintf(body, sizeof body, "130102%04d%02d%02d%03d", y % 10000, m % 100, d % 100,
                int(i % 1000));
  return std::string(body) + *ids::citizen_id_check_char(body);
}

// A valid unified social credit code for record i (region 130100, organisation code from i).
std::string credit_code(uint64_t i) {
  char org[16];
  std::snprintf(org, sizeof org, "%08llu", static_cast<unsigned long long>(i % 100000000));
  std::string body = std::string("91130100") + org + *ids::organization_code_check_char(org);
  return body + *ids::credit_code_check_char(body);
}

}  // namespace

std::string Sandbox::dataset_of(const std::string& agent) {
  return agent == "a" ? "population.household" : "legal_person.registration";
}

std::string Sandbox::agency_of(const std::string& agent) {
  return agent == "a" ? "sjz-gongan" : "sjz-shichang";
}

Result<std::unique_ptr<Sandbox>> Sandbox::create(SandboxOptions options) {
  std::unique_ptr<Sandbox> s(new Sandbox(std::move(options)));
  for (const char* b : {"gongshud", "gongshu-agent", "gongshuctl", "gongshu-audit"}) {
    if (::access(s->bin(b).c_str(), X_OK) != 0) {
      return fail(ErrorCode::kNotFound,
                  "sandbox: no executable " + s->bin(b) + " (--bin DIR)");  // i18n-exempt
    }
  }
  for (const char* p : {"agencies.toml", "catalog", "policy"}) {
    if (!fs::exists(s->options_.policies_dir + "/" + p)) {
      return fail(ErrorCode::kNotFound,
                  "sandbox: no " + s->options_.policies_dir + "/" + p +  // i18n-exempt
                      " (--policies DIR)");                              // i18n-exempt
    }
  }
  std::string tmpl = (fs::temp_directory_path() / "gongshu-drill-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return fail_errno("sandbox: mkdtemp", errno);  // i18n-exempt
  s->dir_ = tmpl;
  GONGSHU_RETURN_IF_ERROR(with_context(s->build(), "sandbox"));
  return s;
}

Status Sandbox::build() {
  std::error_code ec;
  fs::copy(options_.policies_dir + "/policy", policy_dir(), fs::copy_options::recursive, ec);
  if (ec) return fail(ErrorCode::kIo, "copy the shipped policy: " + ec.message());  // i18n-exempt
  std::string operator_key = file("operator.key");
  daemon_info_ = file("state/daemon.info");
  const bool systemd = !options_.systemd_unit.empty();
  if (systemd) {
    // The host's daemon, as it runs: nothing of it is created or configured here.
    GONGSHU_TRY(std::string state, daemon_state_dir(options_.systemd_config));
    daemon_info_ = state + "/daemon.info";
    operator_key = options_.operator_key;
    std::random_device rd;
    char run[16];
    std::snprintf(run, sizeof run, "%08x", rd());
    record_prefix_ = std::string("drill-") + run;
    ctl_env_ = {{"GONGSHU_DAEMON_INFO", daemon_info_}, {"GONGSHU_KEY", operator_key}};
    auto active = systemctl({"is-active", "--quiet"}, false);
    if (!active || active->exit_code != 0) {
      return fail(ErrorCode::kUnavailable,
                  options_.systemd_unit + " is not active: start it first");  // i18n-exempt
    }
    std::string info = read_text(daemon_info_);
    if (info.empty())
      return fail(ErrorCode::kNotFound, daemon_info_ + ": missing or empty");  // i18n-exempt
    daemon_key_ = toml_string(info, "daemon_public_key");
  } else if (options_.from_backup.empty()) {
    GONGSHU_RETURN_IF_ERROR(
        must_succeed(run({bin("gongshud"), "init", "--state", file("state"), "--operator-key-out",
                          operator_key, "--audit-origin", "drill.sandbox/audit"},
                         true),
                     "gongshud init"));  // i18n-exempt
  } else {
    GONGSHU_RETURN_IF_ERROR(restore_backup());
    operator_key = options_.operator_key;
  }
  if (!systemd) {
    daemon_config_ = file("gongshud.toml");
    store_mb_ = options_.store_mb;
    GONGSHU_RETURN_IF_ERROR(write_daemon_config());
    ctl_env_ = {{"GONGSHU_DAEMON_INFO", daemon_info_}, {"GONGSHU_KEY", operator_key}};
    GONGSHU_RETURN_IF_ERROR(start_daemon());
    // Keep the ports the OS chose, so a restarted daemon comes back where the agents look.
    std::string info = read_text(daemon_info_);
    daemon_key_ = toml_string(info, "daemon_public_key");
    ingest_endpoint_ = toml_string(info, "ingest");
    api_endpoint_ = toml_string(info, "api");
    GONGSHU_RETURN_IF_ERROR(write_daemon_config());
  }
  // A restored platform may already have the drill's agencies and datasets (the shipped
  // examples); they are then used as they are.
  auto known = [&](const std::vector<std::string>& show) {
    auto r = ctl(show, false);
    return r && r->exit_code == 0;
  };
  const bool fresh = options_.from_backup.empty() && !systemd;
  if (fresh || !known({"agency", "show", agency_of("a")}) ||
      !known({"agency", "show", agency_of("b")})) {
    GONGSHU_RETURN_IF_ERROR(
        must_succeed(ctl({"agency", "add", "--from", options_.policies_dir + "/agencies.toml"}),
                     "agency add"));  // i18n-exempt
  }
  if (fresh || !known({"catalog", "show", dataset_of("a"), "--timeout", "5"}) ||
      !known({"catalog", "show", dataset_of("b"), "--timeout", "5"})) {
    std::vector<std::string> add = {"catalog", "add"};
    for (const auto& e : fs::directory_iterator(options_.policies_dir + "/catalog")) {
      if (e.path().extension() == ".toml") add.push_back(e.path().string());
    }
    std::sort(add.begin() + 2, add.end());
    GONGSHU_RETURN_IF_ERROR(must_succeed(ctl(add), "catalog add"));  // i18n-exempt
  }
  for (const char* a : kAgents) {
    GONGSHU_RETURN_IF_ERROR(write_text(
        agent_config(a), "[agent]\nstate_dir = \"" +                                 // i18n-exempt
                             file(std::string("agent-") + a) +                       // i18n-exempt
                             "\"\n[batch]\nmax_records = 1000\nmax_delay_ms = 20\n"  // i18n-exempt
                             "[limits]\nack_timeout_ms = 3000\n"));
    GONGSHU_RETURN_IF_ERROR(enroll(a));
    GONGSHU_RETURN_IF_ERROR(start_agent(a));
  }
  return {};
}

// A real backup restored into the sandbox as docs/operations.md §5 does it: the backed-up
// daemon's key file in the state directory (keys are not in a backup), gongshud restore with
// the master key, which checks the signature, the data and the whole audit log first.
Status Sandbox::restore_backup() {
  std::error_code ec;
  fs::create_directories(file("state"), ec);
  if (!ec) fs::permissions(file("state"), fs::perms::owner_all, ec);
  if (!ec) fs::copy_file(options_.backup_daemon_key, file("state/daemon.key"), ec);
  if (!ec)
    fs::permissions(file("state/daemon.key"), fs::perms::owner_read | fs::perms::owner_write, ec);
  if (ec)
    return fail(ErrorCode::kIo, "copy the backed-up daemon's key: " + ec.message());  // i18n-exempt
  // The datasets' key shares are not in a backup either: they live in keyring/ beside the
  // daemon's key in its state directory (daemon/destroy.h); without them every restored dataset
  // reads as destroyed.
  fs::path keyring = fs::path(options_.backup_daemon_key).parent_path() / "keyring";
  if (fs::is_directory(keyring, ec)) {
    fs::copy(keyring, file("state/keyring"), fs::copy_options::recursive, ec);
    if (!ec) fs::permissions(file("state/keyring"), fs::perms::owner_all, ec);
    if (ec)
      return fail(ErrorCode::kIo,
                  "copy the backed-up daemon's keyring: " + ec.message());  // i18n-exempt
    if (options_.on_command) {
      CommandResult r;
      r.exit_code = 0;
      options_.on_command("cp -a " + keyring.string() + " " + file("state/keyring"), r);
    }
  }
  backup_bytes_ = fs::file_size(options_.from_backup, ec);
  auto t = std::chrono::steady_clock::now();
  GONGSHU_RETURN_IF_ERROR(
      must_succeed(run({bin("gongshud"), "restore", "--from", options_.from_backup, "--state",
                        file("state"), "--master-key", options_.master_key},
                       true),
                   "gongshud restore"));  // i18n-exempt
  restore_ms_ = uint64_t(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
          .count());
  return {};
}

Status Sandbox::write_daemon_config() {
  std::string text = "[daemon]\nstate_dir = \"" + file("state") +                     // i18n-exempt
                     "\"\n[ingest]\nendpoint = \"" +                                  // i18n-exempt
                     ingest_endpoint_ + "\"\n[api]\nendpoint = \"" + api_endpoint_ +  // i18n-exempt
                     "\"\n[policy]\ndir = \"" + policy_dir() + "\"\n";                // i18n-exempt
  if (!options_.master_key.empty()) {
    text.insert(text.find("[ingest]"), "master_key = \"" + options_.master_key + "\"\n");
  }
  if (store_mb_ > 0)
    text += "[limits]\nmap_size_mb = " + std::to_string(store_mb_) + "\n";  // i18n-exempt
  return write_text(daemon_config_, text);
}

Status Sandbox::set_store_mb(uint64_t mb) {
  store_mb_ = mb;
  GONGSHU_RETURN_IF_ERROR(write_daemon_config());
  if (options_.on_command) {
    CommandResult r;
    r.exit_code = 0;
    options_.on_command(
        "sed -i 's/^map_size_mb = .*/map_size_mb = " + std::to_string(mb) +  // i18n-exempt
            "/' " +                                                          // i18n-exempt
            daemon_config_ + "  # [limits] map_size_mb",                     // i18n-exempt
        r);
  }
  return {};
}

Sandbox::~Sandbox() {
  stop_load();
  stop_cluster();
  for (auto& [name, c] : agents_) {
    c.signal(SIGTERM);
    (void)c.wait();  // its exit status does not matter any more: the sandbox goes away
  }
  if (daemon_) {
    daemon_->signal(SIGTERM);
    (void)daemon_->wait();  // as above
  }
  if (!options_.keep && !dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);  // best effort: a temp directory left behind harms nobody
  }
}

Result<CommandResult> Sandbox::run(const std::vector<std::string>& argv, bool record,
                                   const std::map<std::string, std::string>& env) {
  auto r = run_command(argv, env);
  if (r && record && options_.on_command) options_.on_command(command_text(argv), *r);
  return r;
}

Result<CommandResult> Sandbox::ctl(std::vector<std::string> args, bool record) {
  args.insert(args.begin(), bin("gongshuctl"));
  return run(args, record, ctl_env_);
}

Result<CommandResult> Sandbox::agent_cmd(const std::string& agent, std::vector<std::string> args,
                                         bool record) {
  args.insert(args.begin(), bin("gongshu-agent"));
  args.push_back("--config");
  args.push_back(agent_config(agent));
  return run(args, record);
}

Result<CommandResult> Sandbox::audit_cmd(std::vector<std::string> args, bool record) {
  args.insert(args.begin(), bin("gongshu-audit"));
  return run(args, record);
}

Result<CommandResult> Sandbox::run_bin(const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), bin(name));
  return run(args, true);
}

Result<CommandResult> Sandbox::systemctl(std::vector<std::string> args, bool record) {
  args.insert(args.begin(), "/usr/bin/systemctl");  // spawned without a PATH search
  args.push_back(options_.systemd_unit);
  return run(args, record);
}

Status Sandbox::start_daemon() {
  if (!options_.systemd_unit.empty()) {
    // Type=notify: systemctl start returns once the daemon said READY=1 (or failed).
    GONGSHU_RETURN_IF_ERROR(
        must_succeed(systemctl({"start"}, true), "systemctl start"));  // i18n-exempt
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!running("daemon") || read_text(daemon_info_).empty()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return fail(ErrorCode::kUnavailable,
                    options_.systemd_unit + " not active after 30 s");  // i18n-exempt
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return {};
  }
  ::unlink(daemon_info_.c_str());
  GONGSHU_TRY(Child c, Child::start({bin("gongshud"), "run", "--config", daemon_config_},
                                    file("gongshud.log")));
  if (options_.on_command) {
    CommandResult started;
    started.exit_code = 0;
    options_.on_command(command_text({bin("gongshud"), "run", "--config", daemon_config_}) + " &",
                        started);
  }
  daemon_.emplace(std::move(c));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (read_text(daemon_info_).empty()) {
    if (!daemon_->running()) {
      return fail(ErrorCode::kUnavailable,
                  "gongshud exited while starting: " + daemon_log());  // i18n-exempt
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(ErrorCode::kUnavailable, "gongshud not ready after 30 s");  // i18n-exempt
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

Status Sandbox::start_agent(const std::string& agent) {
  std::vector<std::string> argv = {bin("gongshu-agent"), "run", "--config", agent_config(agent)};
  GONGSHU_TRY(Child c, Child::start(argv, file("agent-" + agent + ".log")));
  if (options_.on_command) {
    CommandResult started;
    started.exit_code = 0;
    options_.on_command(command_text(argv) + " &", started);
  }
  agents_.erase(agent);
  agents_.emplace(agent, std::move(c));
  return {};
}

Result<int> Sandbox::signal(const std::string& target, int sig, bool wait) {
  if (target == "daemon" && !options_.systemd_unit.empty()) {
    // The unit's way for each: SIGHUP is a reload, SIGTERM a stop (its exit status is the
    // unit's result), anything else systemctl kill. Waits for the main process to be gone (the
    // unit may restart it: Restart=on-failure).
    if (sig == SIGHUP) {
      GONGSHU_TRY(auto r, systemctl({"reload"}, true));
      return r.exit_code;
    }
    GONGSHU_TRY(auto pid, systemctl({"show", "-p", "MainPID", "--value"}, false));
    const std::string main_pid = trimmed(pid.out);
    if (main_pid.empty() || main_pid == "0") {
      return fail(ErrorCode::kNotFound,
                  options_.systemd_unit + " has no main process");  // i18n-exempt
    }
    if (sig == SIGTERM) {
      GONGSHU_TRY(auto r, systemctl({"stop"}, true));
      if (r.exit_code != 0) return r.exit_code;
      GONGSHU_TRY(auto st, systemctl({"show", "-p", "ExecMainStatus", "--value"}, false));
      return std::atoi(trimmed(st.out).c_str());
    }
    GONGSHU_TRY(auto r, systemctl({"kill", "-s", std::to_string(sig)}, true));
    if (r.exit_code != 0 || !wait) return r.exit_code;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (::kill(std::atoi(main_pid.c_str()), 0) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        return fail(ErrorCode::kUnavailable,
                    "gongshud (pid " + main_pid + ") still there after 30 s");  // i18n-exempt
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -sig;
  }
  Child* c = nullptr;
  if (clustered() && (target == "daemon" || target == "leader")) return signal_leader(sig, wait);
  if (target == "daemon") {
    if (daemon_) c = &*daemon_;
  } else if (auto it = agents_.find(target); it != agents_.end()) {
    c = &it->second;
  }
  if (!c || !c->running())
    return fail(ErrorCode::kNotFound, target + " is not running");  // i18n-exempt
  if (options_.on_command) {
    CommandResult r;
    r.exit_code = 0;
    options_.on_command("kill -" + std::to_string(sig) + " " + std::to_string(c->pid()) + "  # " +
                            (target == "daemon" ? "gongshud" : "gongshu-agent " + target),
                        r);
  }
  c->signal(sig);
  if (!wait) return 0;
  return c->wait();
}

bool Sandbox::running(const std::string& target) {
  if (target == "daemon" && !options_.systemd_unit.empty()) {
    auto r = systemctl({"is-active", "--quiet"}, false);
    return r && r->exit_code == 0;
  }
  if (clustered() && (target == "daemon" || target == "leader")) {
    Node* n = leader_node();
    return n && n->process && n->process->running();
  }
  if (target == "daemon") return daemon_ && daemon_->running();
  auto it = agents_.find(target);
  return it != agents_.end() && it->second.running();
}

Status Sandbox::enroll(const std::string& agent) {
  GONGSHU_TRY(auto tok,
              ctl({"enroll-token", "create", "--agency", agency_of(agent), "--ttl", "1h"}));
  if (tok.exit_code != 0)
    return fail(ErrorCode::kUnavailable, "enroll-token create: " + tok.err);  // i18n-exempt
  // The token is a secret for the agency: it goes on the command line here as in the handbook
  // (docs/operations.md §3); the report records the command, so blank it there.
  auto argv = std::vector<std::string>{bin("gongshu-agent"), "enroll", trimmed(tok.out), "--config",
                                       agent_config(agent)};
  auto r = run_command(argv);
  if (r && options_.on_command) {
    argv[2] = "<token>";
    options_.on_command(command_text(argv), *r);
  }
  return must_succeed(r, "gongshu-agent enroll");  // i18n-exempt
}

Status Sandbox::reenroll(const std::string& agent) {
  if (running(agent)) {
    GONGSHU_TRY(int code, signal(agent, SIGTERM, true));
    (void)code;  // a service stopped on a revoked key may exit non-zero; it is replaced anyway
  }
  // The leaked key is destroyed; enrollment creates a new one in the state directory.
  std::string key = file("agent-" + agent + "/agent.key");
  std::error_code ec;
  fs::rename(key, key + ".revoked", ec);
  if (ec) return fail(ErrorCode::kIo, "set the leaked key aside: " + ec.message());  // i18n-exempt
  GONGSHU_RETURN_IF_ERROR(enroll(agent));
  return start_agent(agent);
}

Status Sandbox::export_audit(const std::string& path, bool record) {
  return must_succeed(ctl({"audit", "export", "--out", path}, record),
                      "gongshuctl audit export");  // i18n-exempt
}

Result<DatasetCounts> Sandbox::counts(const std::string& dataset) {
  // A poll: a daemon that is down must not hold the drill for gongshuctl's default 30 s.
  GONGSHU_TRY(auto r, ctl({"catalog", "show", dataset, "--json", "--timeout", "2"}, false));
  if (r.exit_code != 0)
    return fail(ErrorCode::kUnavailable, "catalog show: " + trimmed(r.err));  // i18n-exempt
  DatasetCounts c;
  std::smatch m;
  if (std::regex_search(r.out, m, std::regex("\"records\":(\\d+)"))) c.records = std::stoull(m[1]);
  if (std::regex_search(r.out, m, std::regex("\"versions\":(\\d+)"))) {
    c.versions = std::stoull(m[1]);
  }
  return c;
}

Result<AgentFigures> Sandbox::agent_figures(const std::string& agent) {
  GONGSHU_TRY(auto r, agent_cmd(agent, {"status", "--json", "--no-probe"}, false));
  if (r.exit_code != 0)
    return fail(ErrorCode::kUnavailable, "agent status: " + trimmed(r.err));  // i18n-exempt
  try {
    auto j = nlohmann::json::parse(r.out);
    AgentFigures f;
    f.spooled = j.value("spooled", uint64_t{0});
    f.in_flight = j.value("in_flight_records", uint64_t{0});
    f.acknowledged = j.value("acknowledged", uint64_t{0});
    f.acknowledged_batches = j.value("acknowledged_batches", uint64_t{0});
    f.key_id = j.value("agent_key_id", std::string());
    if (j.contains("service_last_error") && j["service_last_error"].is_string())
      f.last_error = j["service_last_error"].get<std::string>();
    return f;
  } catch (const std::exception& e) {
    return fail(ErrorCode::kCorrupt,
                std::string("agent status --json: ") + e.what());  // i18n-exempt
  }
}

std::string Sandbox::write_records(const std::string& agent, uint64_t first, uint64_t n) {
  std::string path = file("load-" + agent + "-" + std::to_string(first) + ".jsonl");
  std::ofstream out(path);
  for (uint64_t i = first; i < first + n; ++i) {
    if (agent == "a") {
      out << "{\"record_key\":\"" << record_prefix_ << "-hh-" << i                 // i18n-exempt
          << "\",\"fields\":{\"citizen_id\":\"" << citizen_id(i)                   // i18n-exempt
          << "\",\"name\":\"演练\",\"household_size\":" << (i % 7 + 1) << "}}\n";  // i18n-exempt
    } else {
      out << "{\"record_key\":\"" << record_prefix_ << "-lp-" << i  // i18n-exempt
          << "\",\"fields\":{\"credit_code\":\"" << credit_code(i)  // i18n-exempt
          << "\",\"name\":\"演练企业"                               // i18n-exempt
          << i                                                      // i18n-exempt
          << "\"}}\n";
    }
  }
  return path;
}

void Sandbox::start_load(uint64_t records, uint64_t batch, std::chrono::milliseconds interval) {
  stop_load();
  load_stop_ = false;
  load_done_ = false;
  load_thread_ = std::thread([this, records, batch, interval] {
    std::map<std::string, uint64_t> sent;
    while (!load_stop_) {
      bool any = false;
      for (const char* a : kAgents) {
        if (load_stop_ || sent[a] >= records) continue;
        any = true;
        uint64_t n = std::min(batch, records - sent[a]);
        std::string path = write_records(a, next_record_, n);
        next_record_ += n;
        std::vector<std::string> argv = {bin("gongshu-agent"), "submit", "--dataset",
                                         dataset_of(a),        path,     "--config",
                                         agent_config(a)};
        std::unique_lock gate(load_gate_);
        auto r = run_command(argv);
        gate.unlock();
        ::unlink(path.c_str());
        sent[a] += n;
        if (r && r->exit_code == 0) {
          std::lock_guard lock(mu_);
          submitted_[a] += n;
        } else {
          ++submit_failures_;
          std::lock_guard lock(mu_);
          load_error_ = r ? trimmed(r->err) : r.error().message();
        }
      }
      if (!any) break;
      std::this_thread::sleep_for(interval);
    }
    load_done_ = true;
  });
}

void Sandbox::stop_load() {
  load_stop_ = true;
  if (load_thread_.joinable()) load_thread_.join();
  load_done_ = true;
}

uint64_t Sandbox::submitted(const std::string& agent) const {
  std::lock_guard lock(mu_);
  auto it = submitted_.find(agent);
  return it == submitted_.end() ? 0 : it->second;
}

std::string Sandbox::load_error() const {
  std::lock_guard lock(mu_);
  return load_error_;
}

std::string Sandbox::daemon_log() const {
  std::string log = read_text(file("gongshud.log"));
  return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
}

}  // namespace gongshu::drill
