// gongshuctl alert list | show | ack, status's open alerts and principal add --third-party,
// through the real binary against an in-process gongshud (tests/daemon/daemon_fixture.h).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/policy/calendar.h"
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

TEST_CASE(
    "gongshuctl alert: an objection left open past its deadline raises one alert, kept across a "
    "restart, with no personal data, and is acknowledged") {
  namespace fs = std::filesystem;
  gongshu::testing::TempDir pol;
  const std::string shipped = std::string(GONGSHU_SOURCE_DIR) + "/policies/policy";
  const std::string dir = pol.file("policy");
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(shipped)) {
    if (e.path().filename() != "alerts.toml")
      fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
  }
  std::ofstream(dir + "/alerts.toml") << "[[alert]]\nname = \"objection-late\"\n"
                                         "kind = \"objection_overdue\"\n";
  // Monday 2 March 2026, 10:00 in Shijiazhuang: five working days to answer, to the end of
  // Monday 9 March (calendar.toml).
  const auto local = [](CivilDate d, int hour) {
    return policy::WorkCalendar::local_day_start_ms(d) + int64_t{hour} * 3'600'000;
  };
  FakeClock clock(local({2026, 3, 2}, 10) * 1'000'000);
  daemon::testing::FixtureOptions options;
  options.policy_dir = dir;
  options.clock = &clock;
  DaemonFixture f(options);
  f.add_examples();
  {
    auto key = f.enroll("sjz-gongan");
    daemon::testing::TestAgent agent(f.ctx, key, f.daemon->public_key(),
                                     f.daemon->ingest_endpoint(), "sjz-gongan");
    agent.send(1, {daemon::testing::household("h-1", daemon::testing::citizen_id(1), "张三"),
                   daemon::testing::household("h-2", daemon::testing::citizen_id(2), "李四")});
    auto ack = agent.ack();
    REQUIRE(ack);
    REQUIRE(ack->accepted() == 2);
  }
  std::map<std::string, std::string> env;
  auto ctl = [&](const std::string& key, std::vector<std::string> args) {
    env = {{"GONGSHU_API", f.daemon->api_endpoint()},
           {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()},
           {"GONGSHU_KEY", key}};
    args.insert(args.begin(), kCtl);
    return gongshu::testing::run_process(args, "", env);
  };
  auto principal = [&](const std::string& name, const std::string& role,
                       const std::string& agency) {
    const std::string path = f.dir.file(name + ".key");
    auto k = parse(
        gongshu::testing::run_process({kCtl, "keygen", "--kind", role, "--out", path, "--json"}));
    std::vector<std::string> args = {"principal",        "add",   "--role", role, "--public-key",
                                     k.at("public_key"), "--json"};
    if (!agency.empty()) args.insert(args.end(), {"--agency", agency});
    parse(ctl(f.operator_key_path, args));
    return path;
  };
  const std::string desk = principal("desk", "agency", "sjz-shichang");
  const std::string provider = principal("provider", "agency", "sjz-gongan");
  const std::string officer = principal("officer", "officer", "");

  // Two objections at a desk; the provider answers one in time and leaves the other.
  const std::string kReason = "户籍地址错误：应为长安区中山东路39号";
  const std::string kContact = "手机 13800000000";
  auto file = [&](const std::string& record) {
    auto o = parse(ctl(desk, {"objection", "file", "--dataset", "population.household", "--record",
                              record, "--reason", kReason, "--contact", kContact, "--json"}));
    CHECK(o.at("deadline_ms") == local({2026, 3, 10}, 0));
    return o.at("id").get<std::string>();
  };
  const std::string answered = file("h-1");
  const std::string late = file("h-2");
  parse(ctl(provider, {"objection", "verify", answered, "--json"}));
  parse(ctl(provider,
            {"objection", "answer", answered, "--upheld", "--note", "经核对无误", "--json"}));

  auto late_alerts = [&]() {
    json out = json::array();
    for (const auto& a : parse(ctl(officer, {"alert", "list", "--json"})))
      if (a.at("rule") == "objection-late") out.push_back(a);
    return out;
  };
  // The last minute of the fifth working day: in time, no alert.
  clock.set_ns((local({2026, 3, 10}, 0) - 60'000) * 1'000'000);
  REQUIRE(f.daemon->alerts().check_timers());
  CHECK(late_alerts().empty());
  // The deadline passes: the timer thread raises one alert, for the open objection only.
  clock.set_ns(local({2026, 3, 10}, 9) * 1'000'000);
  json listed;
  REQUIRE(gongshu::testing::wait_until([&] {
    listed = late_alerts();
    return !listed.empty();
  }));
  REQUIRE(listed.size() == 1);
  const json a = listed[0];
  CHECK(a.at("kind") == "objection_overdue");
  CHECK(a.at("about") == late);
  CHECK(a.at("dataset") == "population.household");
  CHECK(a.at("agency") == "sjz-gongan");
  CHECK(a.at("role") == "daemon");
  CHECK(a.at("measured") == 1);
  const std::string text = a.at("text");
  CHECK(text.find("objection " + late + " on dataset population.household") != std::string::npos);
  CHECK(text.find("end of 2026-03-09") != std::string::npos);
  CHECK(text.find("1 working day overdue") != std::string::npos);
  const std::string id = a.at("id");

  // Its alert_raised entry names the objection; nothing the requester wrote is in it.
  bool audited = false;
  for (const auto& e : f.audit_entries()) {
    if (e.action() != "alert_raised" || e.policy_rule() != "objection-late") continue;
    audited = true;
    bool names = false;
    for (const auto& r : e.refs()) names |= r.kind() == "objection" && r.value() == late;
    CHECK(names);
    CHECK(e.dataset() == "population.household");
    const std::string all = e.SerializeAsString();
    CHECK(all.find(kReason) == std::string::npos);
    CHECK(all.find(kContact) == std::string::npos);
  }
  CHECK(audited);
  CHECK(text.find(kReason) == std::string::npos);
  CHECK(text.find(kContact) == std::string::npos);

  // Once: more ticks, another day, and a restart raise nothing more for it.
  clock.set_ns(local({2026, 3, 11}, 9) * 1'000'000);
  REQUIRE(f.daemon->alerts().check_timers());
  CHECK(late_alerts().size() == 1);
  f.op.reset();
  f.daemon.reset();
  auto restarted = daemon::Daemon::start(f.config, f.clock);
  REQUIRE(restarted);
  f.daemon = std::move(*restarted);
  f.op = f.client(*f.operator_key);
  clock.set_ns(local({2026, 3, 12}, 9) * 1'000'000);
  REQUIRE(f.daemon->alerts().check_timers());
  CHECK(late_alerts().size() == 1);

  // The officer acknowledges it; it is no longer open.
  auto acked =
      parse(ctl(officer, {"alert", "ack", id, "--note",
                          "已督办市公安局答复 / the bureau was told to answer", "--json"}));
  CHECK(acked.at("acknowledged") == true);
  CHECK(parse(ctl(officer, {"alert", "list", "--open", "--json"})).empty());
}

}  // namespace gongshu::ctl
