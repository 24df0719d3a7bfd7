#include "tests/integration/platform.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>

#include "core/ids/citizen_id.h"
#include "core/util/clock.h"

namespace gongshu::testing {
namespace {

const std::string kBin = binary_path("bin/");

std::string field(const std::string& toml, const std::string& key) {
  std::smatch m;
  if (std::regex_search(toml, m, std::regex(key + " = \"([^\"]*)\""))) return m[1];
  return "";
}

}  // namespace

Platform::Platform() {
  auto init =
      run_process({kBin + "gongshud", "init", "--state", dir.file("state"), "--operator-key-out",
                   dir.file("operator.key"), "--audit-origin", "e2e.test/audit"});
  REQUIRE(init.exit_code == 0);
  config_path_ = dir.file("gongshud.toml");
  write_text(config_path_, "[daemon]\nstate_dir = \"" + dir.file("state") +
                               "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                               "\"tcp://127.0.0.1:*\"\n");
  env_ = {{"GONGSHU_DAEMON_INFO", dir.file("state/daemon.info")},
          {"GONGSHU_KEY", dir.file("operator.key")}};
  start_daemon();
  // Keep the ports the OS chose, so that restarts come back where the agents look.
  std::string info = read_text(dir.file("state/daemon.info"));
  daemon_key_ = field(info, "daemon_public_key");
  write_text(config_path_, "[daemon]\nstate_dir = \"" + dir.file("state") +
                               "\"\n[ingest]\nendpoint = \"" + field(info, "ingest") +
                               "\"\n[api]\nendpoint = \"" + field(info, "api") + "\"\n");
  REQUIRE(
      ctl({"agency", "add", "--from", std::string(GONGSHU_SOURCE_DIR) + "/policies/agencies.toml"})
          .exit_code == 0);
  REQUIRE(ctl({"catalog", "add",
               std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml"})
              .exit_code == 0);
}

Platform::~Platform() {
  if (daemon_ && daemon_->running()) {
    daemon_->signal(SIGTERM);
    daemon_->wait();
  }
}

void Platform::start_daemon() {
  ::unlink(dir.file("state/daemon.info").c_str());
  daemon_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBin + "gongshud", "run", "--config", config_path_},
      dir.file("gongshud.log"));
  REQUIRE(wait_until(
      [&] { return !read_text(dir.file("state/daemon.info")).empty() || !daemon_->running(); }));
  INFO(read_text(dir.file("gongshud.log")));
  REQUIRE(daemon_->running());
}

void Platform::kill_daemon(int sig) {
  daemon_->signal(sig);
  daemon_->wait();
}

RunResult Platform::ctl(std::vector<std::string> args, bool allow_failure) {
  args.insert(args.begin(), kBin + "gongshuctl");
  auto r = run_process(args, "", env_);
  if (!allow_failure) {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  return r;
}

Counts Platform::counts(const std::string& dataset) {
  auto r = ctl({"catalog", "show", dataset, "--json"}, true);
  Counts c;
  std::smatch m;
  if (std::regex_search(r.out, m, std::regex("\"records\":(\\d+)"))) c.records = std::stoull(m[1]);
  if (std::regex_search(r.out, m, std::regex("\"versions\":(\\d+)")))
    c.versions = std::stoull(m[1]);
  return c;
}

std::string Platform::enroll_agent(const std::string& agency, const std::string& name) {
  std::string token = ctl({"enroll-token", "create", "--agency", agency, "--ttl", "1h"}).out;
  while (!token.empty() && (token.back() == '\n')) token.pop_back();
  std::string state = dir.file("agent-" + name);
  std::string config = dir.file("agent-" + name + ".toml");
  write_text(config, "[agent]\nstate_dir = \"" + state +
                         "\"\n[batch]\nmax_records = 1000\nmax_delay_ms = 20\n");
  auto r = agent(config, {"enroll", token});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return config;
}

RunResult Platform::agent(const std::string& config, std::vector<std::string> args) {
  args.insert(args.begin(), kBin + "gongshu-agent");
  args.push_back("--config");
  args.push_back(config);
  return run_process(args);
}

std::unique_ptr<ChildProcess> Platform::run_agent(const std::string& config) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{kBin + "gongshu-agent", "run", "--config", config}, config + ".log");
}

RunResult Platform::verify_audit() {
  std::string path = dir.file("audit-" + std::to_string(SystemClock::instance().now_ns()) + ".gsa");
  ctl({"audit", "export", "--out", path});
  return run_process({kBin + "gongshu-audit", "verify", path, "--key", daemon_key_});
}

void write_households(const std::string& path, int first, int n) {
  std::ofstream out(path);
  for (int i = first; i < first + n; ++i) {
    // Distinct valid citizen IDs: vary the birth date and the sequence number.
    CivilDate d = civil_from_days(days_from_civil({1950, 1, 1}) + (i / 1000) % 20000);
    char body[32];
    std::snprintf(body, sizeof body, "130102%04d%02u%02u%03d", d.year, d.month, d.day, i % 1000);
    std::string cid = std::string(body) + *ids::citizen_id_check_char(body);
    out << "{\"record_key\":\"hh-" << i << "\",\"fields\":{\"citizen_id\":\"" << cid
        << "\",\"name\":\"张三\",\"household_size\":" << (i % 7 + 1) << "}}\n";
  }
}

void submit_households(Platform& p, const std::string& config, int first, int n) {
  std::string file = p.dir.file("records-" + std::to_string(first) + ".jsonl");
  write_households(file, first, n);
  auto r = p.agent(config, {"submit", "--dataset", kHouseholds, file});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

void require_households_once(Platform& p, uint64_t n, std::chrono::seconds drain) {
  bool done = wait_until([&] { return p.counts(kHouseholds).records >= n; }, drain);
  auto c = p.counts(kHouseholds);
  INFO("records " << c.records << ", versions " << c.versions);
  REQUIRE(done);
  CHECK(c.records == n);
  CHECK(c.versions == n);
}

}  // namespace gongshu::testing
