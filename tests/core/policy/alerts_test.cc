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
  CHECK(kinds.size() == 9);  // every kind has an example
  REQUIRE(r->calendar);
  CHECK(r->calendar->covers(2026));
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

namespace gongshu::policy {
namespace {

const std::string kShippedPolicy = std::string(GONGSHU_SOURCE_DIR) + "/policies/policy";

// A directory holding the shipped calendar.toml and these rules.
struct RulesDir {
  explicit RulesDir(const std::string& alerts) {
    gongshu::testing::write_text(dir.file("alerts.toml"), alerts);
    gongshu::testing::write_text(dir.file("calendar.toml"),
                                 gongshu::testing::read_text(kShippedPolicy + "/calendar.toml"));
  }
  gongshu::testing::TempDir dir;
};

// A data read at 10:00 local time on d.
AlertFact read_on(CivilDate d) {
  AlertFact f = read_fact("k", WorkCalendar::local_day_start_ms(d) + 10 * 3'600'000, 5);
  f.local_date = d;
  // 0 = Sunday: 1970-01-01 was a Thursday.
  f.weekday = int(((days_from_civil(d) % 7) + 7 + 4) % 7);
  return f;
}

}  // namespace

TEST_CASE("off hours follow the calendar: a public holiday is off, an adjusted Saturday worked") {
  RulesDir d(
      "[[alert]]\nname = \"night\"\nkind = \"off_hours\"\nworking_hours = \"08:30-18:00\"\n"
      "[[alert]]\nname = \"weekdays-only\"\nkind = \"off_hours\"\ncalendar = false\n");
  auto loaded = load_alert_rules(d.dir.path());
  INFO((loaded ? std::string() : loaded.error().message()));
  REQUIRE(loaded);
  REQUIRE(loaded->calendar);
  AlertEvaluator ev(&*loaded);
  auto names = [&](const AlertFact& f) {
    std::vector<std::string> out;
    for (const auto& x : ev.observe(f)) out.push_back(x.rule->name);
    return out;
  };
  using V = std::vector<std::string>;
  // Monday 2 March 2026, an ordinary working day: quiet.
  CHECK(names(read_on({2026, 3, 2})).empty());
  // Thursday 1 October 2026, National Day (国庆节): off for the calendar, a weekday without it.
  auto holiday = read_on({2026, 10, 1});
  REQUIRE(holiday.weekday == 4);
  auto fired = ev.observe(holiday);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].rule->name == "night");
  CHECK(fired[0].text.find("10:00 thu local time (2026-10-01, a public holiday)") !=
        std::string::npos);
  // Saturday 28 February 2026, a Spring Festival make-up working day (春节调休): worked.
  auto makeup = read_on({2026, 2, 28});
  REQUIRE(makeup.weekday == 6);
  CHECK(names(makeup) == V{"weekdays-only"});
  // ... but not outside its hours.
  makeup.local_minute = 20 * 60;
  CHECK(names(makeup) == V{"night", "weekdays-only"});
  // Saturday 7 March 2026, an ordinary weekend day: off for both.
  CHECK(names(read_on({2026, 3, 7})) == V{"night", "weekdays-only"});
  // 2027 lists only the statutory days: 1 October 2027 (a Friday) is off, 4 October worked.
  CHECK(names(read_on({2027, 10, 1})) == V{"night"});
  CHECK(names(read_on({2027, 10, 4})).empty());

  // Without calendar.toml: Monday to Friday.
  gongshu::testing::TempDir bare;
  gongshu::testing::write_text(bare.file("alerts.toml"),
                               "[[alert]]\nname = \"night\"\nkind = \"off_hours\"\n");
  auto plain = load_alert_rules(bare.path());
  REQUIRE(plain);
  AlertEvaluator ev2(&*plain);
  CHECK(ev2.observe(read_on({2026, 10, 1})).empty());
  CHECK(ev2.observe(read_on({2026, 2, 28})).size() == 1);

  // A calendar.toml that does not parse refuses the rules with it, naming file and line.
  gongshu::testing::write_text(d.dir.file("calendar.toml"),
                               "[calendar]\nyears = [2026]\n[[holiday]]\nname = \"x\"\n"
                               "dates = [\"2026-13-01\"]\n");
  auto broken = load_alert_rules(d.dir.path());
  REQUIRE(!broken);
  CHECK(broken.error().message().find("calendar.toml:5:") != std::string::npos);
}

TEST_CASE("objection_overdue: open past the deadline, counted in working days, with grace") {
  auto cal = WorkCalendar::load_dir(kShippedPolicy);
  REQUIRE(cal);
  auto rules = parse(
      "[[alert]]\nname = \"late\"\nkind = \"objection_overdue\"\n"
      "[[alert]]\nname = \"later\"\nkind = \"objection_overdue\"\nseverity = \"critical\"\n"
      "grace_working_days = 2\n");
  const AlertRule& late = rules.rules[0];
  const AlertRule& later = rules.rules[1];
  CHECK(later.grace_working_days == 2);
  auto at = [](CivilDate d, int hour) {
    return WorkCalendar::local_day_start_ms(d) + hour * 3'600'000;
  };
  ObjectionSample o;
  o.id = "YY-2026-0001";
  o.dataset = "population.household";
  o.provider_agency = "sjz-gongan";
  o.assigned_agency = "sjz-minzheng";
  o.open = true;
  // Filed Monday 2 March 2026: 5 working days, the last Monday 9 March.
  o.deadline_ms = cal->deadline_after(at({2026, 3, 2}, 10), 5);
  REQUIRE(o.deadline_ms == at({2026, 3, 10}, 0));

  CHECK(!objection_overdue(late, o, &*cal, o.deadline_ms - 1));
  auto f = objection_overdue(late, o, &*cal, o.deadline_ms);
  REQUIRE(f);
  CHECK(f->measured == 1);
  CHECK(f->threshold == 0);
  CHECK(f->text.find("objection YY-2026-0001 on dataset population.household, assigned to "
                     "sjz-minzheng (provider sjz-gongan)") != std::string::npos);
  CHECK(f->text.find("end of 2026-03-09") != std::string::npos);
  CHECK(f->text.find("1 working day overdue") != std::string::npos);
  // Two working days of grace: the end of Wednesday 11 March.
  CHECK(!objection_overdue(later, o, &*cal, at({2026, 3, 11}, 23)));
  auto g = objection_overdue(later, o, &*cal, at({2026, 3, 12}, 0));
  REQUIRE(g);
  CHECK(g->measured == 3);
  CHECK(g->threshold == 2);
  // The weekend does not count: Monday 16 March is the fifth working day past it.
  CHECK(objection_overdue(late, o, &*cal, at({2026, 3, 16}, 9))->measured == 5);
  // Answered (or transferred): never.
  o.open = false;
  CHECK(!objection_overdue(late, o, &*cal, at({2026, 4, 1}, 9)));
  o.open = true;
  // Across National Day: due the end of 30 September 2026, the holiday week is no working day.
  o.deadline_ms = at({2026, 10, 1}, 0);
  CHECK(objection_overdue(late, o, &*cal, at({2026, 10, 5}, 9))->measured == 0);
  CHECK(!objection_overdue(later, o, &*cal, at({2026, 10, 9}, 9)));  // 8th and 9th: the grace
  CHECK(objection_overdue(later, o, &*cal, at({2026, 10, 10}, 9))->measured == 3);  // 调休 Sat
  // Without a calendar: calendar days.
  CHECK(objection_overdue(late, o, nullptr, at({2026, 10, 5}, 9))->measured == 5);
}

}  // namespace gongshu::policy
