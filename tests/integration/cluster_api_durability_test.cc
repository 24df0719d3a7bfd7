// Issue 20, semi-synchronous durability for api writes (docs/replication.md §11), with real
// processes: a real three-member etcd, three gongshud (sync_count 1, cluster_platform.h) and
// gongshuctl.
//
// 1. While every replica is SIGSTOPped (the leader cannot re-form its synchronous set from a
//    live member), an api write through gongshuctl is not reported as a success: it waits, then
//    answers "committed on the leader ... not yet confirmed by the synchronous set"; meanwhile
//    the leader's api thread still answers other clients promptly. The wait is the configured
//    [cluster] api_sync_wait_ms (2.5 s here), not the 5 s default.
// 2. SIGCONT: once the set counts a member again, the next write (a catalog approval) succeeds
//    promptly.
// 3. The leader is SIGKILLed: the approval it acknowledged is on the new leader.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "tests/integration/cluster_platform.h"

namespace gongshu::testing {
namespace {

// A CURVE key made by gongshuctl keygen and registered by the operator (a write through the api).
struct Registered {
  std::string path;
  RunResult add;
  int64_t add_ms = 0;
};

Registered register_key(ClusterPlatform& p, const Node& at, const std::string& name,
                        const std::string& role, const std::string& agency) {
  Registered r;
  r.path = p.dir.file(name + ".key");
  auto k = run_process({kBin + "gongshuctl", "keygen", "--kind", role, "--out", r.path, "--json"});
  REQUIRE(k.exit_code == 0);
  const std::string pub = json::parse(k.out)["public_key"].get<std::string>();
  const auto t = SteadyClock::now();
  r.add = p.ctl(at.api, {"principal", "add", "--role", role, "--public-key", pub, "--agency",
                         agency, "--json"});
  r.add_ms = ms_since(t);
  return r;
}

RunResult ctl_as(ClusterPlatform& p, const Node& at, const std::string& key,
                 std::vector<std::string> args) {
  args.insert(args.begin(), kBin + "gongshuctl");
  args.insert(args.end(), {"--api", at.api, "--daemon-key", p.daemon_key, "--key", key});
  return run_process(args);
}

bool counts_a_member(ClusterPlatform& p, const Node& leader) {
  json s = p.status(leader);
  return s.is_object() && s["sync_counted"].is_array() && !s["sync_counted"].empty();
}

TEST_CASE("api writes: answered only once the synchronous set holds them; survive the leader") {
  // The wait for the sync set, configured shorter than its 5 s default ([cluster]
  // api_sync_wait_ms; above the default sync_timeout_ms of 2 s, as gongshud requires).
  constexpr int64_t kSyncWaitMs = 2500;
  ClusterOptions o;
  o.extra_cluster = "api_sync_wait_ms = " + std::to_string(kSyncWaitMs) + "\n";
  ClusterPlatform p(o);
  std::vector<Node*> live = {&p.nodes[0], &p.nodes[1], &p.nodes[2]};
  Node* leader = nullptr;
  REQUIRE(wait_until([&] { return (leader = p.agreed_leader(live)) != nullptr; }));
  REQUIRE(wait_until([&] { return counts_a_member(p, *leader); }));
  std::vector<Node*> replicas;
  for (Node* n : live)
    if (n != leader) replicas.push_back(n);

  // The keys the approval needs, and what a write and a read cost through gongshuctl here.
  auto agency = register_key(p, *leader, "agency", "agency", "sjz-gongan");
  auto reviewer = register_key(p, *leader, "reviewer", "reviewer", "sjz-shichang");
  INFO(agency.add.err << reviewer.add.err);
  REQUIRE(agency.add.exit_code == 0);
  REQUIRE(reviewer.add.exit_code == 0);
  int64_t write_ms = 0, read_ms = 0;
  const int kRounds = 5;
  for (int i = 0; i < kRounds; ++i) {
    auto r = register_key(p, *leader, "extra-" + std::to_string(i), "agency", "sjz-gongan");
    INFO(r.add.out << r.add.err);
    REQUIRE(r.add.exit_code == 0);
    write_ms += r.add_ms;
    const auto t = SteadyClock::now();
    REQUIRE(p.ctl(leader->api, {"principal", "list", "--json"}).exit_code == 0);
    read_ms += ms_since(t);
  }

  // An entry awaiting the city reviewer, submitted before the replicas stop.
  std::string toml =
      read_text(std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml");
  const std::string id = "population.household2";
  toml.replace(toml.find("\"population.household\""), 22, "\"" + id + "\"");
  const std::string entry = p.dir.file("household2.toml");
  write_text(entry, toml);
  {
    auto s = ctl_as(p, *leader, agency.path, {"catalog", "submit", entry, "--json"});
    INFO(s.out << s.err);
    REQUIRE(s.exit_code == 0);
  }

  // 1. Every replica stopped: a write is committed on the leader but not confirmed.
  for (Node* n : replicas) n->process->signal(SIGSTOP);
  const std::string held_log = p.dir.file("held-write.log");
  auto pub = json::parse(run_process({kBin + "gongshuctl", "keygen", "--kind", "agency", "--out",
                                      p.dir.file("held2.key"), "--json"})
                             .out)["public_key"]
                 .get<std::string>();
  const auto held_at = SteadyClock::now();
  auto held = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBin + "gongshuctl", "principal", "add", "--role", "agency",
                               "--public-key", pub, "--agency", "sjz-gongan", "--api", leader->api,
                               "--daemon-key", p.daemon_key, "--key", p.dir.file("operator.key")},
      held_log);
  // While it waits, the api thread serves others at once.
  REQUIRE(wait_until([&] { return ms_since(held_at) > 1000; }));
  CHECK(held->running());
  const auto read_at = SteadyClock::now();
  CHECK(p.ctl(leader->api, {"status", "--json"}).exit_code == 0);
  const int64_t read_while_held_ms = ms_since(read_at);
  CHECK(read_while_held_ms < 2000);
  const int held_exit = held->wait();
  const int64_t held_ms = ms_since(held_at);
  const std::string held_out = read_text(held_log);
  INFO(held_out);
  CHECK(held_exit != 0);  // not a success
  CHECK(held_out.find("not yet confirmed by the synchronous set") != std::string::npos);
  CHECK(held_out.find("read it back") != std::string::npos);
  // The configured bound, not the default: the answer names it, and came after 2.5 s. The wall
  // time (a whole gongshuctl process, debug build, beside other builds) only has to rule out the
  // 5 s default, whose wait starts after this clock did: below 5 s less a margin is enough.
  CHECK(held_out.find("within " + std::to_string(kSyncWaitMs) + " ms") != std::string::npos);
  CHECK(held_ms >= kSyncWaitMs - 200);
  constexpr int64_t kDefaultSyncWaitMs = 5000;  // daemon/config.h api_sync_wait_ms
  CHECK(held_ms < kDefaultSyncWaitMs - 100);

  // 2. The replicas resume; once a member counts again, the approval is acknowledged promptly.
  for (Node* n : replicas) n->process->signal(SIGCONT);
  REQUIRE(wait_until([&] { return counts_a_member(p, *leader); }, std::chrono::seconds(15)));
  const auto approve_at = SteadyClock::now();
  auto approved =
      ctl_as(p, *leader, reviewer.path,
             {"catalog", "review", id, "--approve", "--note", "市级审核通过", "--json"});
  const int64_t approve_ms = ms_since(approve_at);
  INFO(approved.out << approved.err);
  REQUIRE(approved.exit_code == 0);
  CHECK(json::parse(approved.out)[0]["state"] == "approved");
  CHECK(approve_ms < 3000);

  // 3. The leader dies right after the acknowledgement: the approval is on the new leader.
  leader->process->signal(SIGKILL);
  leader->process->wait();
  Node* next = nullptr;
  REQUIRE(wait_until([&] { return (next = p.agreed_leader(replicas)) != nullptr; },
                     std::chrono::seconds(20)));
  auto h = p.ctl(next->api, {"catalog", "history", id, "--json"});
  INFO(h.out << h.err);
  REQUIRE(h.exit_code == 0);
  json hj = json::parse(h.out);
  REQUIRE(hj.size() == 1);
  CHECK(hj[0]["state"] == "approved");

  WARN("api write through gongshuctl (principal add), cluster mode, sync_count 1: "
       << write_ms / kRounds << " ms mean vs read (principal list) " << read_ms / kRounds
       << " ms; replicas stopped: refused after " << held_ms << " ms, a read meanwhile "
       << read_while_held_ms << " ms; approval after resume " << approve_ms << " ms");
}

}  // namespace
}  // namespace gongshu::testing
