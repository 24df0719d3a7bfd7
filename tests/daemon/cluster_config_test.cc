// [cluster] sync_timeout_ms and api_sync_wait_ms (docs/replication.md §4, §11): read, defaulted,
// and a bad value refused with the key (and the file and line) named.
#include <catch2/catch.hpp>
#include <string>

#include "daemon/config.h"

namespace gongshu::daemon {
namespace {

const std::string kHead =
    "[cluster]\nname = \"sjz\"\nnode = \"node-a\"\netcd = [\"http://10.0.0.1:2379\"]\n";

TEST_CASE("cluster config: sync_timeout_ms and api_sync_wait_ms default to 2000 and 5000") {
  auto c = parse_config(kHead, "gongshud.toml");
  REQUIRE(c);
  CHECK(c->cluster.sync_timeout_ms == 2000);
  CHECK(c->cluster.api_sync_wait_ms == 5000);
  auto set =
      parse_config(kHead + "sync_timeout_ms = 800\napi_sync_wait_ms = 1500\n", "gongshud.toml");
  REQUIRE(set);
  CHECK(set->cluster.sync_timeout_ms == 800);
  CHECK(set->cluster.api_sync_wait_ms == 1500);
}

TEST_CASE("cluster config: a sync wait or timeout out of range is refused, the key named") {
  struct Bad {
    std::string line;
    std::string says;
  };
  for (const Bad& b :
       {Bad{"sync_timeout_ms = 50",
            "cluster.sync_timeout_ms must be an integer "
            "in 200..60000"},
        Bad{"sync_timeout_ms = 600000", "cluster.sync_timeout_ms must be an integer"},
        Bad{"api_sync_wait_ms = 30000",
            "cluster.api_sync_wait_ms must be an integer in 200..25000"},
        Bad{"api_sync_wait_ms = \"5s\"",
            "cluster.api_sync_wait_ms must be an "
            "integer"}}) {
    INFO(b.line);
    auto c = parse_config(kHead + b.line + "\n", "gongshud.toml");
    REQUIRE(!c);
    CHECK_THAT(c.error().message(), Catch::Contains("gongshud.toml:5") && Catch::Contains(b.says));
  }
  // The wait must outlast the replacement of a stalled sync member.
  auto shorter = parse_config(kHead + "api_sync_wait_ms = 1500\n", "gongshud.toml");
  REQUIRE(!shorter);
  CHECK_THAT(shorter.error().message(),
             Catch::Contains("cluster.api_sync_wait_ms (1500) must be above "
                             "cluster.sync_timeout_ms (2000)"));
  auto equal =
      parse_config(kHead + "sync_timeout_ms = 3000\napi_sync_wait_ms = 3000\n", "gongshud.toml");
  REQUIRE(!equal);
  // Without a [cluster] section neither matters (single node: nothing waits).
  auto single = parse_config("[ingest]\nworkers = 2\n", "gongshud.toml");
  REQUIRE(single);
  CHECK(!single->cluster.enabled);
}

}  // namespace
}  // namespace gongshu::daemon
