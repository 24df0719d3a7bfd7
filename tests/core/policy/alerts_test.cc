// core/policy/alerts.h: the rules file (every problem with file:line), each rule kind firing on a
// crafted sequence and staying quiet below its threshold, and the windows' memory bound under a
// flood of principals and of subjects.
#include "core/policy/alerts.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/test_support.h"

namespace gongshu::policy {
namespace {

constexpr int64_t kT0 = 1'780'000'000'000;  // ms

AlertRules parse(const std::string& text) {
  auto r = parse_alert_rules(text, "alerts.toml");
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r);
  return std::move(*r);
}

AlertFact read_fact(std::string_view who, int64_t t, uint64_t rows, std::string_view token = {}) {
  AlertFact f;
  f.time_ms = t;
  f.principal = who;
  f.role = "agency";
  f.action = "read";
  f.dataset = "population.household";
  f.grade = GradeLevel::kImportant;
  f.records = rows;
  f.subject_token = token;
  f.local_minute = 10 * 60;
  f.weekday = 2;
  return f;
}

}  // namespace

TEST_CASE("the shipped alerts.toml parses") {
  auto r = load_alert_rules(std::string(GONGSHU_SOURCE_DIR) + "/policies/policy");
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r);
  CHECK(r->timezone == "Asia/Shanghai");
  std::set<AlertKind> kinds;
  for (const auto& rule : r->rules) kinds.insert(rule.kind);
  CHECK(kinds.size() == 8);  // every kind has an example
}

TEST_CASE("a directory without alerts.toml has no rules; a bad file names file and line") {
  gongshu::testing::TempDir dir;
  auto none = load_alert_rules(dir.path());
  REQUIRE(none);
  CHECK(none->rules.empty());

  auto bad = parse_alert_rules(
      "[alerts]\ntimezone = \"Mars/Olympus\"\n\n[[alert]]\nname = \"x\"\nkind = \"bulk_read\"\n"
      "\n[[alert]]\nname = \"y\"\nkind = \"nonsense\"\n\n[[alert]]\nname = \"z\"\nkind = "
      "\"off_hours\"\nworking_hours = \"18:00-08:00\"\ncolour = \"red\"\n",
      "/etc/gongshu/policies/policy/alerts.toml");
  REQUIRE(!bad);
  const std::string m = bad.error().message();
  INFO(m);
  CHECK(m.find("alerts.toml:2: timezone 'Mars/Olympus'") != std::string::npos);
  CHECK(m.find("alerts.toml:4: alert 'x' (bulk_read) needs max_rows or max_subjects") !=
        std::string::npos);
  CHECK(m.find("alerts.toml:10: kind 'nonsense'") != std::string::npos);
  CHECK(m.find("alerts.toml:15: working_hours") != std::string::npos);
  CHECK(m.find("alerts.toml:16: unknown key 'colour'") != std::string::npos);

  auto twice = parse_alert_rules(
      "[[alert]]\nname = \"a\"\nkind = \"third_party\"\n[[alert]]\nname = \"a\"\n"
      "kind = \"third_party\"\n",
      "f.toml");
  REQUIRE(!twice);
  CHECK(twice.error().message().find("f.toml:5: alert 'a' is defined twice") != std::string::npos);
}

TEST_CASE("bulk reads: rows per principal per window, by role and grade") {
  auto rules = parse(
      "[[alert]]\nname = \"bulk\"\nkind = \"bulk_read\"\nroles = [\"agency\"]\n"
      "min_grade = \"important\"\nwindow_s = 600\nmax_rows = 100\n");
  AlertEvaluator ev(&rules);
  // 100 rows within the window: quiet; the 101st fires once, then the window starts again.
  for (int i = 0; i < 10; ++i) CHECK(ev.observe(read_fact("k1", kT0 + i * 1000, 10)).empty());
  auto fired = ev.observe(read_fact("k1", kT0 + 11'000, 1));
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].rule->name == "bulk");
  CHECK(fired[0].measured == 101);
  CHECK(fired[0].threshold == 100);
  CHECK(fired[0].text.find("agency k1 read 101 rows") != std::string::npos);
  CHECK(ev.observe(read_fact("k1", kT0 + 12'000, 50)).empty());
  // Another principal counts on its own; rows older than the window are forgotten.
  CHECK(ev.observe(read_fact("k2", kT0, 90)).empty());
  CHECK(ev.observe(read_fact("k2", kT0 + 700'000, 90)).empty());
  // Another role, a general-grade dataset, a denial: not counted.
  auto other = read_fact("k3", kT0, 1000);
  other.role = "operator";
  CHECK(ev.observe(other).empty());
  other = read_fact("k3", kT0, 1000);
  other.grade = GradeLevel::kGeneral2;
  CHECK(ev.observe(other).empty());
  other = read_fact("k3", kT0, 1000);
  other.denied = true;
  CHECK(ev.observe(other).empty());
  other = read_fact("k3", kT0, 1000);
  other.action = "aggregate";  // no rows leave
  CHECK(ev.observe(other).empty());
}

TEST_CASE("bulk reads: distinct subjects per principal per window") {
  auto rules = parse(
      "[[alert]]\nname = \"subjects\"\nkind = \"bulk_read\"\nwindow_s = 60\nmax_subjects = 3\n");
  AlertEvaluator ev(&rules);
  const std::string tokens[] = {"t1", "t2", "t3", "t4"};
  // The same subject again and again is one subject.
  for (int i = 0; i < 10; ++i) CHECK(ev.observe(read_fact("k", kT0 + i, 1, tokens[0])).empty());
  CHECK(ev.observe(read_fact("k", kT0 + 20, 1, tokens[1])).empty());
  CHECK(ev.observe(read_fact("k", kT0 + 30, 1, tokens[2])).empty());
  auto fired = ev.observe(read_fact("k", kT0 + 40, 1, tokens[3]));
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].measured == 4);
  CHECK(fired[0].text.find("4 distinct subjects") != std::string::npos);
  // Spread over more than the window: quiet.
  for (int i = 0; i < 4; ++i)
    CHECK(ev.observe(read_fact("j", kT0 + i * 61'000, 1, tokens[i])).empty());
}

TEST_CASE("repeated denials") {
  auto rules = parse(
      "[[alert]]\nname = \"denied\"\nkind = \"denials\"\nseverity = \"critical\"\n"
      "window_s = 60\nmax_denials = 3\n");
  REQUIRE(rules.rules[0].severity == Severity::kCritical);
  AlertEvaluator ev(&rules);
  auto denied = read_fact("k", kT0, 0);
  denied.denied = true;
  for (int i = 0; i < 3; ++i) {
    denied.time_ms = kT0 + i;
    CHECK(ev.observe(denied).empty());
  }
  CHECK(ev.observe(read_fact("k", kT0 + 5, 10)).empty());  // allowed reads do not count
  denied.time_ms = kT0 + 10;
  auto fired = ev.observe(denied);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].measured == 4);
  // Three a minute forever: quiet.
  AlertEvaluator slow(&rules);
  for (int i = 0; i < 30; ++i) {
    denied.time_ms = kT0 + i * 21'000;
    CHECK(slow.observe(denied).empty());
  }
}

TEST_CASE("access outside working hours") {
  auto rules = parse(
      "[[alert]]\nname = \"night\"\nkind = \"off_hours\"\nworking_hours = \"08:30-18:00\"\n"
      "working_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n");
  AlertEvaluator ev(&rules);
  auto f = read_fact("k", kT0, 5);
  f.weekday = 3;
  for (int minute : {8 * 60 + 30, 12 * 60, 17 * 60 + 59}) {
    f.local_minute = minute;
    CHECK(ev.observe(f).empty());
  }
  for (int minute : {3 * 60, 8 * 60 + 29, 18 * 60}) {
    f.local_minute = minute;
    CHECK(ev.observe(f).size() == 1);
  }
  f.local_minute = 10 * 60;
  f.weekday = 0;  // Sunday
  auto fired = ev.observe(f);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].text.find("10:00 sun local time") != std::string::npos);
  // Not a data action: quiet.
  f.action = "principal_add";
  CHECK(ev.observe(f).empty());
}

TEST_CASE("third-party actions and reads of sensitive data") {
  auto rules = parse(
      "[[alert]]\nname = \"tp\"\nkind = \"third_party\"\n"
      "[[alert]]\nname = \"core\"\nkind = \"sensitive_read\"\nmin_grade = \"core\"\n");
  AlertEvaluator ev(&rules);
  auto f = read_fact("k", kT0, 7);
  f.action = "download";
  CHECK(ev.observe(f).empty());  // important data, no third party
  f.company = "某某科技有限公司";
  auto fired = ev.observe(f);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].rule->name == "tp");
  CHECK(fired[0].text.find("of 某某科技有限公司: download") != std::string::npos);
  f.action = "dataset_destroy_requested";
  CHECK(ev.observe(f).size() == 1);
  f.action = "catalog_read";  // not a copy, export, download or destruction
  CHECK(ev.observe(f).empty());
  auto c = read_fact("k", kT0, 3);
  c.grade = GradeLevel::kCore;
  fired = ev.observe(c);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].rule->name == "core");
  c.denied = true;
  CHECK(ev.observe(c).empty());
}

TEST_CASE("timer rules: agent silence, spool backlog, stalled checkpoint") {
  auto rules = parse(
      "[[alert]]\nname = \"silent\"\nkind = \"agent_silent\"\nfactor = 2\n"
      "[[alert]]\nname = \"capped\"\nkind = \"agent_silent\"\nmax_silence_s = 60\n"
      "[[alert]]\nname = \"backlog\"\nkind = \"spool_backlog\"\nmax_backlog = 1000\n"
      "[[alert]]\nname = \"cp\"\nkind = \"checkpoint_stalled\"\nstall_s = 30\n");
  const AlertRule& silent = rules.rules[0];
  const AlertRule& capped = rules.rules[1];
  AgentSample a;
  a.key_id = "0123456789abcdef";
  a.agency = "sjz-gongan";
  a.last_seen_ms = kT0;
  a.expected_ms = update_period_ms("daily");
  CHECK(!agent_silent(silent, a, kT0 + 2 * 86'400'000));
  auto f = agent_silent(silent, a, kT0 + 2 * 86'400'000 + 1000);
  REQUIRE(f);
  CHECK(f->threshold == 2 * 86'400);
  CHECK(!agent_silent(capped, a, kT0 + 60'000));
  CHECK(agent_silent(capped, a, kT0 + 61'000));
  a.expected_ms = 0;  // no dataset with a known frequency: only a cap can say
  CHECK(!agent_silent(silent, a, kT0 + 365 * 86'400'000LL));

  a.backlog_reported = true;
  a.previous_backlog = 900;
  a.backlog = 1000;
  CHECK(!spool_backlog(rules.rules[2], a));
  a.backlog = 1500;
  CHECK(spool_backlog(rules.rules[2], a));
  a.previous_backlog = 1600;  // over, but shrinking
  CHECK(!spool_backlog(rules.rules[2], a));

  CHECK(!checkpoint_stalled(rules.rules[3], 10, 10, 3'600'000));  // nothing waiting
  CHECK(!checkpoint_stalled(rules.rules[3], 12, 10, 29'000));
  auto cp = checkpoint_stalled(rules.rules[3], 12, 10, 31'000);
  REQUIRE(cp);
  CHECK(cp->text.find("2 entries are not covered") != std::string::npos);
}

TEST_CASE("a flood of principals and subjects does not grow the windows without bound") {
  auto rules = parse(
      "[alerts]\nmax_tracked = 64\n[[alert]]\nname = \"bulk\"\nkind = \"bulk_read\"\n"
      "max_rows = 1000000\nmax_subjects = 50\n[[alert]]\nname = \"denied\"\nkind = \"denials\"\n"
      "max_denials = 1000000\n");
  AlertEvaluator ev(&rules);
  std::vector<std::string> keys;
  for (int i = 0; i < 20'000; ++i) keys.push_back("k" + std::to_string(i));
  for (int i = 0; i < 20'000; ++i) {
    auto f = read_fact(keys[size_t(i)], kT0 + i, 1, keys[size_t(i)]);
    (void)ev.observe(f);
    f.denied = true;
    (void)ev.observe(f);
  }
  CHECK(ev.tracked() <= 2 * 64);
  // One principal reading a flood of distinct subjects: fires at 51, and holds at most 51.
  AlertEvaluator one(&rules);
  size_t fired = 0, most = 0;
  for (int i = 0; i < 20'000; ++i) {
    fired += one.observe(read_fact("reader", kT0 + i, 1, keys[size_t(i)])).size();
    most = std::max(most, one.tracked_subjects());
  }
  CHECK(most <= 51);
  CHECK(fired == 20'000 / 51);
}

}  // namespace gongshu::policy
