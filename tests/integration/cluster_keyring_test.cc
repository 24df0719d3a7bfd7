// Issue 20, what a replica holds beside its store and what its answers say (docs/replication.md
// §3a, §6), with real processes: a real three-member etcd, three gongshud in [cluster] mode with
// the shipped policy, one gongshu-agent.
//
//  - Reads report lag: a follower's answers carry how far behind the leader it is (the leader's
//    carry nothing); while the test holds the follower store's LMDB writer lock (the applier
//    cannot commit) and the leader keeps writing, the follower's status says it is write sets
//    and hundreds of ms behind, in --json and in the human line; released, it catches up to 0.
//  - Keyring shares are replicated: a dataset added (and keyed) on the leader after the cluster
//    started has its key share on every follower — the same 32 bytes, 0600, never in a store —
//    before its records are acknowledged; after SIGKILL of that leader the agency reads every
//    acknowledged record back, decrypted, through the new leader.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <optional>

#include "core/ids/citizen_id.h"
#include "core/store/env.h"
#include "core/store/txn.h"
#include "tests/integration/cluster_platform.h"

namespace gongshu::testing {
namespace {

constexpr const char* kDataset = "population.household.b";

uint64_t records_of(ClusterPlatform& p, const Node& n, const std::string& dataset) {
  auto r = p.ctl(n.api, {"catalog", "show", dataset, "--json"});
  std::smatch m;
  if (std::regex_search(r.out, m, std::regex("\"records\":(\\d+)"))) return std::stoull(m[1]);
  return 0;
}

TEST_CASE(
    "replicas say how far behind the leader they answer, and hold every key share an "
    "acknowledged record needs") {
  ClusterOptions options;
  options.extra_cluster = shipped_policy_lines();
  ClusterPlatform p(options);
  std::vector<Node*> live = {&p.nodes[0], &p.nodes[1], &p.nodes[2]};
  Node* leader = nullptr;
  REQUIRE(wait_until([&] { return (leader = p.agreed_leader(live)) != nullptr; }));
  std::vector<Node*> followers = ClusterPlatform::followers_of(leader, live);
  Node* f = followers[0];

  // ---- Reads report lag -------------------------------------------------------------------
  {
    auto r = p.ctl(leader->api, {"status", "--json"});
    REQUIRE(r.exit_code == 0);
    CHECK(!json::parse(r.out).contains("replica"));  // the leader's answers carry none
    CHECK(p.ctl(leader->api, {"status"}).out.find("behind the leader") == std::string::npos);
  }
  // Caught up (the leader's own start-up writes may still be on their way at first).
  json lag;
  REQUIRE(wait_until([&] {
    lag = replica_of(p, *f);
    return lag.is_object() && lag["state"] == "following" && lag["behind_ms"].is_number() &&
           lag["behind_seq"].get<uint64_t>() == 0;
  }));
  INFO(lag.dump());
  CHECK(lag["node"] == f->id);
  CHECK(lag["leader"] == leader->id);
  CHECK(lag["applied_seq"].get<uint64_t>() == lag["leader_seq"].get<uint64_t>());
  CHECK(lag["applied_seq"].get<uint64_t>() > 0);
  {
    RunResult r;
    const bool shown = wait_until([&] {
      r = p.ctl(f->api, {"status"});
      return r.out.find("replica " + f->id + ", 0 write sets / ") != std::string::npos;
    });
    INFO(r.out << r.err);
    CHECK(shown);
    CHECK(r.out.find(" ms behind the leader " + leader->id) != std::string::npos);
  }

  // Held behind: this test takes the follower store's LMDB writer lock, so its applier cannot
  // commit, while the leader writes on (each enrollment token is a write set; the other
  // follower acknowledges them).
  {
    store::EnvOptions eo;
    eo.map_size = 0;  // the store's own
    auto env = store::Env::open(f->state + "/store", eo);
    REQUIRE(env);
    std::optional<store::WriteTxn> hold;
    {
      auto t = (*env)->begin_write_unrecorded();
      REQUIRE(t);
      hold.emplace(std::move(*t));
    }
    const auto held_at = SteadyClock::now();
    for (int i = 0; i < 3; ++i) {
      REQUIRE(
          p.ctl(leader->api, {"enroll-token", "create", "--agency", "sjz-gongan", "--ttl", "1h"})
              .exit_code == 0);
    }
    json behind;
    const bool held = wait_until([&] {
      behind = replica_of(p, *f);
      return behind.is_object() && behind["behind_seq"].get<uint64_t>() >= 1 &&
             behind["behind_ms"].is_number() && behind["behind_ms"].get<int64_t>() >= 700;
    });
    INFO(behind.dump());
    REQUIRE(held);
    // It heard of write set 3 and cannot commit it: 1 behind (the rest wait in the channel).
    CHECK(behind["leader_seq"].get<uint64_t>() ==
          behind["applied_seq"].get<uint64_t>() + behind["behind_seq"].get<uint64_t>());
    // Not more behind in time than it has been held (plus one heartbeat and scheduling).
    CHECK(behind["behind_ms"].get<int64_t>() <= ms_since(held_at) + 2000);
    auto r = p.ctl(f->api, {"status"});
    INFO(r.out);
    CHECK(std::regex_search(r.out, std::regex("replica " + f->id +
                                              ", [1-9][0-9]* write sets / [0-9]+ ms behind "
                                              "the leader " +
                                              leader->id)));
    hold.reset();  // aborted: the applier goes on
  }
  REQUIRE(wait_until([&] {
    json l = replica_of(p, *f);
    return l.is_object() && l["behind_seq"].get<uint64_t>() == 0 && l["state"] == "following";
  }));

  // ---- Keyring shares are replicated ------------------------------------------------------
  // A dataset added on the leader now: its key share is created there, in its keyring, and
  // nowhere in the stores.
  std::string toml =
      read_text(std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml");
  const std::string id_line = "id = \"population.household\"";
  REQUIRE(toml.find(id_line) != std::string::npos);
  toml.replace(toml.find(id_line), id_line.size(), std::string("id = \"") + kDataset + "\"");
  write_text(p.dir.file("household-b.toml"), toml);
  {
    auto r = p.ctl(leader->api, {"catalog", "add", p.dir.file("household-b.toml")});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  const std::string share_name = std::string("/keyring/") + kDataset + ".share";
  const std::string leader_share = read_text(leader->state + share_name);
  REQUIRE(leader_share.size() == 32);
  for (Node* n : followers) {
    INFO(n->id);
    CHECK(wait_until([&] { return read_text(n->state + share_name) == leader_share; }));
    struct stat st;
    REQUIRE(::stat((n->state + share_name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  // An agency user of the provider, to read it back; added on the leader (replicated).
  const std::string agency_key = p.dir.file("gongan-user.key");
  auto k = run_process(
      {kBin + "gongshuctl", "keygen", "--kind", "agency", "--out", agency_key, "--json"});
  REQUIRE(k.exit_code == 0);
  REQUIRE(p.ctl(leader->api,
                {"principal", "add", "--role", "agency", "--agency", "sjz-gongan", "--public-key",
                 json::parse(k.out)["public_key"].get<std::string>(), "--name", "公安 user"})
              .exit_code == 0);

  // The agent delivers records of it to the leader.
  p.write_agent_config({leader, followers[0], followers[1]});
  REQUIRE(p.agent({"catalog", "refresh"}).exit_code == 0);
  const std::string file = p.dir.file("b.jsonl");
  write_households(file, 0, 300);
  {
    auto r = p.agent({"submit", "--dataset", kDataset, file});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  auto run = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBin + "gongshu-agent", "run", "--config", p.agent_config},
      p.agent_config + ".log");
  REQUIRE(wait_until([&] { return p.acknowledged() >= 300; }, std::chrono::seconds(30)));
  CHECK(records_of(p, *leader, kDataset) == 300);

  // The leader is lost; the next one reads every acknowledged record back, decrypted.
  leader->process->signal(SIGKILL);
  leader->process->wait();
  Node* next = nullptr;
  REQUIRE(wait_until([&] { return (next = p.agreed_leader(followers)) != nullptr; },
                     std::chrono::seconds(20)));
  CHECK(records_of(p, *next, kDataset) == 300);
  auto q = p.ctl(next->api, {"query", kDataset, "--purpose", "replication-check", "--all",
                             "--limit", "1000", "--json", "--key", agency_key});
  INFO(q.out.substr(0, 2000) << q.err);
  REQUIRE(q.exit_code == 0);
  json rows = json::parse(q.out)["rows"];
  CHECK(rows.size() == 300);
  CHECK(q.out.find("hh-299") != std::string::npos);
  CHECK(q.out.find("张") != std::string::npos);  // the name field, decrypted (masked or not)
  // And one subject, across datasets, through the same new leader.
  // (write_households' record 2: born 1950-01-01, sequence 002.)
  const std::string body = "13010219500101002";
  const std::string subject = body + *ids::citizen_id_check_char(body);
  auto l = p.ctl(next->api, {"lookup", subject, "--purpose", "replication-check", "--json", "--key",
                             agency_key});
  INFO(l.out << l.err);
  REQUIRE(l.exit_code == 0);
  json found = json::parse(l.out)["datasets"];
  bool in_b = false;
  for (const json& d : found)
    if (d["dataset"] == kDataset) in_b = d["rows"].size() == 1;
  CHECK(in_b);
  run.reset();
}

}  // namespace
}  // namespace gongshu::testing
