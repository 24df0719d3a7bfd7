// daemon/alerts.h through a real gongshud (in process, its own LMDB, sockets on 127.0.0.1): an
// alert is written with its alert_raised entry in the transaction of the action that raised it,
// survives a restart, is acknowledged with an audit entry; each rule kind the daemon evaluates
// raises on a crafted sequence and stays quiet below it; third-party staff are tagged on every
// entry; notify_command receives the alert as JSON and is killed at its timeout without holding
// up the api.
#include <csignal>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/util/fd.h"
#include "daemon/alerts.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon::testing {
namespace {

using gongshu::testing::TempDir;
using gongshu::testing::wait_until;

const std::string kShipped = std::string(GONGSHU_SOURCE_DIR) + "/policies/policy";

// The shipped access policy with these alert rules beside it.
std::string policy_with(const TempDir& dir, const std::string& alerts) {
  namespace fs = std::filesystem;
  const std::string out = dir.file("policy");
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(kShipped)) {
    if (e.path().filename() == "alerts.toml") continue;
    fs::copy_file(e.path(), out + "/" + e.path().filename().string());
  }
  std::ofstream(out + "/alerts.toml") << alerts;
  return out;
}

FixtureOptions with(const std::string& policy_dir) {
  FixtureOptions o;
  o.policy_dir = policy_dir;
  return o;
}

FixtureOptions with_clock(const Clock* clock, const std::string& policy_dir) {
  FixtureOptions o = with(policy_dir);
  o.clock = clock;
  return o;
}

v1::ApiResponse query(ApiClient& c, const std::string& purpose = "quality-check") {
  v1::ApiRequest req;
  req.mutable_query()->set_dataset("population.household");
  req.mutable_query()->set_purpose(purpose);
  return c.call(req);
}

v1::AlertList alerts(ApiClient& c, bool open_only = false) {
  v1::ApiRequest req;
  req.mutable_alert_list()->set_open_only(open_only);
  auto r = c.call(req);
  INFO(r.error().message());
  REQUIRE(r.error().code() == v1::API_OK);
  return r.alerts();
}

std::vector<v1::Alert> all_alerts(ApiClient& c) {
  auto list = alerts(c);
  return {list.alerts().begin(), list.alerts().end()};
}

std::string ref(const v1::AuditEntry& e, const std::string& kind) {
  for (const auto& r : e.refs()) {
    if (r.kind() == kind) return r.value();
  }
  return "";
}

// The example catalog with three households delivered by an agent of sjz-gongan.
void deliver(DaemonFixture& f) {
  f.add_examples();
  auto key = f.enroll("sjz-gongan");
  TestAgent agent(f.ctx, key, f.daemon->public_key(), f.daemon->ingest_endpoint(), "sjz-gongan");
  agent.send(1, {household("h-1", citizen_id(1), "张三"), household("h-2", citizen_id(2), "李四"),
                 household("h-3", citizen_id(3), "王五")});
  auto ack = agent.ack();
  REQUIRE(ack);
  REQUIRE(ack->accepted() == 3);
}

void restart(DaemonFixture& f) {
  f.op.reset();
  f.daemon.reset();
  auto d = Daemon::start(f.config, f.clock);
  REQUIRE(d);
  f.daemon = std::move(*d);
  f.op = f.client(*f.operator_key);
}

}  // namespace

TEST_CASE(
    "an alert commits with the action that raised it, survives a restart, and is acknowledged "
    "with an audit entry") {
  TempDir pol;
  DaemonFixture f(with(policy_with(pol,
                                   "[[alert]]\nname = \"bulk-op\"\nkind = \"bulk_read\"\n"
                                   "roles = [\"operator\"]\nmax_rows = 2\n"
                                   "[[alert]]\nname = \"denied\"\nkind = \"denials\"\n"
                                   "severity = \"critical\"\nmax_denials = 2\n")));
  deliver(f);
  auto officer_key = f.add_principal("officer");
  auto officer = f.client(officer_key);

  // Below the threshold: two rows are no alert; the third row in the hour is.
  {
    v1::ApiRequest req;
    req.mutable_query()->set_dataset("population.household");
    req.mutable_query()->set_purpose("quality-check");
    req.mutable_query()->set_limit(2);
    REQUIRE(f.op->call(req).query().rows_size() == 2);
  }
  CHECK(alerts(*f.op).alerts_size() == 0);
  auto q = query(*f.op);
  REQUIRE(q.error().code() == v1::API_OK);
  auto listed = alerts(*f.op);
  REQUIRE(listed.alerts_size() == 1);
  CHECK(listed.open() == 1);
  const v1::Alert a = listed.alerts(0);
  CHECK(a.id() == "1");
  CHECK(a.rule() == "bulk-op");
  CHECK(a.kind() == "bulk_read");
  CHECK(a.severity() == "warning");
  CHECK(a.principal() == f.operator_key->public_key().key_id());
  CHECK(a.measured() == 5);
  CHECK(a.threshold() == 2);
  CHECK(a.dataset() == "population.household");

  // The alert_raised entry follows the query's entry: the same transaction.
  auto entries = f.audit_entries();
  const v1::AuditEntry* raised = nullptr;
  for (const auto& e : entries) {
    if (e.action() == "alert_raised") raised = &e;
  }
  REQUIRE(raised);
  CHECK(raised->seq() == a.audit_seq());
  CHECK(a.trigger_seq() == raised->seq() - 1);
  const v1::AuditEntry& trigger = entries[size_t(a.trigger_seq() - 1)];
  CHECK(trigger.action() == "read");
  CHECK(trigger.record_count() == 3);
  CHECK(raised->principal().key_id() == f.operator_key->public_key().key_id());
  CHECK(raised->policy_rule() == "bulk-op");
  CHECK(ref(*raised, "alert") == "1");
  CHECK(raised->detail().rfind("severity=warning kind=bulk_read; ", 0) == 0);
  CHECK(raised->time_ms() == trigger.time_ms());

  // An officer may not read data: denied, denied (quiet), denied again (critical alert).
  for (int i = 0; i < 3; ++i) CHECK(query(*officer).error().code() == v1::API_DENIED);
  listed = alerts(*officer);
  REQUIRE(listed.alerts_size() == 2);
  CHECK(listed.alerts(0).rule() == "denied");  // newest first
  CHECK(listed.alerts(0).severity() == "critical");
  CHECK(listed.alerts(0).principal() == officer_key.public_key().key_id());
  CHECK(listed.alerts(0).role() == "officer");
  {
    v1::ApiRequest st;
    st.mutable_status();
    CHECK(f.op->call(st).status().open_alerts() == 2);
  }

  // A restart keeps them, and does not raise or renumber anything.
  restart(f);
  officer = f.client(officer_key);
  listed = alerts(*f.op);
  REQUIRE(listed.alerts_size() == 2);
  CHECK(listed.open() == 2);
  CHECK(listed.alerts(1).id() == "1");
  CHECK(listed.alerts(1).audit_seq() == a.audit_seq());

  // Acknowledged by the officer, with a note: audited, no longer open, not twice.
  v1::ApiRequest ack;
  ack.mutable_alert_ack()->set_id("1");
  CHECK(officer->call(ack).error().code() == v1::API_BAD_REQUEST);  // no note
  ack.mutable_alert_ack()->set_note("运维人员按计划抽检，已核实 / planned quality sampling");
  auto acked = officer->call(ack);
  INFO(acked.error().message());
  REQUIRE(acked.error().code() == v1::API_OK);
  CHECK(acked.alerts().alerts(0).acknowledged());
  CHECK(acked.alerts().alerts(0).acknowledged_by() == officer_key.public_key().key_id());
  CHECK(acked.alerts().open() == 1);
  CHECK(officer->call(ack).error().code() == v1::API_CONFLICT);
  auto open_only = alerts(*f.op, true);
  REQUIRE(open_only.alerts_size() == 1);
  CHECK(open_only.alerts(0).rule() == "denied");
  entries = f.audit_entries();
  const v1::AuditEntry* ack_entry = nullptr;
  for (const auto& e : entries) {
    if (e.action() == "alert_acknowledged") ack_entry = &e;
  }
  REQUIRE(ack_entry);
  CHECK(ack_entry->seq() == acked.alerts().alerts(0).ack_seq());
  CHECK(ack_entry->principal().key_id() == officer_key.public_key().key_id());
  CHECK(ref(*ack_entry, "alert") == "1");
  CHECK(ack_entry->detail() == ack.alert_ack().note());

  // Agencies and the public may not see alerts.
  auto agency_user = f.client(f.add_principal("agency", "sjz-gongan"));
  v1::ApiRequest list;
  list.mutable_alert_list();
  CHECK(agency_user->call(list).error().code() == v1::API_DENIED);
}

TEST_CASE("reads outside working hours in Asia/Shanghai, and of important data, raise alerts") {
  // Sunday 1 March 2026, 03:00 in Shijiazhuang.
  FakeClock clock(int64_t{1'772'305'200'000} * 1'000'000);
  TempDir pol;
  DaemonFixture f(with_clock(
      &clock, policy_with(pol,
                          "[alerts]\ntimezone = \"Asia/Shanghai\"\n"
                          "[[alert]]\nname = \"night\"\nkind = \"off_hours\"\nmin_grade = "
                          "\"important\"\nworking_hours = \"08:30-18:00\"\n"
                          "[[alert]]\nname = \"important-by-agency\"\nkind = \"sensitive_read\"\n"
                          "roles = [\"agency\"]\nmin_grade = \"important\"\n")));
  deliver(f);
  REQUIRE(query(*f.op).error().code() == v1::API_OK);
  auto listed = alerts(*f.op);
  REQUIRE(listed.alerts_size() == 1);  // the operator is no agency: no sensitive_read alert
  CHECK(listed.alerts(0).rule() == "night");
  CHECK(listed.alerts(0).text().find("03:00 sun local time") != std::string::npos);

  // Tuesday 3 March, 10:00: working hours, quiet.
  clock.set_ns(int64_t{1'772'503'200'000} * 1'000'000);
  REQUIRE(query(*f.op).error().code() == v1::API_OK);
  CHECK(alerts(*f.op).alerts_size() == 1);

  // An agency user reading its own important data.
  auto user = f.client(f.add_principal("agency", "sjz-gongan"));
  REQUIRE(query(*user, "").error().code() == v1::API_OK);
  listed = alerts(*f.op);
  REQUIRE(listed.alerts_size() == 2);
  CHECK(listed.alerts(0).rule() == "important-by-agency");
  CHECK(listed.alerts(0).role() == "agency");
}

TEST_CASE(
    "third-party staff: registered with company and contract, tagged on every entry, "
    "alerted") {
  TempDir pol;
  DaemonFixture f(with(policy_with(pol, "[[alert]]\nname = \"third\"\nkind = \"third_party\"\n")));
  deliver(f);
  // Company and contract are required together with the flag, and only with it.
  auto key = crypto::IdentityKey::generate();
  v1::ApiRequest add;
  auto* p = add.mutable_principal_add();
  p->set_role("agency");
  p->set_agency("sjz-gongan");
  p->set_public_key(key.public_key().hex());
  p->set_third_party(true);
  p->set_company("某某信息技术有限公司");
  CHECK(f.op->call(add).error().code() == v1::API_BAD_REQUEST);  // no contract
  p->set_third_party(false);
  p->set_contract("SJZ-2026-017");
  CHECK(f.op->call(add).error().code() == v1::API_BAD_REQUEST);  // not flagged
  p->set_third_party(true);
  auto added = f.op->call(add);
  INFO(added.error().message());
  REQUIRE(added.error().code() == v1::API_OK);
  CHECK(added.principals().principals(0).third_party());
  CHECK(added.principals().principals(0).company() == "某某信息技术有限公司");
  CHECK(added.principals().principals(0).contract() == "SJZ-2026-017");
  v1::ApiRequest list;
  list.mutable_principal_list();
  bool listed = false;
  const auto principals = f.op->call(list);
  for (const auto& pi : principals.principals().principals()) {
    if (pi.key_id() == key.public_key().key_id())
      listed = pi.third_party() && pi.contract() == "SJZ-2026-017";
  }
  CHECK(listed);

  auto staff = f.client(key);
  auto own = f.client(f.add_principal("agency", "sjz-gongan"));
  REQUIRE(query(*own, "").error().code() == v1::API_OK);
  CHECK(alerts(*f.op).alerts_size() == 0);
  REQUIRE(query(*staff, "").error().code() == v1::API_OK);
  v1::ApiRequest dl;
  dl.mutable_download()->set_dataset("population.household");
  REQUIRE(staff->call(dl).error().code() == v1::API_OK);
  auto all = alerts(*f.op);
  REQUIRE(all.alerts_size() == 2);
  CHECK(all.alerts(0).company() == "某某信息技术有限公司");
  CHECK(all.alerts(0).text().find("download") != std::string::npos);

  for (const auto& e : f.audit_entries()) {
    if (e.action() == "alert_raised") continue;
    const bool by_staff = e.principal().key_id() == key.public_key().key_id();
    INFO(e.action());
    CHECK(ref(e, "third_party") == (by_staff ? "某某信息技术有限公司" : ""));
  }
}

TEST_CASE("timer rules: a silent agent and a checkpoint that stops advancing") {
  // The store's clock stands still, so no checkpoint ever becomes due (core/audit/log.h).
  FakeClock clock(int64_t{1'772'503'200'000} * 1'000'000);
  TempDir pol;
  DaemonFixture f(with_clock(
      &clock,
      policy_with(pol,
                  "[[alert]]\nname = \"silent\"\nkind = \"agent_silent\"\nmax_silence_s = 60\n"
                  "[[alert]]\nname = \"very-silent\"\nkind = \"agent_silent\"\n"
                  "max_silence_s = 86400\n"
                  "[[alert]]\nname = \"stalled\"\nkind = \"checkpoint_stalled\"\nstall_s = 1\n")));
  f.add_examples();
  auto key = f.enroll("sjz-gongan");
  CHECK(wait_until([&] {
    for (const auto& a : all_alerts(*f.op))
      if (a.rule() == "stalled") return true;
    return false;
  }));
  for (const auto& a : all_alerts(*f.op)) CHECK(a.rule() != "silent");

  clock.advance(std::chrono::seconds(61));
  CHECK(wait_until([&] {
    for (const auto& a : all_alerts(*f.op))
      if (a.rule() == "silent") return true;
    return false;
  }));
  auto all = all_alerts(*f.op);
  int silent = 0;
  for (const auto& a : all) {
    CHECK(a.rule() != "very-silent");
    if (a.rule() != "silent") continue;
    ++silent;
    CHECK(a.about() == key.public_key().key_id());
    CHECK(a.agency() == "sjz-gongan");
    CHECK(a.role() == "daemon");
  }
  CHECK(silent == 1);
  // One alert per silence, across a restart too.
  restart(f);
  clock.advance(std::chrono::seconds(1));
  REQUIRE(f.daemon->alerts().check_timers());
  silent = 0;
  for (const auto& a : all_alerts(*f.op)) silent += a.rule() == "silent";
  CHECK(silent == 1);
}

TEST_CASE(
    "notify_command gets the alert as JSON, and is killed at its timeout without holding "
    "up the api") {
  TempDir pol;
  DaemonFixture f(
      with(policy_with(pol,
                       "[[alert]]\nname = \"denied\"\nkind = \"denials\"\nmax_denials = 1\n"
                       "window_s = 10\n")));
  const std::string out = f.dir.file("notified.json");
  f.config.alerts.notify_command = "cat > '" + out + "'";
  restart(f);
  auto officer = f.client(f.add_principal("officer"));
  f.add_examples();
  for (int i = 0; i < 2; ++i) CHECK(query(*officer).error().code() == v1::API_DENIED);
  std::string text;
  REQUIRE(wait_until([&] {
    auto t = read_file(out, 1 << 20);
    text = t ? std::string(as_chars(*t)) : "";
    return text.find('\n') != std::string::npos;
  }));
  CHECK(text.find("\"rule\":\"denied\"") != std::string::npos);
  CHECK(text.find("\"id\":\"1\"") != std::string::npos);
  CHECK(wait_until([&] { return f.daemon->alerts().figures().notified == 1; }));

  // A gateway that hangs.
  f.config.alerts.notify_command = "sleep 30";
  f.config.alerts.notify_timeout_ms = 300;
  restart(f);
  auto officer2 = f.client(f.add_principal("officer"));
  for (int i = 0; i < 4; ++i) CHECK(query(*officer2).error().code() == v1::API_DENIED);
  // The api answers while the command hangs.
  v1::ApiRequest st;
  st.mutable_status();
  CHECK(f.op->call(st).status().open_alerts() == 3);
  CHECK(wait_until([&] { return f.daemon->alerts().figures().notify_timed_out >= 1; },
                   std::chrono::seconds(10)));
  CHECK(wait_until([&] { return f.daemon->alerts().figures().notify_timed_out == 2; },
                   std::chrono::seconds(10)));
  CHECK(f.daemon->alerts().figures().notified == 0);
}

// A cluster member that does not lead: its agents deliver to the leader and its store is not
// its own to write, so the timer rules wait for its term (else every follower would raise
// agent_silent for every agent, into its own store).
TEST_CASE("timer rules: a cluster node that does not lead raises none") {
  FakeClock clock(int64_t{1'772'503'200'000} * 1'000'000);
  TempDir pol;
  DaemonFixture f(
      with_clock(&clock, policy_with(pol,
                                     "[[alert]]\nname = \"silent\"\nkind = \"agent_silent\"\n"
                                     "max_silence_s = 60\n")));
  f.add_examples();
  f.enroll("sjz-gongan");
  // The same store as a member of a cluster whose etcd never answers: it never leads.
  f.config.cluster.enabled = true;
  f.config.cluster.name = "t";
  f.config.cluster.node = "n1";
  f.config.cluster.etcd = {"http://127.0.0.1:9"};
  restart(f);
  clock.advance(std::chrono::seconds(61));
  REQUIRE(f.daemon->alerts().check_timers());
  const int64_t as_follower = clock.now_ms();
  clock.advance(std::chrono::seconds(100));
  // Standalone again: now the silence is this node's to report, once.
  f.config.cluster = ClusterConfig{};
  restart(f);
  REQUIRE(f.daemon->alerts().check_timers());
  int silent = 0;
  for (const auto& a : all_alerts(*f.op)) {
    if (a.rule() != "silent") continue;
    ++silent;
    CHECK(a.raised_at_ms() > as_follower);
  }
  CHECK(silent == 1);
}

TEST_CASE("a reload with a broken alerts.toml is refused whole, naming file and line") {
  TempDir pol;
  const std::string dir = policy_with(pol, "[[alert]]\nname = \"t\"\nkind = \"third_party\"\n");
  DaemonFixture f(with(dir));
  REQUIRE(f.daemon->alerts().rules()->rules.size() == 1);
  std::ofstream(dir + "/alerts.toml") << "[[alert]]\nname = \"t\"\nkind = \"nope\"\n";
  auto r = f.daemon->reload(f.config);
  REQUIRE(!r);
  CHECK(r.error().message().find("alerts.toml:3: kind 'nope'") != std::string::npos);
  CHECK(f.daemon->alerts().rules()->rules.size() == 1);
  CHECK(!f.daemon->policy_version().empty());
}

TEST_CASE(
    "an alert committed just before a crash is announced by the next start, once, with its id") {
  // The real gongshud, killed by the alert_before_announce failpoint (core/util/failpoint.h)
  // after the alert's transaction committed and before its journal message and notify_command.
  using gongshu::testing::binary_path;
  using gongshu::testing::ChildProcess;
  using gongshu::testing::read_text;
  using gongshu::testing::run_process;
  TempDir dir;
  const std::string state = dir.file("state");
  REQUIRE(run_process({binary_path("bin/gongshud"), "init", "--state", state, "--operator-key-out",
                       dir.file("operator.key")})
              .exit_code == 0);
  // Every agency registration is "off hours" (no working day; the calendar left out).
  TempDir pol;
  const std::string policy =
      policy_with(pol,
                  "[[alert]]\nname = \"registration\"\nkind = \"off_hours\"\n"
                  "actions = [\"agency_add\"]\nworking_days = []\ncalendar = false\n");
  const std::string notified = dir.file("notified.jsonl");
  gongshu::testing::write_text(
      dir.file("gongshud.toml"),
      "[daemon]\nstate_dir = \"" + state +
          "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
          "\"tcp://127.0.0.1:*\"\n[policy]\ndir = \"" +
          policy + "\"\n[alerts]\nnotify_command = \"cat >> '" + notified + "'\"\n");
  const std::vector<std::string> run = {binary_path("bin/gongshud"), "run", "--config",
                                        dir.file("gongshud.toml")};
  const std::map<std::string, std::string> ctl_env = {
      {"GONGSHU_DAEMON_INFO", state + "/daemon.info"}, {"GONGSHU_KEY", dir.file("operator.key")}};
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), binary_path("bin/gongshuctl"));
    return run_process(args, "", ctl_env);
  };
  auto add_agency = [&](const std::string& id) {
    return ctl({"agency", "add", "--id", id, "--name", "测试局", "--type", "government", "--region",
                "130100", "--timeout", "5"});
  };
  auto lines = [&] {
    std::vector<std::string> out;
    std::string text = read_text(notified), line;
    for (char c : text) {
      if (c != '\n') {
        line += c;
      } else {
        out.push_back(line);
        line.clear();
      }
    }
    return out;
  };
  // Each start writes daemon.info afresh; without the last one's, ctl fails fast until then.
  auto wait_started = [&](ChildProcess& d) {
    REQUIRE(wait_until([&] {
      return d.running() && ctl({"status", "--json", "--timeout", "2"}).exit_code == 0;
    }));
  };

  {
    std::filesystem::remove(state + "/daemon.info");
    ChildProcess daemon(run, dir.file("gongshud-1.log"),
                        {{"GONGSHU_FAILPOINTS", "alert_before_announce"}});
    wait_started(daemon);
    (void)add_agency("sjz-test-1");  // its reply may or may not arrive before the crash
    CHECK(daemon.wait() == -SIGKILL);
    CHECK(read_text(dir.file("gongshud-1.log")).find("failpoint alert_before_announce") !=
          std::string::npos);
  }
  CHECK(lines().empty());  // committed, never announced

  {
    std::filesystem::remove(state + "/daemon.info");
    ChildProcess daemon(run, dir.file("gongshud-2.log"));
    wait_started(daemon);
    REQUIRE(wait_until([&] { return lines().size() == 1; }));
    auto listed = nlohmann::json::parse(ctl({"alert", "list", "--json"}).out);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].at("id") == "1");
    auto sent = nlohmann::json::parse(lines()[0]);
    CHECK(sent.at("id") == "1");
    CHECK(sent.at("rule") == "registration");
    CHECK(sent.at("audit_seq") == listed[0].at("audit_seq"));
    CHECK(read_text(dir.file("gongshud-2.log")).find("alert 1 (registration") != std::string::npos);
    daemon.signal(SIGTERM);
    CHECK(daemon.wait() == 0);
  }

  // The next start announces only what is new: alert 2 follows alert 1, which is not repeated.
  {
    std::filesystem::remove(state + "/daemon.info");
    ChildProcess daemon(run, dir.file("gongshud-3.log"));
    wait_started(daemon);
    REQUIRE(add_agency("sjz-test-2").exit_code == 0);
    REQUIRE(wait_until([&] { return lines().size() >= 2; }));
    auto all = lines();
    REQUIRE(all.size() == 2);
    CHECK(nlohmann::json::parse(all[1]).at("id") == "2");
    CHECK(read_text(dir.file("gongshud-3.log")).find("alert 1 ") == std::string::npos);
    daemon.signal(SIGTERM);
    CHECK(daemon.wait() == 0);
  }
}

}  // namespace gongshu::daemon::testing
