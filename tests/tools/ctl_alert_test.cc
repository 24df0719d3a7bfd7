// gongshuctl alert list | show | ack, status's open alerts and principal add --third-party,
// through the real binary against an in-process gongshud (tests/daemon/daemon_fixture.h).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/daemon/daemon_fixture.h"

namespace gongshu::ctl {
namespace {

using daemon::testing::DaemonFixture;
using gongshu::testing::RunResult;
using nlohmann::json;

const std::string kCtl = gongshu::testing::binary_path("bin/gongshuctl");

json parse(const RunResult& r) {
  INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  try {
    return json::parse(r.out);
  } catch (const json::exception& e) {
    FAIL("--json output does not parse: " << e.what());
  }
  return {};
}

std::string policy_with_alerts(const gongshu::testing::TempDir& dir) {
  namespace fs = std::filesystem;
  const std::string shipped = std::string(GONGSHU_SOURCE_DIR) + "/policies/policy";
  const std::string out = dir.file("policy");
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(shipped)) {
    if (e.path().filename() != "alerts.toml")
      fs::copy_file(e.path(), out + "/" + e.path().filename().string());
  }
  std::ofstream(out + "/alerts.toml") << "[[alert]]\nname = \"probing\"\nkind = \"denials\"\n"
                                         "severity = \"critical\"\nmax_denials = 2\n"
                                         "[[alert]]\nname = \"third\"\nkind = \"third_party\"\n";
  return out;
}

}  // namespace

TEST_CASE("gongshuctl alert: list, show, acknowledge; status counts what is open") {
  gongshu::testing::TempDir pol;
  daemon::testing::FixtureOptions options;
  options.policy_dir = policy_with_alerts(pol);
  DaemonFixture f(options);
  f.add_examples();
  std::map<std::string, std::string> env = {{"GONGSHU_API", f.daemon->api_endpoint()},
                                            {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()}};
  auto ctl = [&](const std::string& key, std::vector<std::string> args) {
    args.insert(args.begin(), kCtl);
    auto e = env;
    e["GONGSHU_KEY"] = key;
    return gongshu::testing::run_process(args, "", e);
  };
  auto keygen = [&](const std::string& name) {
    const std::string path = f.dir.file(name + ".key");
    auto k = parse(gongshu::testing::run_process(
        {kCtl, "keygen", "--kind", "agency", "--out", path, "--json"}));
    return std::pair{path, k.at("public_key").get<std::string>()};
  };

  // A security officer, and a third-party contractor working for the police bureau.
  auto [officer, officer_pub] = keygen("officer");
  parse(ctl(f.operator_key_path,
            {"principal", "add", "--role", "officer", "--public-key", officer_pub, "--json"}));
  auto [staff, staff_pub] = keygen("staff");
  auto no_contract =
      ctl(f.operator_key_path, {"principal", "add", "--role", "agency", "--agency", "sjz-gongan",
                                "--public-key", staff_pub, "--third-party", "--company", "X"});
  CHECK(no_contract.exit_code != 0);
  CHECK(no_contract.err.find("--contract") != std::string::npos);
  auto added = parse(
      ctl(f.operator_key_path, {"principal", "add", "--role", "agency", "--agency", "sjz-gongan",
                                "--public-key", staff_pub, "--third-party", "--company",
                                "某某信息技术有限公司", "--contract", "SJZ-2026-017", "--json"}));
  CHECK(added.at("third_party") == true);
  CHECK(added.at("company") == "某某信息技术有限公司");
  CHECK(added.at("contract") == "SJZ-2026-017");
  auto table = ctl(f.operator_key_path, {"principal", "list"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("THIRD PARTY") != std::string::npos);
  CHECK(table.out.find("某某信息技术有限公司 (SJZ-2026-017)") != std::string::npos);

  CHECK(parse(ctl(officer, {"alert", "list", "--json"})).empty());
  // The contractor reads its bureau's dataset (third-party alert); the officer, who may read no
  // data, tries three times (the third denial crosses the threshold).
  CHECK(ctl(staff, {"query", "population.household", "--json"}).exit_code == 0);
  for (int i = 0; i < 3; ++i) {
    CHECK(ctl(officer, {"query", "population.household", "--purpose", "x"}).exit_code == 1);
  }
  auto all = parse(ctl(officer, {"alert", "list", "--json"}));
  REQUIRE(all.size() == 2);
  CHECK(all[0].at("rule") == "probing");
  CHECK(all[0].at("severity") == "critical");
  CHECK(all[0].at("acknowledged") == false);
  CHECK(all[1].at("rule") == "third");
  CHECK(all[1].at("company") == "某某信息技术有限公司");
  const std::string id = all[0].at("id");

  auto status = parse(ctl(f.operator_key_path, {"status", "--json"}));
  CHECK(status.at("alerts").at("open") == 2);
  auto text = ctl(officer, {"alert", "list"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("2 open alerts") != std::string::npos);
  CHECK(text.out.find("OPEN") != std::string::npos);

  auto shown = parse(ctl(officer, {"alert", "show", id, "--json"}));
  CHECK(shown.at("kind") == "denials");
  CHECK(shown.at("measured") == 3);
  CHECK(ctl(officer, {"alert", "show", "999"}).exit_code == 1);
  CHECK(ctl(officer, {"alert", "ack", id}).exit_code == 2);  // --note is required

  auto acked = parse(ctl(officer, {"alert", "ack", id, "--note",
                                   "officer testing the policy; "
                                   "no data seen",
                                   "--json"}));
  CHECK(acked.at("acknowledged") == true);
  CHECK(acked.at("note") == "officer testing the policy; no data seen");
  auto again = ctl(officer, {"alert", "ack", id, "--note", "again"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("was acknowledged") != std::string::npos);
  auto open = parse(ctl(officer, {"alert", "list", "--open", "--json"}));
  REQUIRE(open.size() == 1);
  CHECK(open[0].at("rule") == "third");
  CHECK(parse(ctl(f.operator_key_path, {"status", "--json"})).at("alerts").at("open") == 1);
  // Who may not.
  CHECK(ctl(staff, {"alert", "list"}).exit_code == 1);
}

}  // namespace gongshu::ctl
