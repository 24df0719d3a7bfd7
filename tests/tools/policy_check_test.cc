// gongshuctl policy check | validate, driven through the real binary against the shipped
// policy and catalog.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "core/util/clock.h"
#include "core/util/local_time.h"
#include "tests/support/test_support.h"

namespace gongshu::ctl {
namespace {

using testing::run_process;

const std::string kCtl = testing::binary_path("bin/gongshuctl");
const std::string kPolicies = std::string(GONGSHU_SOURCE_DIR) + "/policies";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

testing::RunResult check(std::vector<std::string> args,
                         const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv = {kCtl,
                                   "policy",
                                   "check",
                                   "--policy-dir",
                                   kPolicies + "/policy",
                                   "--catalog",
                                   kPolicies + "/catalog"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, "", env);
}

const char* kAgreements = R"([[agreement]]
id = "KF-2026-0001"
kind = "open"
status = "active"
holder = "a1b2c3d4e5f60718"
purposes = ["credit-research"]
valid_from = 2026-01-01T00:00:00+08:00
valid_to = 2027-01-01
rows_remaining = 5000
[[agreement.scope]]
dataset = "credit.penalty"
fields = ["*"]

[[agreement]]
id = "KF-2026-0002"
kind = "open"
status = "revoked"
holder = "a1b2c3d4e5f60718"
purposes = ["credit-research"]
valid_from = 2026-01-01
valid_to = 2027-01-01
[[agreement.scope]]
dataset = "credit.penalty"
fields = ["*"]
)";

TEST_CASE("policy check: an allowed download names rule, version, mask and limits") {
  auto r = check({"--as", "public", "--action", "download", "--dataset", "geo.poi", "--at",
                  "2026-03-02T12:00:00+08:00"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(contains(r.out, "decision  ALLOW\n"));
  CHECK(contains(r.out,
                 "rule      open-unconditional-download  (" + kPolicies + "/policy/rules.toml:"));
  CHECK(contains(r.out, "policy    2026.01.1  (sha256 "));
  CHECK(contains(r.out, "mask      open-anonymised\n"));
  CHECK(contains(r.out, "            name (none): keep\n"));
  CHECK(contains(r.out, "limits    max rows no cap, rate public (60/min)\n"));
  // For people in the local zone, named (the child inherits this process's zone).
  CHECK(contains(r.out, "at " + format_local_time(
                                    (days_from_civil({2026, 3, 2}) * 86'400 + 4 * 3'600) * 1'000)));
  CHECK(contains(r.out, "  * allow  open-unconditional-download  "));
  CHECK(contains(r.out, "    deny   closed-never-opened  "));
  CHECK(contains(r.out, "open attribute unconditional is not one of [closed]"));
  CHECK(contains(r.out, "other rules are for other roles or actions; --all shows them"));
}

TEST_CASE("policy check: --at without an offset is read in the local zone, not a fixed +8") {
  const std::vector<std::string> base = {"--as",      "public",  "--action", "download",
                                         "--dataset", "geo.poi", "--at",     "2026-03-02T12:00"};
  auto json = base;
  json.push_back("--json");
  auto tokyo = check(json, {{"TZ", "Asia/Tokyo"}});
  INFO(tokyo.out << tokyo.err);
  CHECK(tokyo.exit_code == 0);
  CHECK(contains(tokyo.out, "\"at\":\"2026-03-02T03:00:00Z\""));
  CHECK(contains(check(json, {{"TZ", "UTC"}}).out, "\"at\":\"2026-03-02T12:00:00Z\""));
  CHECK(contains(check(json, {{"TZ", "Asia/Shanghai"}}).out, "\"at\":\"2026-03-02T04:00:00Z\""));
  // Summer time is the zone's own rule: noon in New York on 1 July is 16:00 UTC.
  auto summer = base;
  summer.back() = "2026-07-01T12:00";
  summer.push_back("--json");
  CHECK(
      contains(check(summer, {{"TZ", "America/New_York"}}).out, "\"at\":\"2026-07-01T16:00:00Z\""));
  // An explicit offset means exactly that, whatever the zone; the text names the zone used.
  auto explicit_offset = base;
  explicit_offset.back() = "2026-03-02T12:00:00+08:00";
  auto text = check(explicit_offset, {{"TZ", "Asia/Tokyo"}});
  CHECK(contains(text.out, "at 2026-03-02 13:00:00 JST (Asia/Tokyo)"));
  auto bad = base;
  bad.back() = "2026-03-02T25:00";
  auto refused = check(bad, {{"TZ", "Asia/Tokyo"}});
  CHECK(refused.exit_code == 2);
  CHECK(contains(refused.err, "in the local zone (Asia/Tokyo)"));
}

TEST_CASE("policy check: a denial says which rule and why, exit 1") {
  auto r = check({"--as", "applicant:a1b2c3d4e5f60718", "--action", "download", "--dataset",
                  "population.household"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "decision  DENY\n"));
  CHECK(contains(r.out, "rule      closed-never-opened  ("));
  CHECK(contains(r.out,
                 "why       deny: rule closed-never-opened denies, and a matching deny rule "
                 "wins\n"));
  CHECK_FALSE(contains(r.out, "mask      "));

  auto d = check({"--as", "agency:sjz-minzheng", "--action", "read", "--dataset",
                  "population.household", "--purpose", "subsidy"});
  CHECK(d.exit_code == 1);
  CHECK(contains(d.out, "rule      default-deny\n"));
  CHECK(contains(d.out, "why       deny: no rule matches, so the default applies (default-deny)"));
  CHECK(contains(d.out, "share attribute conditional is not one of [unconditional]"));
  CHECK(contains(d.out, "needs an active share agreement; none given"));
}

TEST_CASE("policy check: agreements from a file, in and after their term") {
  testing::TempDir dir;
  testing::write_text(dir.file("agreements.toml"), kAgreements);
  std::vector<std::string> base = {"--as",         "applicant:a1b2c3d4e5f60718",
                                   "--action",     "read",
                                   "--dataset",    "credit.penalty",
                                   "--purpose",    "credit-research",
                                   "--agreements", dir.file("agreements.toml")};
  auto in = base;
  in.insert(in.end(), {"--at", "2026-06-01"});
  auto r = check(in);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "rule      open-conditional-agreement  ("));
  CHECK(contains(r.out, "agreement KF-2026-0001\n"));
  CHECK(contains(r.out, "max rows 5000, groups under 10 suppressed, rate applicant"));
  CHECK(contains(r.out, "mask      conditional-anonymised\n"));
  CHECK(contains(r.out, "credit_code (credit_code): keep\n"));

  // Only the revoked agreement.
  auto revoked = base;
  revoked.insert(revoked.end(), {"--agreement", "KF-2026-0002", "--at", "2026-06-01"});
  r = check(revoked);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "agreement KF-2026-0002: is revoked"));

  auto after = base;
  after.insert(after.end(), {"--at", "2027-01-01T00:00:00+08:00", "--json"});
  r = check(after);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "\"decision\":\"deny\",\"rule\":\"default-deny\",\"rule_file\":null,"));
  CHECK(contains(r.out, "agreement KF-2026-0001: expired at 2026-12-31T16:00:00Z"));
  CHECK(contains(r.out, "\"policy_version\":\"2026.01.1\""));

  auto fields = base;
  fields.insert(fields.end(), {"--at", "2026-06-01", "--fields", "amount,decided_at", "--json"});
  r = check(fields);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "\"decision\":\"allow\",\"rule\":\"open-conditional-agreement\""));
  CHECK(contains(r.out, "\"mask\":\"conditional-anonymised\""));
  CHECK(contains(r.out, "{\"name\":\"credit_code\",\"pii\":\"credit_code\",\"mask\":\"keep\"}"));
  CHECK(
      contains(r.out, "\"limits\":{\"max_rows\":5000,\"k_threshold\":10,\"rate\":\"applicant\"}"));
  CHECK(contains(r.out, "\"agreement\":\"KF-2026-0001\""));
}

TEST_CASE("policy check: defaults to the source tree's policies from a build tree") {
  auto r = run_process({kCtl, "policy", "check", "--as", "licensed:5566", "--action", "read",
                        "--dataset", "economy.power_usage", "--all"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "rule      licensed-no-raw-rows  (" + kPolicies + "/policy/rules.toml:"));
  CHECK(contains(r.out, "rules (policy order; * = matched):"));
  CHECK(contains(r.out, "    allow  open-catalog  "));
}

TEST_CASE("policy check: usage errors exit 2") {
  auto bad_role = check({"--as", "mayor", "--action", "read", "--dataset", "geo.poi"});
  CHECK(bad_role.exit_code == 2);
  CHECK(contains(bad_role.err, "unknown role 'mayor'; roles: public, agent, agency"));
  auto bad_action = check({"--as", "public", "--action", "steal", "--dataset", "geo.poi"});
  CHECK(bad_action.exit_code == 2);
  CHECK(contains(bad_action.err, "unknown action 'steal'"));
  auto no_agency = check({"--as", "agency", "--action", "read", "--dataset", "geo.poi"});
  CHECK(no_agency.exit_code == 2);
  auto unknown = check({"--as", "public", "--action", "read", "--dataset", "no.such\x1b[31m"});
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.err, "dataset 'no.such\\x1b[31m' is in none of the 6 catalog entries"));
  CHECK_FALSE(contains(unknown.err, "\x1b"));
  auto offline = check(
      {"--as", "applicant:k", "--action", "read", "--dataset", "geo.poi", "--agreement", "KF-1"});
  CHECK(offline.exit_code == 2);
  CHECK(contains(offline.err, "--agreement needs --agreements FILE"));
  auto bad_time =
      check({"--as", "public", "--action", "read", "--dataset", "geo.poi", "--at", "yesterday"});
  CHECK(bad_time.exit_code == 2);
  CHECK(run_process({kCtl, "policy", "check", "--action", "read"}).exit_code == 2);
  CHECK(run_process({kCtl, "policy"}).exit_code == 2);
  auto help = run_process({kCtl, "policy", "check", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "--agreements"));
}

TEST_CASE("policy validate: a good policy, and every problem of a bad one") {
  auto ok = run_process({kCtl, "policy", "validate", kPolicies + "/policy"});
  CHECK(ok.exit_code == 0);
  CHECK(contains(ok.out, "policy 2026.01.1 valid: "));
  CHECK(contains(ok.out, "sha256 "));

  testing::TempDir dir;
  for (const char* f : {"policy.toml", "grades.toml", "masks.toml", "rates.toml"}) {
    testing::write_text(dir.file(f), testing::read_text(kPolicies + "/policy/" + std::string(f)));
  }
  testing::write_text(dir.file("rules.toml"), R"([[rule]]
id = "leak"
effect = "allow"
roles = ["public"]
actions = ["download"]
open = ["unconditional"]
mask = "share-masked"
)");
  auto bad = run_process({kCtl, "policy", "validate", dir.path()});
  CHECK(bad.exit_code == 1);
  CHECK(contains(bad.out, dir.file("rules.toml") +
                              ":7: rule 'leak': opens data to public under mask profile "
                              "'share-masked', which does not anonymise: citizen_id = keep (R-15"));
  CHECK(run_process({kCtl, "policy", "validate", dir.file("nope")}).exit_code == 2);
}

// gongshud reads alerts.toml and calendar.toml with the policy and refuses a reload for a
// mistake in either, so validate and check must refuse them too, naming file:line.
TEST_CASE("policy validate and check: alerts.toml and calendar.toml are read with the policy") {
  testing::TempDir dir;
  for (const char* f : {"policy.toml", "grades.toml", "masks.toml", "rates.toml", "rules.toml",
                        "alerts.toml", "calendar.toml"}) {
    testing::write_text(dir.file(f), testing::read_text(kPolicies + "/policy/" + std::string(f)));
  }
  auto validate = [&] { return run_process({kCtl, "policy", "validate", dir.path()}); };
  auto check_in_dir = [&] {
    return run_process({kCtl, "policy", "check", "--policy-dir", dir.path(), "--catalog",
                        kPolicies + "/catalog", "--as", "public", "--action", "download",
                        "--dataset", "geo.poi", "--at", "2026-03-02T12:00:00+08:00"});
  };
  auto ok = validate();
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(check_in_dir().exit_code == 0);

  const std::string alerts = testing::read_text(kPolicies + "/policy/alerts.toml");
  testing::write_text(dir.file("alerts.toml"),
                      alerts + "\n[[alert]]\nname = \"x\"\nkind = \"no_such_kind\"\n");
  auto bad_alerts = validate();
  INFO(bad_alerts.out << bad_alerts.err);
  CHECK(bad_alerts.exit_code == 1);
  CHECK(contains(bad_alerts.out, dir.file("alerts.toml") + ":"));
  auto check_bad_alerts = check_in_dir();
  CHECK(check_bad_alerts.exit_code == 2);
  CHECK(contains(check_bad_alerts.err, dir.file("alerts.toml") + ":"));
  testing::write_text(dir.file("alerts.toml"), alerts);

  const std::string calendar = testing::read_text(kPolicies + "/policy/calendar.toml");
  testing::write_text(dir.file("calendar.toml"),
                      calendar + "\n[[holiday]]\nname = \"x\"\ndates = [\"2026-02-30\"]\n");
  auto bad_calendar = validate();
  INFO(bad_calendar.out << bad_calendar.err);
  CHECK(bad_calendar.exit_code == 1);
  CHECK(contains(bad_calendar.out, dir.file("calendar.toml") + ":"));
  CHECK(check_in_dir().exit_code == 2);
}

}  // namespace
}  // namespace gongshu::ctl
