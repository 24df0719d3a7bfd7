// gongshu-drill's power-loss steps can fail: on a disk that lies about fsync (gongshu-powercut
// --lie-about-fsync, through the plan's `lie_about_fsync = true`) what gongshud acknowledged is
// gone after the power cut, and the drill must say so: exit 1, naming the step. The built-in
// power-loss scenarios themselves run in drill_test.cc ("every built-in scenario passes").

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/test_support.h"

namespace gongshu::testing {
namespace {

const std::string kDrill = binary_path("bin/gongshu-drill");

std::string lying_plan(const std::string& target) {
  // The comments: the line of each [[step]] (step 0 of the report is the sandbox).
  return "name = \"lying-disk\"\nsummary_zh = \"谎报同步的磁盘\"\nsummary_en = \"a lying disk\"\n"
         "[[step]]\ndo = \"powercut-mount\"\ntarget = \"" +
         target +
         "\"\nlie_about_fsync = true\n"                                                   // line 4
         "[[step]]\ndo = \"start-load\"\nrecords = 600\nbatch = 100\ninterval_ms = 10\n"  // 8
         // Every submission made before the cut: a submission after the restart would reuse
         // batch numbers the reverted spool forgot, and the drill would fail at `drained`
         // (line 21) instead of at the checker, depending on the machine's speed.
         "[[step]]\ndo = \"wait-until\"\ncondition = \"load-done\"\ntimeout_ms = 60000\n"  // 13
         "[[step]]\ndo = \"power-cut\"\ntarget = \"" +
         target +
         "\"\nwithin_ms = 100\n"                                                         // line 17
         "[[step]]\ndo = \"wait-until\"\ncondition = \"drained\"\ntimeout_ms = 30000\n"  // 21
         "[[step]]\ndo = \"verify\"\n"                                                   // 25
         "[[step]]\ndo = \"expect\"\nthat = \"lost == 0\"\n";
}

nlohmann::json run_failing(const TempDir& dir, const std::string& target) {
  std::string plan = dir.file("lying-" + target + ".toml");
  write_text(plan, lying_plan(target));
  auto r = run_process({kDrill, "run", "--plan", plan, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  auto s = nlohmann::json::parse(r.out)["scenarios"][0];
  CHECK(s["passed"] == false);
  CHECK(!s.contains("error"));  // a failed drill, not one that could not run
  return s;
}

const nlohmann::json* failed_expectation(const nlohmann::json& step) {
  for (const auto& e : step["expectations"]) {
    if (e["held"] == false) return &e;
  }
  return nullptr;
}

TEST_CASE(
    "power-loss: gongshud's store on a disk that lies about fsync fails the drill at the "
    "power cut, with the acknowledged records it lost") {
  TempDir dir;
  auto s = run_failing(dir, "daemon");
  const auto& steps = s["steps"];
  // Step 0 is the sandbox; plan step 4 (power-cut, line 17) failed, the rest did not run.
  CHECK(steps[1]["outcome"] == "ok");
  REQUIRE(steps[4]["do"] == "power-cut");
  CHECK(steps[4]["line"] == 17);
  CHECK(steps[4]["outcome"] == "failed");
  const auto* e = failed_expectation(steps[4]);
  REQUIRE(e);
  std::string evidence = (*e)["evidence"];
  INFO(evidence);
  CHECK(evidence.find("the disk lied about fsync") != std::string::npos);
  const auto& f = steps[4]["figures"];
  double acked = f["acknowledged_before_cut"], stored = f["stored_after_restart"];
  double missing = f["acknowledged_missing_after_cut"];
  CHECK(f["unsynced_bytes_discarded"] > 0);
  CHECK(acked > 0);
  CHECK(stored < acked);
  CHECK(missing == acked - stored);
  CHECK(steps[5]["outcome"] == "not run");
}

TEST_CASE(
    "power-loss-agent: an agent's spool on a disk that lies about fsync fails the checker: "
    "records `submit` accepted never arrive") {
  TempDir dir;
  auto s = run_failing(dir, "a");
  const auto& steps = s["steps"];
  // The daemon's store is sound, so the power cut's own check holds; the spool lost what the
  // agency had submitted, which the checker finds.
  CHECK(steps[4]["outcome"] == "ok");
  REQUIRE(steps[6]["do"] == "verify");
  CHECK(steps[6]["line"] == 25);
  CHECK(steps[6]["outcome"] == "failed");
  const auto* e = failed_expectation(steps[6]);
  REQUIRE(e);
  INFO((*e)["evidence"]);
  CHECK((*e)["expectation"].get<std::string>().find("population.household") != std::string::npos);
  CHECK(steps[7]["outcome"] == "not run");
}

TEST_CASE("power-loss steps are refused when written wrong, naming file and line") {
  TempDir dir;
  std::string plan = dir.file("bad.toml");
  write_text(plan,
             "name = \"bad\"\nsummary_zh = \"错\"\nsummary_en = \"bad\"\n"
             "[[step]]\ndo = \"power-cut\"\nwithin_ms = 10\n");
  auto r = run_process({kDrill, "run", "--plan", plan});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("bad.toml:4") != std::string::npos);
  CHECK(r.err.find("`target`") != std::string::npos);
  write_text(plan,
             "name = \"bad\"\nsummary_zh = \"错\"\nsummary_en = \"bad\"\n"
             "[[step]]\ndo = \"powercut-mount\"\ntarget = \"daemon\"\nlie_about_fsync = \"yes\"\n");
  r = run_process({kDrill, "run", "--plan", plan});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("bad.toml:7") != std::string::npos);
}

}  // namespace
}  // namespace gongshu::testing
