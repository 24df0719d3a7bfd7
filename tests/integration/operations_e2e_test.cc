// Issue 6 with real processes: `gongshuctl status` against a gongshud fed by a real
// gongshu-agent, which reports its spool backlog beside its batches.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/platform.h"

namespace gongshu::testing {

TEST_CASE("status shows a real agent's batches, last-seen time and reported backlog") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  std::string file = p.dir.file("records.jsonl");
  write_households(file, 0, 3000);
  auto submitted = p.agent(agent, {"submit", "--dataset", "population.household", file});
  INFO(submitted.out << submitted.err);
  REQUIRE(submitted.exit_code == 0);
  auto run = p.run_agent(agent);
  REQUIRE(wait_until([&] { return p.counts("population.household").records >= 3000; },
                     std::chrono::seconds(120)));

  auto r = p.ctl({"status", "--json"});
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["ingest"]["records_accepted"] == 3000);
  CHECK(j["ingest"]["records_last_minute"].get<uint64_t>() <= 3000);
  CHECK(j["ingest"]["rate_since_start"].get<double>() > 0);
  CHECK(j["queues"]["in_pipeline"] == 0);
  REQUIRE(j["agents"].size() == 1);
  const auto& a = j["agents"][0];
  CHECK(a["agency"] == "sjz-gongan");
  CHECK(a["batches"].get<uint64_t>() >= 3);  // at most 1,000 records a batch
  CHECK(a["last_seen_ms"].get<int64_t>() > 0);
  // Each batch carried the records spooled and not yet acknowledged when it was sent: at least
  // its own.
  REQUIRE(a["reported_backlog"].is_number());
  CHECK(a["reported_backlog"].get<uint64_t>() >= 1);
  CHECK(a["reported_backlog"].get<uint64_t>() <= 3000);

  auto text = p.ctl({"status"});
  CHECK(text.out.find("REPORTED BACKLOG") != std::string::npos);
  CHECK(text.out.find("sjz-gongan") != std::string::npos);
}

}  // namespace gongshu::testing
