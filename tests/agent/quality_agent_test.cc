// Quality rules at the agent: the real gongshu-agent binary, enrolled with a real gongshud
// (in this process, tests/daemon/daemon_fixture.h), learns a dataset's field rules at catalog
// refresh (they travel in the catalog entry) and refuses, at intake, the one CSV row that breaks
// one — naming the record, the field, the rule and the value's problem — while the rest spool.
// The pattern rule (RE2) likewise, with the shipped credit.penalty entry.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/catalog/dataset.h"
#include "core/util/fd.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::agent {
namespace {

using daemon::testing::DaemonFixture;
using gongshu::testing::run_process;
using gongshu::testing::RunResult;
using nlohmann::json;

const std::string kAgent = gongshu::testing::binary_path("bin/gongshu-agent");

TEST_CASE("agent: a CSV row breaking a catalog quality rule is refused alone, with the reason") {
  DaemonFixture f;
  f.add_agency("sjz-gongan", "石家庄市公安局");
  f.add_agency("sjz-shuju", "石家庄市数据资源局");
  auto user = f.client(f.add_principal("agency", "sjz-gongan"));
  auto reviewer = f.client(f.add_principal("reviewer", "sjz-shuju"));
  // The shipped household entry (household_size 1..99) with a text rule added: the name is
  // 2..20 characters.
  std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml";
  auto text = read_file(path, 1 << 20);
  REQUIRE(text);
  auto entry = catalog::parse_dataset_toml(as_chars(*text), path);
  REQUIRE(entry);
  entry->set_id("ds.quality");
  REQUIRE(entry->fields(1).name() == "name");
  entry->mutable_fields(1)->mutable_quality()->set_min_length(2);
  entry->mutable_fields(1)->mutable_quality()->set_max_length(20);
  v1::ApiRequest submit;
  *submit.mutable_catalog_submit()->mutable_entry() = *entry;
  REQUIRE(user->call(submit).error().code() == v1::API_OK);
  v1::ApiRequest review;
  review.mutable_catalog_review()->set_id("ds.quality");
  review.mutable_catalog_review()->set_approve(true);
  review.mutable_catalog_review()->set_note("reviewed");
  REQUIRE(reviewer->call(review).error().code() == v1::API_OK);

  const std::string config = f.dir.file("agent.toml");
  gongshu::testing::write_text(config, "[agent]\nstate_dir = \"" + f.dir.file("agent-state") +
                                           "\"\n[batch]\nmax_records = 100\nmax_delay_ms = 20\n");
  auto agent = [&](std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.push_back("--config");
    args.push_back(config);
    return run_process(args);
  };
  auto en = agent({"enroll", f.token("sjz-gongan")});
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  REQUIRE(agent({"catalog", "refresh"}).exit_code == 0);

  const std::string csv = f.dir.file("households.csv");
  gongshu::testing::write_text(csv,
                               "record_key,citizen_id,name,household_size\n"
                               "hh-1," +
                                   daemon::testing::citizen_id(1) +
                                   ",张三,3\n"
                                   "hh-2," +
                                   daemon::testing::citizen_id(2) +
                                   ",李四,120\n"
                                   "hh-3," +
                                   daemon::testing::citizen_id(3) +
                                   ",王五,99\n"
                                   "hh-4," +
                                   daemon::testing::citizen_id(4) + ",赵,1\n");
  auto r = agent({"submit", "--dataset", "ds.quality", csv, "--json"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);  // some rows refused
  auto out = json::parse(r.out);
  CHECK(out.at("accepted") == 2);
  CHECK(out.at("rejected") == 2);

  auto rejected = agent({"rejected", "list", "--json"});
  INFO(rejected.out << rejected.err);
  REQUIRE(rejected.exit_code == 0);
  std::map<std::string, json> by_key;
  for (const auto& x : json::parse(rejected.out)) by_key[x.dump()] = x;
  REQUIRE(by_key.size() == 2);
  const std::string size_reason =
      "record 'hh-2': field 'household_size': range rule: 120 is above the maximum 99";
  // The name is personal: its length is reported, its value withheld.
  const std::string name_reason =
      "record 'hh-4': field 'name': length rule: 1 characters, the rule wants 2..20; value "
      "(value withheld: personal field)";
  int found = 0;
  for (const auto& [_, x] : by_key) {
    CHECK(x.at("code") == "RECORD_STATUS_QUALITY");
    CHECK(x.at("by") == "agent");
    const std::string reason = x.at("reason");
    found += reason == size_reason || reason == name_reason;
  }
  CHECK(found == 2);
}

TEST_CASE("agent: a row breaking a pattern rule (RE2) is refused at intake, naming the rule") {
  DaemonFixture f;
  f.add_examples();
  // The shipped credit.penalty entry: decision_no must look like 石市监罚〔2026〕12号.
  const std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/credit_penalty.toml";
  auto text = read_file(path, 1 << 20);
  REQUIRE(text);
  auto entry = catalog::parse_dataset_toml(as_chars(*text), path);
  REQUIRE(entry);
  REQUIRE(entry->fields(1).name() == "decision_no");
  REQUIRE_FALSE(entry->fields(1).quality().pattern().empty());
  v1::ApiRequest add;
  *add.mutable_catalog_add()->mutable_entry() = *entry;
  REQUIRE(f.op->call(add).error().code() == v1::API_OK);

  const std::string config = f.dir.file("agent.toml");
  gongshu::testing::write_text(config, "[agent]\nstate_dir = \"" + f.dir.file("agent-state") +
                                           "\"\n[batch]\nmax_records = 100\nmax_delay_ms = 20\n");
  auto agent = [&](std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.push_back("--config");
    args.push_back(config);
    return run_process(args);
  };
  auto en = agent({"enroll", f.token("sjz-shichang")});
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  REQUIRE(agent({"catalog", "refresh"}).exit_code == 0);

  const std::string csv = f.dir.file("penalties.csv");
  gongshu::testing::write_text(csv,
                               "record_key,credit_code,decision_no,amount\n"
                               "pen-1,91350100M000100Y43,石市监罚〔2026〕12号,20000\n"
                               "pen-2,91350100M000100Y43,第12号,500\n"
                               "pen-3,91350100M000100Y43,冀石市监罚字[2025]第3号,100\n");
  auto r = agent({"submit", "--dataset", "credit.penalty", csv, "--json"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);  // a row refused
  auto out = json::parse(r.out);
  CHECK(out.at("accepted") == 2);
  CHECK(out.at("rejected") == 1);

  auto rejected = agent({"rejected", "list", "--json"});
  INFO(rejected.out << rejected.err);
  REQUIRE(rejected.exit_code == 0);
  auto list = json::parse(rejected.out);
  REQUIRE(list.size() == 1);
  CHECK(list[0].at("code") == "RECORD_STATUS_QUALITY");
  CHECK(list[0].at("by") == "agent");
  CHECK(list[0].at("reason") ==
        "record 'pen-2': field 'decision_no': pattern rule: '第12号' does "
        "not match the pattern '" +
            entry->fields(1).quality().pattern() + "'");
}

}  // namespace
}  // namespace gongshu::agent
