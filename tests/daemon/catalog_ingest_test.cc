// Ingest honours the catalog workflow (R-10, issue 15): a running gongshud refuses records for a
// dataset in each state that is not in force with that state as the reason, and keeps accepting
// records for an approved dataset while a newer version of it is under review.
#include <catch2/catch.hpp>

#include "core/catalog/dataset.h"
#include "core/util/fd.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::ApiClient;
using testing::DaemonFixture;
using testing::TestAgent;

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

v1::ApiResponse call(ApiClient& c, v1::ApiRequest req, v1::ApiErrorCode expected = v1::API_OK) {
  auto resp = c.call(std::move(req));
  INFO(resp.error().message());
  REQUIRE(resp.error().code() == expected);
  return resp;
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

TEST_CASE("catalog ingest: records for a dataset not in force are refused, naming its state") {
  DaemonFixture f;
  f.add_agency("sjz-gongan", "石家庄市公安局");
  f.add_agency("sjz-shuju", "石家庄市数据资源局");
  auto user = f.client(f.add_principal("agency", "sjz-gongan"));
  auto reviewer = f.client(f.add_principal("reviewer", "sjz-shuju"));

  submit(*user, "ds.draft", /*draft=*/true);
  submit(*user, "ds.submitted");
  submit(*user, "ds.rejected");
  review(*reviewer, "ds.rejected", false);
  submit(*user, "ds.retired");
  review(*reviewer, "ds.retired", true);
  {
    v1::ApiRequest req;
    req.mutable_catalog_retire()->set_id("ds.retired");
    req.mutable_catalog_retire()->set_note("withdrawn");
    call(*user, req);
  }
  // Approved, with version 2 under review: version 1 stays in force.
  submit(*user, "ds.approved");
  review(*reviewer, "ds.approved", true);
  submit(*user, "ds.approved");

  auto key = f.enroll("sjz-gongan");
  TestAgent agent(f.ctx, key, f.daemon->public_key(), f.daemon->ingest_endpoint(), "sjz-gongan");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ds.draft", "is draft"},
      {"ds.submitted", "is submitted"},
      {"ds.rejected", "is rejected"},
      {"ds.retired", "is retired"},
      {"ds.unknown", "is not in the catalog"},
      {"ds.approved", ""}};
  uint64_t seq = 0;
  for (const auto& [dataset, reason] : cases) {
    INFO(dataset);
    auto r = testing::household("h-" + dataset, testing::citizen_id(int(seq) + 1), "张三");
    r.set_dataset(dataset);
    agent.send(++seq, {r});
    auto ack = agent.ack();
    REQUIRE(ack);
    if (reason.empty()) {
      CHECK(ack->accepted() == 1);
      continue;
    }
    CHECK(ack->accepted() == 0);
    REQUIRE(ack->statuses_size() == 1);
    CHECK(ack->statuses(0).reason().find("'" + dataset + "' " + reason) != std::string::npos);
  }
}

TEST_CASE("catalog ingest: a retired dataset's records stay readable, nothing new is accepted") {
  DaemonFixture f;
  f.add_agency("sjz-gongan", "石家庄市公安局");
  f.add_agency("sjz-shuju", "石家庄市数据资源局");
  auto user_key = f.add_principal("agency", "sjz-gongan");
  auto user = f.client(user_key);
  auto reviewer = f.client(f.add_principal("reviewer", "sjz-shuju"));
  submit(*user, "ds.old");
  review(*reviewer, "ds.old", true);

  auto key = f.enroll("sjz-gongan");
  TestAgent agent(f.ctx, key, f.daemon->public_key(), f.daemon->ingest_endpoint(), "sjz-gongan");
  const std::string cid = testing::citizen_id(7);
  auto r = testing::household("h-1", cid, "张三");
  r.set_dataset("ds.old");
  agent.send(1, {r});
  auto ack = agent.ack();
  REQUIRE(ack);
  REQUIRE(ack->accepted() == 1);

  {
    v1::ApiRequest req;
    req.mutable_catalog_retire()->set_id("ds.old");
    req.mutable_catalog_retire()->set_note("不再采集");
    call(*user, req);
  }
  // Nothing new is accepted...
  auto later = testing::household("h-2", testing::citizen_id(8), "李四");
  later.set_dataset("ds.old");
  agent.send(2, {later});
  ack = agent.ack();
  REQUIRE(ack);
  CHECK(ack->accepted() == 0);
  REQUIRE(ack->statuses_size() == 1);
  CHECK(ack->statuses(0).reason().find("'ds.old' is retired") != std::string::npos);

  // ... and what was stored stays readable under the policy (the provider's own data): a query,
  // a lookup by subject and a download each return the one record.
  v1::ApiRequest q;
  q.mutable_query()->set_dataset("ds.old");
  auto rows = call(*user, q);
  REQUIRE(rows.query().rows_size() == 1);
  CHECK(rows.query().rows(0).record().record_key() == "h-1");
  v1::ApiRequest l;
  l.mutable_lookup()->set_subject_id(cid);
  auto found = call(*user, l);
  bool listed = false;
  for (const auto& d : found.lookup().datasets()) {
    if (d.dataset() == "ds.old") listed = d.rows_size() == 1;
  }
  CHECK(listed);
  v1::ApiRequest d;
  d.mutable_download()->set_dataset("ds.old");
  auto chunk = call(*user, d);
  CHECK(chunk.download().rows_size() == 1);

  // A dataset never approved has nothing to read: it is not found.
  submit(*user, "ds.draft", /*draft=*/true);
  q.mutable_query()->set_dataset("ds.draft");
  auto none = call(*user, q, v1::API_NOT_FOUND);
  CHECK(none.error().message().find("ds.draft") != std::string::npos);
}

TEST_CASE("catalog: gongshud takes the city's region code from its configuration") {
  // A daemon configured for another city (石家庄 is 130100; here 130200): an agency of 130100 is
  // one of its counties, reviewed by that county first.
  testing::FixtureOptions options;
  options.city_region = "130200";
  DaemonFixture f(options);
  f.add_agency("sjz-gongan", "石家庄市公安局");  // region 130100
  auto user = f.client(f.add_principal("agency", "sjz-gongan"));
  v1::ApiRequest req;
  *req.mutable_catalog_submit()->mutable_entry() = household_as("ds.city");
  auto resp = call(*user, req);
  REQUIRE(resp.catalog_versions().versions_size() == 1);
  CHECK(resp.catalog_versions().versions(0).awaiting() == "county reviewer 130100");

  DaemonFixture plain;  // the default: 130100 is the city
  plain.add_agency("sjz-gongan", "石家庄市公安局");
  auto city_user = plain.client(plain.add_principal("agency", "sjz-gongan"));
  resp = call(*city_user, req);
  CHECK(resp.catalog_versions().versions(0).awaiting() == "city reviewer");
}

}  // namespace
}  // namespace gongshu::daemon
