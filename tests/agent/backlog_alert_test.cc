// The spool_backlog alert rule (R-24, docs/monitoring.md) end to end: the real gongshu-agent
// binary, enrolled with a real gongshud (in this process, tests/daemon/daemon_fixture.h), is fed
// through its drop directory faster than it may deliver (one record per batch, one batch in
// flight). The backlog it reports rides on every batch frame (SealedBatch.reported_backlog,
// outside the signed bytes); the daemon's timer rules sample it, and once it is over the
// threshold and larger than at the sample before, one alert is raised, named by the agent's key,
// and read back with `gongshuctl alert list --json`.
#include <csignal>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/daemon/daemon_fixture.h"

namespace gongshu::agent {
namespace {

using daemon::testing::DaemonFixture;
using gongshu::testing::ChildProcess;
using gongshu::testing::run_process;
using gongshu::testing::wait_until;
using gongshu::testing::write_text;
using nlohmann::json;

const std::string kAgent = gongshu::testing::binary_path("bin/gongshu-agent");
const std::string kCtl = gongshu::testing::binary_path("bin/gongshuctl");
constexpr uint64_t kThreshold = 2000;

std::string households(int first, int n) {
  std::string out;
  for (int i = first; i < first + n; ++i) {
    out += "{\"record_key\":\"hh-" + std::to_string(i) + "\",\"fields\":{\"citizen_id\":\"" +
           daemon::testing::citizen_id(i % 1000) + "\",\"name\":\"张三\",\"household_size\":3}}\n";
  }
  return out;
}

daemon::testing::FixtureOptions with_backlog_rule(const gongshu::testing::TempDir& dir) {
  namespace fs = std::filesystem;
  const std::string shipped = std::string(GONGSHU_SOURCE_DIR) + "/policies/policy";
  const std::string out = dir.file("policy");
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(shipped)) {
    if (e.path().filename() != "alerts.toml")
      fs::copy_file(e.path(), out + "/" + e.path().filename().string());
  }
  std::ofstream(out + "/alerts.toml")
      << "[[alert]]\nname = \"backlog\"\nkind = \"spool_backlog\"\nmax_backlog = " << kThreshold
      << "\n";
  daemon::testing::FixtureOptions o;
  o.policy_dir = out;
  return o;
}

}  // namespace

TEST_CASE("spool_backlog: a real agent whose backlog keeps growing raises one alert") {
  gongshu::testing::TempDir pol;
  DaemonFixture f(with_backlog_rule(pol));
  f.add_examples();
  const std::string config = f.dir.file("agent.toml");
  const std::string drop = f.dir.file("drop");
  std::filesystem::create_directories(drop);
  // One record per batch and one batch in flight: a few thousand records take seconds to drain.
  write_text(config, "[agent]\nstate_dir = \"" + f.dir.file("agent-state") + "\"\ndrop_dir = \"" +
                         drop +
                         "\"\n[batch]\nmax_records = 1\nmax_delay_ms = 1\nwindow = 1\n"
                         "[limits]\ndrop_rescan_ms = 50\n");
  auto en = run_process({kAgent, "enroll", f.token("sjz-gongan"), "--config", config});
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  const std::map<std::string, std::string> env = {
      {"GONGSHU_API", f.daemon->api_endpoint()},
      {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()},
      {"GONGSHU_KEY", f.operator_key_path}};
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), kCtl);
    auto r = run_process(args, "", env);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
  };
  // The backlog the daemon last heard from the agent.
  auto reported = [&]() -> std::optional<uint64_t> {
    v1::ApiRequest req;
    req.mutable_status();
    const v1::ApiResponse resp = f.op->call(req);
    for (const auto& a : resp.status().agents()) {
      if (a.agency() == "sjz-gongan" && a.backlog_reported()) return a.reported_backlog();
    }
    return std::nullopt;
  };
  auto backlog_alerts = [&]() {
    json out = json::array();
    const json all = ctl({"alert", "list", "--json"});
    for (const auto& a : all)
      if (a.at("rule") == "backlog") out.push_back(a);
    return out;
  };

  ChildProcess agent({kAgent, "run", "--config", config}, f.dir.file("agent-run.log"));
  // Below the threshold: reported, sampled, no alert.
  write_text(drop + "/population.household--0.jsonl", households(0, 50));
  REQUIRE(wait_until(
      [&] { return std::filesystem::exists(drop + "/done/population.household--0.jsonl"); }));
  REQUIRE(wait_until([&] { return reported().has_value(); }));
  REQUIRE(f.daemon->alerts().check_timers());
  REQUIRE(f.daemon->alerts().check_timers());
  CHECK(backlog_alerts().empty());

  // Files keep arriving faster than they drain. After each, once the daemon has heard the
  // growth, the timer rules run (as the service's thread does every second): the second sample
  // over the threshold and larger than the one before raises the alert.
  int next = 1000;
  auto feed = [&](const std::string& tag) {
    const std::string name = "population.household--" + tag + ".jsonl";
    write_text(drop + "/." + name, households(next, 3000));  // hidden until complete
    std::filesystem::rename(drop + "/." + name, drop + "/" + name);
    next += 3000;
    REQUIRE(wait_until([&] { return std::filesystem::exists(drop + "/done/" + name); }));
  };
  uint64_t last = reported().value_or(0);
  json raised;
  int files = 0;
  while (files < 10 && raised.empty()) {
    feed(std::to_string(++files));
    REQUIRE(wait_until([&] { return reported().value_or(0) > last; }));
    last = *reported();
    REQUIRE(f.daemon->alerts().check_timers());
    raised = backlog_alerts();
  }
  const bool alerted = !raised.empty();
  INFO(gongshu::testing::read_text(f.dir.file("agent-run.log")));
  REQUIRE(alerted);
  REQUIRE(raised.size() == 1);
  const json& a = raised[0];
  CHECK(a.at("kind") == "spool_backlog");
  CHECK(a.at("agency") == "sjz-gongan");
  CHECK(a.at("role") == "daemon");
  CHECK(a.at("about").get<std::string>().size() == 16);  // the agent's key id
  CHECK(a.at("measured").get<uint64_t>() > kThreshold);
  CHECK(a.at("threshold") == kThreshold);
  CHECK(a.at("text").get<std::string>().find("records spooled and growing") != std::string::npos);
  // One alert per episode: more growth raises nothing more while it stays over the threshold.
  feed("more");
  REQUIRE(f.daemon->alerts().check_timers());
  CHECK(backlog_alerts().size() == 1);
  agent.signal(SIGTERM);
  agent.wait();
}

}  // namespace gongshu::agent
