// gongshud's TOML configuration: defaults, the keys it knows, and errors that name file and line.
#include <catch2/catch.hpp>

#include "daemon/config.h"

namespace gongshu::daemon {
namespace {

TEST_CASE("daemon config: an empty file keeps every default") {
  auto c = parse_config("", "gongshud.toml");
  REQUIRE(c);
  CHECK(c->workers == 2);
  CHECK(c->max_group == 64);
  CHECK(c->worker_nice == 10);
  CHECK(c->ingest_endpoint == "tcp://127.0.0.1:7400");
}

TEST_CASE("daemon config: ingest keys are read") {
  auto c = parse_config(
      "[ingest]\nworkers = 4\nmax_group = 128\nworker_nice = 0\nendpoint = \"tcp://0.0.0.0:9\"\n",
      "gongshud.toml");
  REQUIRE(c);
  CHECK(c->workers == 4);
  CHECK(c->max_group == 128);
  CHECK(c->worker_nice == 0);
  CHECK(c->ingest_endpoint == "tcp://0.0.0.0:9");
}

TEST_CASE("daemon config: a value out of range or an unknown key names the file and line") {
  auto nice = parse_config("[ingest]\n\nworker_nice = 20\n", "/etc/gongshu/gongshud.toml");
  REQUIRE(!nice);
  CHECK_THAT(nice.error().message(),
             Catch::Contains("/etc/gongshu/gongshud.toml:3") &&
                 Catch::Contains("ingest.worker_nice must be an integer in 0..19"));
  auto typo = parse_config("[ingest]\nworker_niceness = 5\n", "gongshud.toml");
  REQUIRE(!typo);
  CHECK_THAT(typo.error().message(), Catch::Contains("gongshud.toml:2") &&
                                         Catch::Contains("unknown key ingest.worker_niceness"));
}

TEST_CASE("daemon config: the api's limits for unknown keys and pending applications") {
  auto d = parse_config("", "gongshud.toml");
  REQUIRE(d);
  CHECK(d->api_limits.unknown_keys_per_minute == 600);
  CHECK(d->api_limits.unknown_keys_per_address_per_minute == 120);
  CHECK(d->api_limits.max_pending_applications_per_applicant == 5);
  CHECK(d->api_limits.max_pending_applications == 500);
  auto c = parse_config(
      "[api]\nunknown_keys_per_minute = 30\nunknown_keys_per_address_per_minute = 10\n"
      "max_pending_applications_per_applicant = 2\nmax_pending_applications = 7\n",
      "gongshud.toml");
  REQUIRE(c);
  CHECK(c->api_limits.unknown_keys_per_minute == 30);
  CHECK(c->api_limits.unknown_keys_per_address_per_minute == 10);
  CHECK(c->api_limits.max_pending_applications_per_applicant == 2);
  CHECK(c->api_limits.max_pending_applications == 7);
  CHECK(!parse_config("[api]\nunknown_keys_per_minute = 0\n", "gongshud.toml"));
}

TEST_CASE("daemon config: the shipped gongshud.toml parses and states the defaults") {
  auto shipped = load_config(std::string(GONGSHU_SOURCE_DIR) + "/packaging/config/gongshud.toml");
  REQUIRE(shipped);
  auto d = parse_config("", "gongshud.toml");
  CHECK(shipped->api_limits.unknown_keys_per_minute == d->api_limits.unknown_keys_per_minute);
  CHECK(shipped->api_limits.unknown_keys_per_address_per_minute ==
        d->api_limits.unknown_keys_per_address_per_minute);
  CHECK(shipped->api_limits.max_pending_applications_per_applicant ==
        d->api_limits.max_pending_applications_per_applicant);
  CHECK(shipped->api_limits.max_pending_applications == d->api_limits.max_pending_applications);
  CHECK(shipped->city_region == d->city_region);
}

TEST_CASE("daemon config: [catalog] city_region is the city's region code, 130100 by default") {
  auto d = parse_config("", "gongshud.toml");
  REQUIRE(d);
  CHECK(d->city_region == "130100");
  auto c = parse_config("[catalog]\ncity_region = \"130200\"\n", "gongshud.toml");
  REQUIRE(c);
  CHECK(c->city_region == "130200");
  auto bad = parse_config("[catalog]\ncity_region = \"1301\"\n", "gongshud.toml");
  REQUIRE(!bad);
  CHECK_THAT(bad.error().message(), Catch::Contains("catalog.city_region must be a 6-digit"));
  auto num = parse_config("[catalog]\ncity_region = 130100\n", "gongshud.toml");
  REQUIRE(!num);
  CHECK_THAT(num.error().message(), Catch::Contains("gongshud.toml:2") &&
                                        Catch::Contains("catalog.city_region must be a string"));
  CHECK(!parse_config("[catalog]\ncity = \"130100\"\n", "gongshud.toml"));
}

TEST_CASE("daemon config: [cluster] is off by default and read whole when present") {
  auto none = parse_config("", "gongshud.toml");
  REQUIRE(none);
  CHECK(!none->cluster.enabled);
  auto c = parse_config(
      "[cluster]\nname = \"sjz\"\nnode = \"node-a\"\n"
      "etcd = [\"http://10.0.0.1:2379\", \"http://10.0.0.2:2379\"]\nlease_ttl_s = 7\n"
      "margin_ms = 1500\nadvertise_api = \"tcp://10.0.0.11:7401\"\nsync_count = 1\n",
      "gongshud.toml");
  REQUIRE(c);
  CHECK(c->cluster.enabled);  // a [cluster] section is the replicated mode
  CHECK(c->cluster.name == "sjz");
  CHECK(c->cluster.node == "node-a");
  CHECK(c->cluster.etcd ==
        std::vector<std::string>{"http://10.0.0.1:2379", "http://10.0.0.2:2379"});
  CHECK(c->cluster.lease_ttl_s == 7);
  CHECK(c->cluster.margin_ms == 1500);
  CHECK(c->cluster.advertise_api == "tcp://10.0.0.11:7401");
  auto off = parse_config("[cluster]\nenabled = false\n", "gongshud.toml");
  REQUIRE(off);
  CHECK(!off->cluster.enabled);
  auto missing = parse_config("[cluster]\nname = \"sjz\"\n", "gongshud.toml");
  REQUIRE(!missing);
  CHECK_THAT(missing.error().message(), Catch::Contains("[cluster] needs name, node and etcd"));
  auto margin = parse_config(
      "[cluster]\nname = \"a\"\nnode = \"b\"\netcd = [\"http://x:1\"]\nlease_ttl_s = 2\n"
      "margin_ms = 2000\n",
      "gongshud.toml");
  REQUIRE(!margin);
  CHECK_THAT(margin.error().message(), Catch::Contains("cluster.margin_ms must be below"));
  auto bad = parse_config("[cluster]\netcd = \"http://x:1\"\n", "gongshud.toml");
  REQUIRE(!bad);
  CHECK_THAT(bad.error().message(),
             Catch::Contains("gongshud.toml:2") && Catch::Contains("cluster.etcd must be a list"));
}

TEST_CASE("daemon config: [cluster] node_key and members turn the data path on") {
  const std::string ka(64, 'a'), kb(64, 'b');
  const std::string head =
      "[cluster]\nname = \"sjz\"\nnode = \"node-a\"\netcd = [\"http://10.0.0.1:2379\"]\n";
  auto plain = parse_config(head, "gongshud.toml");
  REQUIRE(plain);
  CHECK(!plain->cluster.replicated());  // control path only
  auto c = parse_config(head +
                            "node_key = \"/etc/gongshu/node.key\"\nreplication_endpoint = "
                            "\"tcp://10.0.0.11:7402\"\nmembers = { node-a = \"" +
                            ka + "\", node-b = { key = \"" + kb +
                            "\", replication = \"tcp://10.0.0.12:7402\" } }\n",
                        "gongshud.toml");
  INFO((c ? "" : c.error().message()));
  REQUIRE(c);
  CHECK(c->cluster.replicated());
  CHECK(c->cluster.node_key == "/etc/gongshu/node.key");
  REQUIRE(c->cluster.members.size() == 2);
  CHECK(c->cluster.members.at("node-a").key == ka);
  CHECK(c->cluster.members.at("node-a").replication.empty());
  CHECK(c->cluster.members.at("node-b").key == kb);
  CHECK(c->cluster.members.at("node-b").replication == "tcp://10.0.0.12:7402");
  CHECK(c->cluster.changelog_max_entries == 100000);  // the defaults
  CHECK(c->cluster.changelog_max_mb == 4096);
  CHECK(c->cluster.reseed_key.empty());
  auto bounded = parse_config(
      head + "changelog_max_entries = 8\nchangelog_max_mb = 16\nreseed_key = \"/etc/k\"\n",
      "gongshud.toml");
  REQUIRE(bounded);
  CHECK(bounded->cluster.changelog_max_entries == 8);
  CHECK(bounded->cluster.changelog_max_mb == 16);
  CHECK(bounded->cluster.reseed_key == "/etc/k");
  auto too_few = parse_config(head + "changelog_max_entries = 1\n", "gongshud.toml");
  REQUIRE(!too_few);
  CHECK_THAT(too_few.error().message(), Catch::Contains("gongshud.toml:5") &&
                                            Catch::Contains("cluster.changelog_max_entries"));
  auto bad_key = parse_config(head + "members = { node-a = \"xyz\" }\n", "gongshud.toml");
  REQUIRE(!bad_key);
  CHECK_THAT(bad_key.error().message(),
             Catch::Contains("gongshud.toml:5") && Catch::Contains("cluster.members.node-a"));
  // This node must be among the members, and it needs an endpoint to ship from.
  auto lonely = parse_config(head + "node_key = \"k\"\nreplication_endpoint = \"tcp://x:1\"\n" +
                                 "members = { node-b = \"" + kb + "\" }\n",
                             "gongshud.toml");
  REQUIRE(!lonely);
  CHECK_THAT(lonely.error().message(), Catch::Contains("cluster.node_key needs cluster.members"));
  auto no_endpoint = parse_config(
      head + "node_key = \"k\"\nmembers = { node-a = \"" + ka + "\" }\n", "gongshud.toml");
  REQUIRE(!no_endpoint);
  CHECK_THAT(no_endpoint.error().message(), Catch::Contains("cluster.replication_endpoint"));
}

// fuzz/daemon_config_fuzz.cc's first finding: a float past int64_t's range was cast before the
// range check (undefined behaviour, UBSan aborted), and true or 4.0 passed for an integer.
TEST_CASE("daemon config: a number key takes integers only, whatever float or boolean it is") {
  for (const char* value : {"1e30", "-1e300", "2e+75", "inf", "nan", "4.0", "true"}) {
    INFO(value);
    auto c = parse_config(std::string("[ingest]\nworkers = ") + value + "\n", "gongshud.toml");
    REQUIRE(!c);
    CHECK_THAT(c.error().message(),
               Catch::Contains("gongshud.toml:2") &&
                   Catch::Contains("ingest.workers must be an integer in 1..64"));
  }
  auto big = parse_config("[cluster]\nchangelog_max_mb = 9.3e18\n", "gongshud.toml");
  REQUIRE(!big);
  CHECK_THAT(big.error().message(), Catch::Contains("cluster.changelog_max_mb must be an integer"));
  auto ok = parse_config("[ingest]\nworkers = 4\n", "gongshud.toml");
  REQUIRE(ok);
  CHECK(ok->workers == 4);
}

}  // namespace
}  // namespace gongshu::daemon
