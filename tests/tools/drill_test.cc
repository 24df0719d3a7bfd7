// gongshu-drill as the emergency team runs it: every built-in scenario against its own sandbox
// of real binaries, a plan that cannot hold reported as a failed drill naming its step, plans
// refused with file:line, and signed reports that prove themselves unaltered.

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/test_support.h"
#include "tools/drill/report.h"

namespace gongshu::testing {
namespace {

const std::string kDrill = binary_path("bin/gongshu-drill");
const std::string kCtl = binary_path("bin/gongshuctl");
const std::string kDaemon = binary_path("bin/gongshud");

std::string operator_key(const TempDir& dir) {
  std::string key = dir.file("drill-operator.key");
  REQUIRE(run_process({kCtl, "keygen", "--kind", "operator", "--out", key}).exit_code == 0);
  return key;
}

std::vector<std::string> builtin_scenarios() {
  std::vector<std::string> names;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(GONGSHU_SOURCE_DIR) + "/policies/drills")) {
    // primary-loss (a cluster of etcd and three daemons) runs in drill_primary_loss_test.cc.
    if (e.path().extension() == ".toml" && e.path().stem() != "primary-loss")
      names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("every built-in scenario passes in a sandbox, with a report that verifies") {
  TempDir dir;
  std::string key = operator_key(dir);
  auto names = builtin_scenarios();
  REQUIRE(names.size() >= 2);
  for (const auto& name : names) {
    DYNAMIC_SECTION(name) {
      std::string report = dir.file(name + ".report");
      auto r = run_process({kDrill, "run", name, "--report", report, "--key", key, "--json"});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      auto j = nlohmann::json::parse(r.out);
      CHECK(j["passed"] == true);
      REQUIRE(j["scenarios"].size() == 1);
      CHECK(j["scenarios"][0]["name"] == name);
      for (const auto& step : j["scenarios"][0]["steps"]) {
        CHECK(step["outcome"] == "ok");
        CHECK(!step["expectations"].is_null());
      }
      auto v = run_process({kDrill, "verify-report", report, "--quiet"});
      INFO(v.err);
      CHECK(v.exit_code == 0);
    }
  }
}

TEST_CASE("a plan whose expectation cannot hold is a failed drill naming its step") {
  TempDir dir;
  std::string plan = dir.file("impossible.toml");
  write_text(plan,
             "name = \"impossible\"\nsummary_zh = \"不可能\"\nsummary_en = \"cannot hold\"\n"
             "[[step]]\ndo = \"start-load\"\nrecords = 50\nbatch = 25\ninterval_ms = 10\n"
             "[[step]]\ndo = \"wait-until\"\ncondition = \"drained\"\ntimeout_ms = 30000\n"
             "[[step]]\ndo = \"verify\"\n"
             "[[step]]\ndo = \"expect\"\nthat = \"lost > 0\"\n"
             "[[step]]\ndo = \"expect\"\nthat = \"doubled == 0\"\n");
  auto r = run_process({kDrill, "run", "--plan", plan, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  auto s = nlohmann::json::parse(r.out)["scenarios"][0];
  CHECK(s["passed"] == false);
  const auto& steps = s["steps"];
  // Step 0 is the sandbox; the fourth plan step ([[step]] on line 15) failed, the fifth did not
  // run.
  CHECK(steps[3]["outcome"] == "ok");
  CHECK(steps[4]["outcome"] == "failed");
  CHECK(steps[4]["line"] == 15);
  CHECK(steps[4]["expectations"][0]["held"] == false);
  CHECK(steps[4]["expectations"][0]["evidence"] == "lost = 0");
  CHECK(steps[5]["outcome"] == "not run");
}

TEST_CASE("a bad plan is refused before anything runs, naming file and line") {
  TempDir dir;
  std::string plan = dir.file("bad.toml");
  write_text(plan,
             "name = \"bad\"\nsummary_zh = \"坏\"\nsummary_en = \"bad\"\n"
             "[[step]]\ndo = \"kill\"\ntarget = \"daemon\"\nsginal = \"KILL\"\n");
  auto r = run_process({kDrill, "run", "--plan", plan});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(plan + ":7:") != std::string::npos);
  write_text(plan,
             "name = \"bad\"\nsummary_zh = \"坏\"\nsummary_en = \"bad\"\n"
             "[[step]]\ndo = \"expect\"\nthat = \"lost is zero\"\n");
  r = run_process({kDrill, "show", "--plan", plan});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(plan + ":6:") != std::string::npos);
}

TEST_CASE("verify-report catches an altered report and a wrong signer") {
  TempDir dir;
  std::string key = operator_key(dir);
  std::string report = dir.file("r.report");
  auto r = run_process({kDrill, "run", "audit-tamper", "--report", report, "--key", key});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string bytes = read_text(report);
  CHECK(run_process({kDrill, "verify-report", report, "--quiet"}).exit_code == 0);

  // A passed drill turned into a failed one (or the reverse) after signing.
  std::string altered = bytes;
  size_t at = altered.find("\"passed\": true");
  REQUIRE(at != std::string::npos);
  altered.replace(at, 14, "\"passed\": fals");
  write_text(dir.file("altered.report"), altered);
  CHECK(run_process({kDrill, "verify-report", dir.file("altered.report")}).exit_code == 1);

  // A figure changed by one digit.
  altered = bytes;
  at = altered.find("\"duration_ms\": ");
  REQUIRE(at != std::string::npos);
  altered[at + 15] = altered[at + 15] == '9' ? '8' : char(altered[at + 15] + 1);
  write_text(dir.file("altered2.report"), altered);
  CHECK(run_process({kDrill, "verify-report", dir.file("altered2.report")}).exit_code == 1);

  // Signed by someone else than the operator the officers expect.
  auto other =
      run_process({kCtl, "keygen", "--kind", "operator", "--out", dir.file("other.key"), "--json"});
  REQUIRE(other.exit_code == 0);
  std::string other_pub = nlohmann::json::parse(other.out)["public_key"];
  CHECK(run_process({kDrill, "verify-report", report, "--signer", other_pub}).exit_code == 1);

  // No signature at all.
  write_text(dir.file("unsigned.report"), bytes.substr(0, bytes.find("-----BEGIN")));
  CHECK(run_process({kDrill, "verify-report", dir.file("unsigned.report")}).exit_code == 2);
}

TEST_CASE("--from-backup restores a real backup into the sandbox first, timed") {
  // A platform of its own, as production would be: agencies and catalog registered, a hot
  // backup taken while it runs.
  TempDir dir;
  const std::string state = dir.file("prod");
  REQUIRE(run_process({kDaemon, "init", "--state", state, "--operator-key-out",
                       dir.file("operator.key"), "--audit-origin", "prod.example/audit"})
              .exit_code == 0);
  write_text(dir.file("gongshud.toml"),
             "[daemon]\nstate_dir = \"" + state +
                 "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                 "\"tcp://127.0.0.1:*\"\n[policy]\ndir = \"" GONGSHU_SOURCE_DIR
                 "/policies/policy\"\n");
  std::string backup = dir.file("prod.gsb");
  {
    ChildProcess daemon({kDaemon, "run", "--config", dir.file("gongshud.toml")},
                        dir.file("gongshud.log"));
    REQUIRE(wait_until([&] { return !read_text(state + "/daemon.info").empty(); }));
    std::map<std::string, std::string> env = {{"GONGSHU_DAEMON_INFO", state + "/daemon.info"},
                                              {"GONGSHU_KEY", dir.file("operator.key")}};
    std::string policies = std::string(GONGSHU_SOURCE_DIR) + "/policies";
    REQUIRE(run_process({kCtl, "agency", "add", "--from", policies + "/agencies.toml"}, "", env)
                .exit_code == 0);
    std::vector<std::string> add = {kCtl, "catalog", "add"};
    for (const auto& e : std::filesystem::directory_iterator(policies + "/catalog")) {
      if (e.path().extension() == ".toml") add.push_back(e.path().string());
    }
    REQUIRE(run_process(add, "", env).exit_code == 0);
    auto b = run_process({kCtl, "backup", "create", "--out", backup, "--quiet"}, "", env);
    INFO(b.err);
    REQUIRE(b.exit_code == 0);
    daemon.signal(SIGTERM);
    REQUIRE(daemon.wait() == 0);
  }

  auto r = run_process({kDrill, "run", "audit-tamper", "--json", "--from-backup", backup,
                        "--master-key", state + "/master.key", "--daemon-key",
                        state + "/daemon.key", "--key", dir.file("operator.key")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["target"] == "sandbox restored from " + backup);
  const auto& setup = j["scenarios"][0]["steps"][0];
  CHECK(setup["figures"]["backup_bytes"].get<double>() > 0);
  CHECK(setup["figures"].contains("backup_restore_ms"));
  bool restored = false;
  for (const auto& c : setup["commands"]) {
    std::string cmd = c["command"];
    if (cmd.find("gongshud restore --from " + backup) != std::string::npos) {
      restored = c["exit_code"] == 0;
    }
  }
  CHECK(restored);

  // A backup that does not restore (the wrong master key) is a drill that could not run.
  TempDir other;
  REQUIRE(run_process({kDaemon, "init", "--state", other.file("st"), "--operator-key-out",
                       other.file("op.key")})
              .exit_code == 0);
  r = run_process({kDrill, "run", "audit-tamper", "--from-backup", backup, "--master-key",
                   other.file("st/master.key"), "--daemon-key", state + "/daemon.key", "--key",
                   dir.file("operator.key")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("gongshud restore") != std::string::npos);
  // The restore needs its keys: refused before anything runs.
  r = run_process({kDrill, "run", "audit-tamper", "--from-backup", backup});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--master-key") != std::string::npos);
}

TEST_CASE("--target systemd refuses unless the daemon's configuration allows drills") {
  TempDir dir;
  std::string config = dir.file("gongshud.toml");
  auto run = [&] {
    return run_process({kDrill, "run", "daemon-crash", "--target", "systemd", "--config", config});
  };
  // No configuration at all, none that mentions drills, one that says false or not a boolean:
  // refused before anything is touched, naming the file and the key.
  auto r = run();
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(config) != std::string::npos);
  write_text(config, "[daemon]\nstate_dir = \"/var/lib/gongshud\"\n");
  r = run();
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("[drill] allowed = true") != std::string::npos);
  CHECK(r.err.find("it has no [drill] allowed") != std::string::npos);
  write_text(config, "[drill]\nallowed = false\n");
  r = run();
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("it says false") != std::string::npos);
  write_text(config, "[drill]\nallowed = \"yes\"\n");
  r = run();
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("line 2 is not true or false") != std::string::npos);
  // gongshud itself accepts the key (an unknown key would stop it at start).
  write_text(config,
             "[daemon]\nstate_dir = \"" + dir.file("state") + "\"\n[drill]\nallowed = true\n");
  REQUIRE(run_process({kDaemon, "init", "--state", dir.file("state"), "--operator-key-out",
                       dir.file("op.key")})
              .exit_code == 0);
  auto bad = dir.file("bad.toml");
  write_text(bad, "[daemon]\nstate_dir = \"" + dir.file("state") + "\"\n[drill]\nallowed = 1\n");
  {
    // With the ports the OS chooses, so it can start beside anything else.
    std::string good = dir.file("good.toml");
    write_text(good, "[daemon]\nstate_dir = \"" + dir.file("state") +
                         "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                         "\"tcp://127.0.0.1:*\"\n[drill]\nallowed = true\n");
    ChildProcess daemon({kDaemon, "run", "--config", good}, dir.file("gongshud.log"));
    CHECK(wait_until([&] { return !read_text(dir.file("state/daemon.info")).empty(); }));
    daemon.signal(SIGTERM);
    CHECK(daemon.wait() == 0);
  }
  auto refused = run_process({kDaemon, "run", "--config", bad});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("drill.allowed must be true or false") != std::string::npos);
  // Allowed: the refusal is gone; the drill acts as an operator of the host's daemon, so it
  // needs that key, and it refuses steps that would change the host's store, keys or policy.
  r = run();
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not allowed") == std::string::npos);
  CHECK(r.err.find("needs --key") != std::string::npos);
  r = run_process({kDrill, "run", "restore", "--target", "systemd", "--config", config, "--key",
                   dir.file("op.key")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is for a sandbox only") != std::string::npos);
  // The real run on the units is tests/systemd/systemd_test.sh (as root, under systemd).
}

TEST_CASE("the report's HTML page is self-contained, bilingual and escapes what it shows") {
  TempDir dir;
  std::string key = operator_key(dir);
  std::string plan = dir.file("markup.toml");
  write_text(plan,
             "name = \"markup\"\nsummary_zh = \"标记 <b>\"\n"
             "summary_en = \"<script>alert('x')</script> & \\\"quotes\\\"\"\n"
             "[[step]]\ndo = \"pause\"\nms = 1\n");
  std::string report = dir.file("r.report");
  auto r = run_process({kDrill, "run", "--plan", plan, "--report", report, "--key", key});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string html = read_text(report + ".html");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("应急演练报告") != std::string::npos);
  CHECK(html.find("Emergency drill report") != std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;") !=
        std::string::npos);
  CHECK(html.find("标记 &lt;b&gt;") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  // Nothing fetched from elsewhere: no scripts, links, images or URLs.
  for (const char* outside : {"<link", "src=", "http://", "https://", "@import"}) {
    CHECK(html.find(outside) == std::string::npos);
  }
  // The page verify-report renders from the signed JSON is the same page.
  auto v = run_process({kDrill, "verify-report", report, "--quiet", "--html", dir.file("v.html")});
  INFO(v.err);
  REQUIRE(v.exit_code == 0);
  CHECK(read_text(dir.file("v.html")) == html);
}

TEST_CASE("a step without a Chinese title (a report older than title_zh) has no empty line") {
  drill::StepResult st;
  st.index = 1;
  st.action = "pause";
  st.line = 3;
  st.title = "let 1 ms pass";
  st.outcome = "ok";
  drill::ScenarioResult sc;
  sc.name = "old";
  sc.steps.push_back(st);
  drill::Report r;
  r.report_id = "0123456789abcdef";
  r.scenarios.push_back(sc);
  std::string html = drill::report_html(r);
  CHECK(html.find("line 3)<br>let 1 ms pass") != std::string::npos);
  r.scenarios[0].steps[0].title_zh = "暂停 1 毫秒";
  html = drill::report_html(r);
  CHECK(html.find("line 3)<br>暂停 1 毫秒<br>let 1 ms pass") != std::string::npos);
}

TEST_CASE(
    "gongshuctl drill mark: drill_started / drill_finished entries, operators and officers "
    "only") {
  TempDir dir;
  const std::string state = dir.file("st");
  REQUIRE(run_process(
              {kDaemon, "init", "--state", state, "--operator-key-out", dir.file("operator.key")})
              .exit_code == 0);
  write_text(dir.file("gongshud.toml"),
             "[daemon]\nstate_dir = \"" + state +
                 "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                 "\"tcp://127.0.0.1:*\"\n[policy]\ndir = \"" GONGSHU_SOURCE_DIR
                 "/policies/policy\"\n");
  ChildProcess daemon({kDaemon, "run", "--config", dir.file("gongshud.toml")},
                      dir.file("gongshud.log"));
  REQUIRE(wait_until([&] { return !read_text(state + "/daemon.info").empty(); }));
  auto ctl = [&](const std::string& key, std::vector<std::string> args) {
    args.insert(args.begin(), kCtl);
    return run_process(args, "",
                       {{"GONGSHU_DAEMON_INFO", state + "/daemon.info"}, {"GONGSHU_KEY", key}});
  };
  const std::string op = dir.file("operator.key");
  auto m = ctl(op, {"drill", "mark", "--phase", "started", "--plan", "daemon-crash", "--report-id",
                    "drill-20261207T080000-0a1b2c3d", "--json"});
  INFO(m.err);
  REQUIRE(m.exit_code == 0);
  uint64_t seq = nlohmann::json::parse(m.out)["seq"];
  m = ctl(op, {"drill", "mark", "--phase", "finished", "--plan", "daemon-crash", "--report-id",
               "drill-20261207T080000-0a1b2c3d", "--outcome", "passed", "--json"});
  REQUIRE(m.exit_code == 0);
  CHECK(nlohmann::json::parse(m.out)["seq"].get<uint64_t>() > seq);
  // A finish without an outcome, a start with one, an id that is not an id: refused.
  CHECK(ctl(op, {"drill", "mark", "--phase", "finished", "--plan", "x", "--report-id", "y"})
            .exit_code != 0);
  CHECK(ctl(op, {"drill", "mark", "--phase", "started", "--plan", "x", "--report-id", "y",
                 "--outcome", "passed"})
            .exit_code != 0);
  CHECK(ctl(op, {"drill", "mark", "--phase", "started", "--plan", "x", "--report-id", "a b"})
            .exit_code != 0);
  // An agency user is neither operator nor officer.
  auto k =
      run_process({kCtl, "keygen", "--kind", "agency", "--out", dir.file("agency.key"), "--json"});
  REQUIRE(k.exit_code == 0);
  REQUIRE(ctl(op, {"agency", "add", "--from", GONGSHU_SOURCE_DIR "/policies/agencies.toml"})
              .exit_code == 0);
  REQUIRE(ctl(op, {"principal", "add", "--role", "agency", "--agency", "sjz-gongan", "--public-key",
                   nlohmann::json::parse(k.out)["public_key"]})
              .exit_code == 0);
  auto denied = ctl(dir.file("agency.key"), {"drill", "mark", "--phase", "started", "--plan",
                                             "daemon-crash", "--report-id", "r1"});
  CHECK(denied.exit_code != 0);

  // The entries officers read: the actions, the plan, the report id, not an incident.
  REQUIRE(ctl(op, {"audit", "export", "--out", dir.file("a.gsa")}).exit_code == 0);
  auto shown = run_process({binary_path("bin/gongshu-audit"), "show", dir.file("a.gsa"), "--json"});
  REQUIRE(shown.exit_code == 0);
  size_t started = 0, finished = 0;
  std::istringstream lines(shown.out);
  for (std::string line; std::getline(lines, line);) {
    auto e = nlohmann::json::parse(line);
    if (e["type"] != "entry") continue;
    std::string action = e["action"];
    if (action != "drill_started" && action != "drill_finished") continue;
    (action == "drill_started" ? started : finished)++;
    CHECK(e["principal"]["role"] == "operator");
    CHECK(e["purpose"] == "emergency drill (R-25), not an incident");
    std::map<std::string, std::string> refs;
    for (const auto& r : e["refs"]) refs[r["kind"]] = r["value"];
    CHECK(refs["drill_plan"] == "daemon-crash");
    CHECK(refs["drill_report"] == "drill-20261207T080000-0a1b2c3d");
    CHECK(refs["drill_target"] == "sandbox");
    if (action == "drill_finished") CHECK(e["detail"] == "drill daemon-crash finished: passed");
  }
  CHECK(started == 1);
  CHECK(finished == 1);
}

TEST_CASE("a report whose evidence is not UTF-8 is written, the bad bytes replaced") {
  // Evidence quotes processes' output; a byte that is not UTF-8 must not end the drill with no
  // report (a plain dump() throws on it).
  drill::Report r;
  r.report_id = "0a1b2c3d0a1b2c3d";
  drill::ScenarioResult s;
  s.name = "daemon-crash";
  drill::StepResult st;
  st.index = 1;
  st.action = "kill";
  drill::ExpectationResult e;
  e.text = "the daemon restarts";
  e.evidence = std::string("journal said \xD5\xFF then stopped");
  st.expectations.push_back(e);
  s.steps.push_back(st);
  r.scenarios.push_back(s);
  std::string text;
  REQUIRE_NOTHROW(text = drill::report_json(r));
  auto j = nlohmann::json::parse(text);
  const std::string shown = j["scenarios"][0]["steps"][0]["expectations"][0]["evidence"];
  CHECK(shown.starts_with("journal said \uFFFD"));  // U+FFFD for what is not UTF-8
  CHECK(shown.ends_with(" then stopped"));
  CHECK(shown.find('\xFF') == std::string::npos);
}

}  // namespace gongshu::testing
