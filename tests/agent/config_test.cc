#include <catch2/catch.hpp>

#include "agent/config.h"

using namespace gongshu;
using namespace gongshu::agent;

TEST_CASE("config: defaults and overrides", "[agent][config]") {
  auto c = parse_config(R"(
[agent]
state_dir = "state"
ipc = "ipc:///run/a.sock"
[batch]
max_records = 500
)",
                        "/etc/gongshu/agent.toml");
  REQUIRE(c);
  CHECK(c->state_dir == "/etc/gongshu/state");
  CHECK(c->key_file == "/etc/gongshu/state/agent.key");
  CHECK(c->ipc_path == "/run/a.sock");
  CHECK(c->batch.max_records == 500);
  CHECK(c->batch.window == 8);
  CHECK(c->batch.max_delay_ms == 100);
}

TEST_CASE("config: errors name file and line", "[agent][config]") {
  auto c = parse_config("[agent]\nstate_dir = \"/x\"\n[batch]\nwindow = 0\n", "a.toml");
  REQUIRE_FALSE(c);
  CHECK(c.error().message() == "a.toml:4: [batch] window: must be 1..64");
  auto d = parse_config("[agent]\nstate_dir = \"/x\"\nstate_dri = 1\n", "a.toml");
  REQUIRE_FALSE(d);
  CHECK(d.error().message().find("a.toml:3:") == 0);
  auto e = parse_config("[agent\n", "a.toml");
  REQUIRE_FALSE(e);
  CHECK(e.error().message().find("a.toml:1:") == 0);
  auto f = parse_config("[batch]\nwindow = 2\n", "a.toml");
  REQUIRE_FALSE(f);
  CHECK(f.error().message().find("state_dir") != std::string::npos);
}

TEST_CASE("config: the drop directory's encoding", "[agent][config]") {
  auto d = parse_config("[agent]\nstate_dir = \"/x\"\n", "a.toml");
  REQUIRE(d);
  CHECK(d->drop_encoding == EncodingChoice::kAuto);
  auto g = parse_config("[agent]\nstate_dir = \"/x\"\ndrop_encoding = \"GB18030\"\n", "a.toml");
  REQUIRE(g);
  CHECK(g->drop_encoding == EncodingChoice::kGb18030);
  auto bad = parse_config("[agent]\nstate_dir = \"/x\"\ndrop_encoding = \"latin1\"\n", "a.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == "a.toml:3: [agent] drop_encoding: must be auto, utf-8 or gb18030");
}

TEST_CASE("config: a cluster's ingest endpoints", "[agent][config]") {
  auto c = parse_config(R"(
[agent]
state_dir = "state"
[daemon]
cluster_ingest = ["tcp://10.0.0.11:7400", "tcp://10.0.0.12:7400"]
)",
                        "/etc/gongshu/agent.toml");
  REQUIRE(c);
  CHECK(c->daemon_cluster_ingest ==
        std::vector<std::string>{"tcp://10.0.0.11:7400", "tcp://10.0.0.12:7400"});
  auto bad =
      parse_config("[agent]\nstate_dir = \"s\"\n[daemon]\ncluster_ingest = [1]\n", "agent.toml");
  REQUIRE(!bad);
  CHECK_THAT(bad.error().message(),
             Catch::Contains("agent.toml:4") && Catch::Contains("cluster_ingest"));
}

TEST_CASE("config: the cluster probe (agent/cluster_follow.h)", "[agent][config]") {
  auto c = parse_config("[agent]\nstate_dir = \"s\"\n", "agent.toml");
  REQUIRE(c);
  CHECK(c->limits.cluster_probe_ms == 1000);
  c = parse_config("[agent]\nstate_dir = \"s\"\n[limits]\ncluster_probe_ms = 0\n", "agent.toml");
  REQUIRE(c);
  CHECK(c->limits.cluster_probe_ms == 0);  // off
  auto bad =
      parse_config("[agent]\nstate_dir = \"s\"\n[limits]\ncluster_probe_ms = -5\n", "agent.toml");
  REQUIRE(!bad);
  CHECK_THAT(bad.error().message(),
             Catch::Contains("agent.toml:4") && Catch::Contains("cluster_probe_ms"));
}
