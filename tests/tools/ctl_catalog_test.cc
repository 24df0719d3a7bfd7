// gongshuctl catalog submit | pending | review | retire | history, driven through the real
// binary against an in-process gongshud (tests/daemon/daemon_fixture.h): a county agency's entry
// through the county and then the city reviewer, the refusals on the way, the history, and
// ingest refusing records for a dataset that is not approved with its state as the reason.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/crypto/key_file.h"
#include "core/util/fd.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::ctl {
namespace {

using daemon::testing::DaemonFixture;
using daemon::testing::TestAgent;
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

struct Platform {
  Platform() {
    for (auto [id, region] : {std::pair{"sjz-shuju", "130100"},
                              {"changan-gongan", "130102"},
                              {"changan-shuju", "130102"},
                              {"sjz-minzheng", "130100"}}) {
      v1::ApiRequest req;
      auto* a = req.mutable_agency_add()->mutable_agency();
      a->set_id(id);
      a->set_name(std::string("机构 ") + id);
      a->set_type("government");
      a->set_region_code(region);
      REQUIRE(f.op->call(req).error().code() == v1::API_OK);
    }
    env = {{"GONGSHU_API", f.daemon->api_endpoint()},
           {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()}};
  }
  RunResult ctl(const std::string& key, std::vector<std::string> args) {
    args.insert(args.begin(), kCtl);
    auto e = env;
    e["GONGSHU_KEY"] = key;
    return gongshu::testing::run_process(args, "", e);
  }
  // A key made by `gongshuctl keygen` and registered by the operator with `principal add`.
  std::string principal(const std::string& role, const std::string& agency) {
    std::string path = f.dir.file(role + "-" + agency + ".key");
    auto k = parse(
        gongshu::testing::run_process({kCtl, "keygen", "--kind", role, "--out", path, "--json"}));
    CHECK(k.at("kind") == role);
    auto j = parse(ctl(f.operator_key_path, {"principal", "add", "--role", role, "--public-key",
                                             k.at("public_key"), "--agency", agency, "--json"}));
    CHECK(j.at("role") == role);
    return path;
  }

  DaemonFixture f;
  std::map<std::string, std::string> env;
};

TEST_CASE("gongshuctl catalog: a county entry through the county and the city reviewer") {
  Platform p;
  const std::string user = p.principal("agency", "changan-gongan");
  const std::string county = p.principal("reviewer", "changan-shuju");
  const std::string city = p.principal("reviewer", "sjz-shuju");

  // The shipped household entry, provided by the county's bureau.
  auto text = read_file(
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml", 1 << 20);
  REQUIRE(text);
  std::string toml(as_chars(*text));
  toml.replace(toml.find("sjz-gongan"), std::string("sjz-gongan").size(), "changan-gongan");
  const std::string file = p.f.dir.file("household.toml");
  std::ofstream(file) << toml;

  auto submitted = parse(p.ctl(user, {"catalog", "submit", file, "--json"}));
  REQUIRE(submitted.size() == 1);
  CHECK(submitted[0].at("state") == "submitted");
  CHECK(submitted[0].at("awaiting") == "county reviewer 130102");
  CHECK(submitted[0].at("version") == 1);
  // Another agency's entry is refused (exit 1), as is a second submission while one is open.
  CHECK(p.ctl(city, {"catalog", "submit", file}).exit_code == 1);
  CHECK(p.ctl(user, {"catalog", "submit", file}).exit_code == 1);

  // Records for it are refused at ingest, naming its state.
  {
    auto agent_key = p.f.enroll("changan-gongan");
    TestAgent agent(p.f.ctx, agent_key, p.f.daemon->public_key(), p.f.daemon->ingest_endpoint(),
                    "changan-gongan");
    agent.send(1, {daemon::testing::household("h-1", daemon::testing::citizen_id(1), "张三")});
    auto ack = agent.ack();
    REQUIRE(ack);
    CHECK(ack->accepted() == 0);
    REQUIRE(ack->statuses_size() == 1);
    CHECK(ack->statuses(0).reason().find("submitted") != std::string::npos);
  }

  CHECK(parse(p.ctl(city, {"catalog", "pending", "--json"})).empty());
  auto queue = p.ctl(county, {"catalog", "pending"});
  REQUIRE(queue.exit_code == 0);
  CHECK(queue.out.find("STATE 状态") != std::string::npos);
  CHECK(queue.out.find("population.household") != std::string::npos);

  auto skipped = p.ctl(
      city, {"catalog", "review", "population.household", "--approve", "--note", "looks fine"});
  CHECK(skipped.exit_code == 1);
  CHECK(skipped.err.find("county reviewer 130102") != std::string::npos);
  CHECK(p.ctl(county,
              {"catalog", "review", "population.household", "--approve", "--reject", "--note", "x"})
            .exit_code != 0);

  auto c1 = parse(p.ctl(county, {"catalog", "review", "population.household", "--approve", "--note",
                                 "县级审核通过", "--json"}));
  CHECK(c1[0].at("state") == "county_approved");
  auto c2 = parse(p.ctl(city, {"catalog", "review", "population.household", "--approve", "--note",
                               "市级审核通过", "--json"}));
  CHECK(c2[0].at("state") == "approved");

  auto h =
      parse(p.ctl(p.f.operator_key_path, {"catalog", "history", "population.household", "--json"}));
  REQUIRE(h.size() == 1);
  REQUIRE(h[0].at("steps").size() == 3);
  CHECK(h[0].at("steps")[1].at("note") == "县级审核通过");
  CHECK(h[0].at("steps")[2].at("region") == "130100");
  auto table = p.ctl(user, {"catalog", "history", "population.household"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("已批准") != std::string::npos);

  // R-07: the city civil affairs bureau collecting the same items is flagged; the reviewer
  // acknowledges the flag to approve.
  const std::string minzheng = p.principal("agency", "sjz-minzheng");
  std::string copy = toml;
  copy.replace(copy.find("changan-gongan"), std::string("changan-gongan").size(), "sjz-minzheng");
  copy.replace(copy.find("population.household"), std::string("population.household").size(),
               "minzheng.residents");
  const std::string copy_file = p.f.dir.file("residents.toml");
  std::ofstream(copy_file) << copy;
  auto flagged = parse(p.ctl(minzheng, {"catalog", "submit", copy_file, "--json"}));
  REQUIRE(flagged[0].at("overlaps").size() == 1);
  CHECK(flagged[0].at("overlaps")[0].at("dataset") == "population.household");
  auto pending = p.ctl(city, {"catalog", "pending"});
  CHECK(pending.out.find("population.household 1000/1000") != std::string::npos);
  auto refused =
      p.ctl(city, {"catalog", "review", "minzheng.residents", "--approve", "--note", "ok"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("R-07") != std::string::npos);
  auto acked = parse(p.ctl(city, {"catalog", "review", "minzheng.residents", "--approve", "--note",
                                  "ok", "--ack", "population.household=低保核查需要", "--json"}));
  CHECK(acked[0].at("state") == "approved");
  CHECK(acked[0].at("overlaps")[0].at("reason") == "低保核查需要");

  auto whole = p.ctl(p.f.operator_key_path, {"catalog", "overlaps"});
  REQUIRE(whole.exit_code == 0);
  CHECK(whole.out.find("重合度") != std::string::npos);
  CHECK(whole.out.find("minzheng.residents") != std::string::npos);
  CHECK(parse(p.ctl(p.f.operator_key_path, {"catalog", "overlaps", "--json"})).size() == 2);

  auto retired = parse(p.ctl(user, {"catalog", "retire", "population.household", "--note",
                                    "no longer collected", "--json"}));
  CHECK(retired[0].at("state") == "retired");

  // Every step is audited.
  int steps = 0;
  for (const auto& e : p.f.audit_entries()) {
    if (e.dataset() == "population.household" && e.action().rfind("catalog_", 0) == 0 &&
        e.decision() != v1::DECISION_DENY)
      ++steps;
  }
  CHECK(steps == 4);
}

const char* kSubsidyToml =
    R"(# 补贴发放信息: keyed by citizen ID, with the applicant's name and birth date.
[dataset]
id = "changan.subsidy"
name = "补贴发放信息"
provider = "changan-gongan"
grade = "general-2"
open = "closed"
share = "conditional"
update_frequency = "monthly"
subject = "person"
category = "topic"

[[field]]
name = "sfzh"
type = "text"
pii = "citizen_id"
required = true
description = "身份证号"

[[field]]
name = "xm"
type = "text"
pii = "name"
description = "申领人"

[[field]]
name = "csrq"
type = "date"
pii = "birth_date"
description = "申领人生日"

[[field]]
name = "amount"
type = "integer"
description = "补贴金额"

[[field]]
name = "kind"
type = "text"
description = "补贴类别"
)";

TEST_CASE("gongshuctl catalog authority: a reviewer set up with the real commands names a source") {
  Platform p;
  const std::string& op = p.f.operator_key_path;
  // The statistics bureau's data office, registered with its region: its reviewers are the
  // city's.
  auto added = p.ctl(op, {"agency", "add", "--id", "sjz-tongji", "--name", "石家庄市统计局",
                          "--type", "government", "--region", "130100"});
  INFO(added.out << added.err);
  REQUIRE(added.exit_code == 0);
  const std::string path = p.f.dir.file("tongji-reviewer.key");
  auto k = parse(gongshu::testing::run_process(
      {kCtl, "keygen", "--kind", "reviewer", "--out", path, "--json"}));
  CHECK(k.at("kind") == "reviewer");
  auto kf = crypto::load_key_file(path);
  REQUIRE(kf);
  CHECK(kf->kind == crypto::KeyKind::kReviewer);
  auto registered = parse(p.ctl(op, {"principal", "add", "--role", "reviewer", "--public-key",
                                     k.at("public_key"), "--agency", "sjz-tongji", "--json"}));
  CHECK(registered.at("role") == "reviewer");
  const std::string& reviewer = path;
  const std::string county = p.principal("reviewer", "changan-shuju");
  const std::string user = p.principal("agency", "changan-gongan");

  // The household register, provided by the civil affairs bureau here, by the direct path.
  auto text = read_file(
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml", 1 << 20);
  REQUIRE(text);
  std::string toml(as_chars(*text));
  toml.replace(toml.find("sjz-gongan"), std::string("sjz-gongan").size(), "sjz-minzheng");
  const std::string file = p.f.dir.file("household.toml");
  std::ofstream(file) << toml;
  REQUIRE(p.ctl(op, {"catalog", "add", file}).exit_code == 0);

  const std::vector<std::string> set = {"catalog",   "authority",
                                        "set",       "person.identity",
                                        "--name",    "居民身份基础信息",
                                        "--pii",     "citizen_id,name,birth_date",
                                        "--dataset", "population.household",
                                        "--note",    "人口基础库为身份信息权威来源",
                                        "--json"};
  auto denied = p.ctl(county, set);
  CHECK(denied.exit_code == 1);
  CHECK(denied.err.find("city reviewer") != std::string::npos);
  auto bad_kind = set;
  bad_kind[7] = "citizen_id,wizard";
  auto usage = p.ctl(reviewer, bad_kind);
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.find("'wizard'") != std::string::npos);
  auto named = parse(p.ctl(reviewer, set));
  REQUIRE(named.size() == 1);
  CHECK(named[0].at("dataset") == "population.household");
  CHECK(named[0].at("provider") == "sjz-minzheng");
  CHECK(named[0].at("pii") == json::array({"citizen_id", "name", "birth_date"}));
  CHECK(named[0].at("set_by_role") == "reviewer");

  auto listed = p.ctl(user, {"catalog", "authority", "list", "--pii", "birth_date"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find("SOURCE 权威来源") != std::string::npos);
  CHECK(listed.out.find("population.household") != std::string::npos);
  CHECK(parse(p.ctl(user, {"catalog", "authority", "list", "--field", "phone", "--json"})).empty());

  // A county bureau's subsidy register collects the identity item again: flagged with its
  // source, acknowledged by the reviewers to approve.
  const std::string subsidy = p.f.dir.file("subsidy.toml");
  std::ofstream(subsidy) << kSubsidyToml;
  auto flagged = parse(p.ctl(user, {"catalog", "submit", subsidy, "--json"}));
  REQUIRE(flagged[0].at("overlaps").size() == 1);
  CHECK(flagged[0].at("overlaps")[0].at("dataset") == "population.household");
  CHECK(flagged[0].at("overlaps")[0].at("authorities") == json::array({"person.identity"}));
  auto queue = p.ctl(county, {"catalog", "pending"});
  CHECK(queue.out.find("权威来源 person.identity") != std::string::npos);
  auto unacked =
      p.ctl(county, {"catalog", "review", "changan.subsidy", "--approve", "--note", "ok"});
  CHECK(unacked.exit_code != 0);
  CHECK(unacked.err.find("R-07") != std::string::npos);
  auto c1 =
      parse(p.ctl(county, {"catalog", "review", "changan.subsidy", "--approve", "--note",
                           "县级审核", "--ack", "population.household=申领核验需要", "--json"}));
  CHECK(c1[0].at("state") == "county_approved");
  auto c2 = parse(p.ctl(reviewer, {"catalog", "review", "changan.subsidy", "--approve", "--note",
                                   "市级审核", "--json"}));
  CHECK(c2[0].at("state") == "approved");

  auto removed =
      p.ctl(op, {"catalog", "authority", "remove", "person.identity", "--note", "改由新库"});
  INFO(removed.err);
  REQUIRE(removed.exit_code == 0);
  CHECK(removed.out.find("no longer sourced from population.household") != std::string::npos);
  CHECK(parse(p.ctl(op, {"catalog", "authority", "list", "--json"})).empty());
  int audited = 0;
  for (const auto& e : p.f.audit_entries()) {
    if (e.action() == "catalog_authority_set" && e.decision() != v1::DECISION_DENY) ++audited;
    if (e.action() == "catalog_authority_remove") ++audited;
  }
  CHECK(audited == 2);
}

}  // namespace
}  // namespace gongshu::ctl
