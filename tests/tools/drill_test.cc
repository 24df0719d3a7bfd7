// gongshu-drill as the emergency team runs it: every built-in scenario against its own sandbox
// of real binaries, a plan that cannot hold reported as a failed drill naming its step, plans
// refused with file:line, and signed reports that prove themselves unaltered.

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/test_support.h"

namespace gongshu::testing {
namespace {

const std::string kDrill = binary_path("bin/gongshu-drill");
const std::string kCtl = binary_path("bin/gongshuctl");

std::string operator_key(const TempDir& dir) {
  std::string key = dir.file("drill-operator.key");
  REQUIRE(run_process({kCtl, "keygen", "--kind", "operator", "--out", key}).exit_code == 0);
  return key;
}

std::vector<std::string> builtin_scenarios() {
  std::vector<std::string> names;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(GONGSHU_SOURCE_DIR) + "/policies/drills")) {
    if (e.path().extension() == ".toml") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Scenarios that find a gap the platform still has: they run in their own test, which may fail.
// agent-key-leak: after `gongshuctl agent revoke`, the batches the agent had signed with the
// revoked key can neither be delivered nor re-signed, and `gongshu-agent enroll` refuses a new
// key while they are spooled, so the agency cannot resume without losing them.
const std::set<std::string> kKnownGaps = {"agent-key-leak"};

}  // namespace

TEST_CASE("every built-in scenario passes in a sandbox, with a report that verifies") {
  TempDir dir;
  std::string key = operator_key(dir);
  auto names = builtin_scenarios();
  REQUIRE(names.size() >= 2);
  for (const auto& name : names) {
    if (kKnownGaps.count(name)) continue;
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

TEST_CASE("the scenarios that found gaps pass", "[!mayfail]") {
  for (const auto& name : kKnownGaps) {
    DYNAMIC_SECTION(name) {
      auto r = run_process({kDrill, "run", name, "--json"});
      INFO(r.err);
      CHECK(r.exit_code == 0);
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

}  // namespace gongshu::testing
