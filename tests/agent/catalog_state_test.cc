// The agent honours the catalog workflow (R-10, issue 15): the real gongshu-agent binary,
// enrolled with a real gongshud (in this process, tests/daemon/daemon_fixture.h), learns each of
// its agency's datasets' state at catalog refresh and refuses records for one that is a draft,
// submitted, rejected or retired — `submit` whole, naming the dataset and its state, and the
// drop directory record by record (the agent's own rejected store says why) — while an approved
// dataset's records are spooled and delivered.
#include <csignal>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/catalog/dataset.h"
#include "core/util/fd.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::agent {
namespace {

using daemon::testing::ApiClient;
using daemon::testing::DaemonFixture;
using gongshu::testing::run_process;
using gongshu::testing::RunResult;
using nlohmann::json;

const std::string kAgent = gongshu::testing::binary_path("bin/gongshu-agent");

v1::DatasetEntry household_as(const std::string& id) {
  std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml";
  auto text = read_file(path, 1 << 20);
  REQUIRE(text);
  auto entry = catalog::parse_dataset_toml(as_chars(*text), path);
  REQUIRE(entry);
  entry->set_id(id);
  return *entry;
}

void call(ApiClient& c, v1::ApiRequest req) {
  auto resp = c.call(std::move(req));
  INFO(resp.error().message());
  REQUIRE(resp.error().code() == v1::API_OK);
}

void submit(ApiClient& c, const std::string& id, bool draft = false) {
  v1::ApiRequest req;
  *req.mutable_catalog_submit()->mutable_entry() = household_as(id);
  req.mutable_catalog_submit()->set_draft(draft);
  call(c, req);
}

void review(ApiClient& c, const std::string& id, bool approve) {
  v1::ApiRequest req;
  req.mutable_catalog_review()->set_id(id);
  req.mutable_catalog_review()->set_approve(approve);
  req.mutable_catalog_review()->set_note("reviewed");
  call(c, req);
}

std::string households(int first, int n) {
  std::string out;
  for (int i = first; i < first + n; ++i) {
    const std::string cid = daemon::testing::citizen_id(i);
    out += "{\"record_key\":\"hh-" + std::to_string(i) + "\",\"fields\":{\"citizen_id\":\"" + cid +
           "\",\"name\":\"张三\",\"household_size\":3}}\n";
  }
  return out;
}

struct World {
  DaemonFixture f;
  std::string config = f.dir.file("agent.toml");
  std::string drop = f.dir.file("drop");
  std::unique_ptr<ApiClient> user, reviewer;

  World() {
    f.add_agency("sjz-gongan", "石家庄市公安局");
    f.add_agency("sjz-shuju", "石家庄市数据资源局");
    user = f.client(f.add_principal("agency", "sjz-gongan"));
    reviewer = f.client(f.add_principal("reviewer", "sjz-shuju"));
    // One dataset in each state the catalog can show an agency.
    submit(*user, "ds.draft", /*draft=*/true);
    submit(*user, "ds.submitted");
    submit(*user, "ds.rejected");
    review(*reviewer, "ds.rejected", false);
    submit(*user, "ds.retired");
    review(*reviewer, "ds.retired", true);
    v1::ApiRequest retire;
    retire.mutable_catalog_retire()->set_id("ds.retired");
    retire.mutable_catalog_retire()->set_note("withdrawn");
    call(*user, retire);
    submit(*user, "ds.approved");
    review(*reviewer, "ds.approved", true);

    std::filesystem::create_directories(drop);
    gongshu::testing::write_text(config, "[agent]\nstate_dir = \"" + f.dir.file("agent-state") +
                                             "\"\ndrop_dir = \"" + drop +
                                             "\"\n[batch]\nmax_records = 100\nmax_delay_ms = 20\n"
                                             "[limits]\ndrop_rescan_ms = 100\n");
    auto en = agent({"enroll", f.token("sjz-gongan")});
    INFO(en.out << en.err);
    REQUIRE(en.exit_code == 0);
  }
  RunResult agent(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.push_back("--config");
    args.push_back(config);
    return run_process(args);
  }
};

const std::vector<std::pair<std::string, std::string>> kRefused = {
    {"ds.draft", "is draft (草稿)"},
    {"ds.submitted", "is submitted (已提交)"},
    {"ds.rejected", "is rejected (已驳回)"},
    {"ds.retired", "is retired (已停用)"}};

TEST_CASE("agent: catalog refresh learns each dataset's state; submit refuses those not approved") {
  World w;
  auto refreshed = w.agent({"catalog", "refresh"});
  INFO(refreshed.out << refreshed.err);
  REQUIRE(refreshed.exit_code == 0);
  CHECK(refreshed.out.find("5 datasets cached") != std::string::npos);
  for (const auto& [id, state] : kRefused) {
    CHECK(refreshed.out.find("refused: dataset '" + id + "' " + state) != std::string::npos);
  }
  CHECK(refreshed.out.find("'ds.approved'") == std::string::npos);

  auto listed = w.agent({"catalog", "list", "--json"});
  REQUIRE(listed.exit_code == 0);
  for (const auto& d : json::parse(listed.out)) {
    CHECK(d.at("accepts_records") == (d.at("id") == "ds.approved"));
  }

  const std::string file = w.f.dir.file("records.jsonl");
  gongshu::testing::write_text(file, households(1, 3));
  for (const auto& [id, state] : kRefused) {
    INFO(id);
    auto r = w.agent({"submit", "--dataset", id, file, "--json"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("dataset '" + id + "' " + state + " in the catalog, not approved") !=
          std::string::npos);
    CHECK(r.out.empty());  // nothing spooled, no summary
  }
  auto unknown = w.agent({"submit", "--dataset", "ds.unknown", file});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("'ds.unknown' is not in this agent's catalog") != std::string::npos);
  auto ok = w.agent({"submit", "--dataset", "ds.approved", file, "--json"});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("\"accepted\":3") != std::string::npos);
  auto status = w.agent({"status", "--json", "--no-probe"});
  CHECK(status.out.find("\"spooled\":3,") != std::string::npos);

  // Approval reaches the agent at its next refresh: a submitted dataset approved meanwhile is
  // accepted (submit asks the daemon again before refusing).
  review(*w.reviewer, "ds.submitted", true);
  auto now = w.agent({"submit", "--dataset", "ds.submitted", file, "--json"});
  INFO(now.out << now.err);
  CHECK(now.exit_code == 0);
  CHECK(now.out.find("\"accepted\":3") != std::string::npos);
}

TEST_CASE("agent: the drop directory refuses records of a dataset not approved, record by record") {
  World w;
  // The file for the approved dataset is delivered; the others' records are refused by the
  // agent itself, each with its dataset's state, and kept in its rejected store.
  gongshu::testing::write_text(w.drop + "/ds.approved--a.jsonl", households(10, 2));
  int n = 20;
  for (const auto& [id, state] : kRefused) {
    gongshu::testing::write_text(w.drop + "/" + id + "--a.jsonl", households(n, 1));
    n += 1;
  }
  gongshu::testing::ChildProcess run({kAgent, "run", "--config", w.config},
                                     w.f.dir.file("agent-run.log"));
  REQUIRE(gongshu::testing::wait_until(
      [&] {
        for (const auto& [id, state] : kRefused) {
          if (!std::filesystem::exists(w.drop + "/done/" + id + "--a.jsonl")) return false;
        }
        return std::filesystem::exists(w.drop + "/done/ds.approved--a.jsonl");
      },
      std::chrono::seconds(30)));
  // The approved dataset's two records reach the daemon.
  REQUIRE(gongshu::testing::wait_until(
      [&] {
        v1::ApiRequest q;
        q.mutable_query()->set_dataset("ds.approved");
        auto resp = w.user->call(q);
        return resp.error().code() == v1::API_OK && resp.query().rows_size() == 2;
      },
      std::chrono::seconds(30)));
  run.signal(SIGTERM);
  CHECK(run.wait() == 0);

  auto rejected = w.agent({"rejected", "list", "--json"});
  INFO(rejected.out << rejected.err);
  REQUIRE(rejected.exit_code == 0);
  auto all = json::parse(rejected.out);
  REQUIRE(all.size() == kRefused.size());
  for (const auto& [id, state] : kRefused) {
    bool found = false;
    for (const auto& r : all) {
      if (r.at("dataset") != id) continue;
      found = true;
      CHECK(r.at("code") == "RECORD_STATUS_DATASET_NOT_APPROVED");
      CHECK(r.at("by") == "agent");
      CHECK(r.at("reason").get<std::string>().find("dataset '" + id + "' " + state) !=
            std::string::npos);
    }
    CHECK(found);
  }
}

}  // namespace
}  // namespace gongshu::agent
