// Review A8 (docs/replication.md §6, §11), with real processes: a real three-member etcd, three
// gongshud in [cluster] mode with the shipped policy (cluster_platform.h), one gongshu-agent and
// an agency's key.
//
//  - sync_count 1: a lookup on the leader is answered (its rows) once the synchronous set holds
//    the write set with its access entry. With both replicas SIGSTOPped it is refused after
//    [cluster] api_sync_wait_ms (2.5 s here), API_UNAVAILABLE, no row released, while a `ping`
//    sent behind it on the same connection is answered at once; after SIGCONT, once the set counts
//    a member again, lookups are answered again. Before, the leader answered at once: its entry
//    was lost with the leader if it was lost then, the data released.
//  - sync_count 0: no replica's fsync confirms an entry, so a replica refuses the audited reads
//    ("ask the leader", with the leader's endpoint), nothing released, and the leader answers
//    them.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "core/crypto/key_file.h"
#include "core/ids/citizen_id.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "core/wire/context.h"
#include "gongshu/v1/api.pb.h"
#include "gongshu/v1/audit.pb.h"
#include "tests/integration/cluster_platform.h"
#include "tests/integration/pipelined_client.h"

namespace gongshu::testing {
namespace {

bool counts_a_member(ClusterPlatform& p, const Node& leader) {
  json s = p.status(leader);
  return s.is_object() && s["sync_counted"].is_array() && !s["sync_counted"].empty();
}

// An agency user of the provider (added on the leader) and `n` of its records, acknowledged.
std::string agency_with_records(ClusterPlatform& p, Node& leader, std::vector<Node*> order, int n) {
  const std::string key = p.dir.file("gongan-user.key");
  auto k = run_process({kBin + "gongshuctl", "keygen", "--kind", "agency", "--out", key, "--json"});
  REQUIRE(k.exit_code == 0);
  REQUIRE(p.ctl(leader.api, {"principal", "add", "--role", "agency", "--agency", "sjz-gongan",
                             "--public-key", json::parse(k.out)["public_key"].get<std::string>()})
              .exit_code == 0);
  p.write_agent_config(order);
  p.submit(0, n);
  ChildProcess run({kBin + "gongshu-agent", "run", "--config", p.agent_config},
                   p.agent_config + ".log");
  REQUIRE(wait_until([&] { return p.acknowledged() >= uint64_t(n); }, std::chrono::seconds(30)));
  return key;
}

v1::ApiRequest lookup_of_record_2() {
  const std::string body = "13010219500101002";  // write_households' record 2
  v1::ApiRequest req;
  req.mutable_lookup()->set_subject_id(body + *ids::citizen_id_check_char(body));
  req.mutable_lookup()->set_purpose("户籍核验");
  return req;
}

TEST_CASE("leader reads: answered once the synchronous set holds their entries, else refused") {
  constexpr int64_t kSyncWaitMs = 2500;
  ClusterOptions o;
  o.extra_cluster =
      "api_sync_wait_ms = " + std::to_string(kSyncWaitMs) + "\n" + shipped_policy_lines();
  ClusterPlatform p(o);
  std::vector<Node*> live = {&p.nodes[0], &p.nodes[1], &p.nodes[2]};
  Node* leader = nullptr;
  REQUIRE(wait_until([&] { return (leader = p.agreed_leader(live)) != nullptr; }));
  std::vector<Node*> replicas = ClusterPlatform::followers_of(leader, live);
  const std::string agency_key =
      agency_with_records(p, *leader, {leader, replicas[0], replicas[1]}, 5);
  REQUIRE(wait_until([&] { return counts_a_member(p, *leader); }));

  Pipelined c(leader->api, agency_key, p.daemon_key);
  const v1::ApiRequest lookup = lookup_of_record_2();
  v1::ApiRequest ping;  // what an agency key may ask besides the reads
  ping.mutable_ping();

  // Normally: answered, with the row, by the leader (no replica_lag).
  const auto normal_at = SteadyClock::now();
  c.send(1, lookup);
  REQUIRE(c.wait_for(1));
  const int64_t normal_ms = ms_since(normal_at);
  {
    const v1::ApiResponse& r = c.got[1];
    INFO(r.error().message());
    REQUIRE(!r.has_error());
    REQUIRE(r.lookup().datasets_size() == 1);
    CHECK(r.lookup().datasets(0).rows_size() == 1);
    CHECK(!r.has_replica_lag());
  }

  // Both replicas stopped: the entry is committed on the leader, but no member of the set can
  // fsync it, so nothing is released; a ping behind it is answered meanwhile.
  for (Node* n : replicas) n->process->signal(SIGSTOP);
  const auto held_at = SteadyClock::now();
  c.send(2, lookup);
  c.send(3, ping);
  const bool ping_answered = c.wait_for(3);
  const int64_t ping_ms = ms_since(held_at);
  const bool lookup_waiting = c.got.count(2) == 0;
  const bool refused = c.wait_for(2);
  const int64_t refused_ms = ms_since(held_at);
  for (Node* n : replicas) n->process->signal(SIGCONT);
  REQUIRE(ping_answered);
  INFO(c.got[3].error().message());
  CHECK(!c.got[3].has_error());
  CHECK(lookup_waiting);
  CHECK(ping_ms < kSyncWaitMs);
  REQUIRE(refused);
  {
    const v1::ApiResponse& r = c.got[2];
    INFO(r.error().message());
    CHECK(r.error().code() == v1::API_UNAVAILABLE);
    CHECK(r.error().message().find("nothing was sent") != std::string::npos);
    CHECK(r.error().message().find("synchronous set") != std::string::npos);
    CHECK(r.error().message().find(std::to_string(kSyncWaitMs) + " ms") != std::string::npos);
    CHECK(!r.has_lookup());  // no row released
  }
  CHECK(refused_ms >= kSyncWaitMs - 200);
  CHECK(refused_ms < kSyncWaitMs + 3000);

  // Resumed: once the set counts a member again, reads are answered again.
  REQUIRE(wait_until([&] { return counts_a_member(p, *leader); }, std::chrono::seconds(15)));
  const auto again_at = SteadyClock::now();
  c.send(4, lookup);
  REQUIRE(c.wait_for(4));
  const int64_t again_ms = ms_since(again_at);
  INFO(c.got[4].error().message());
  REQUIRE(!c.got[4].has_error());
  CHECK(c.got[4].lookup().datasets(0).rows_size() == 1);
  WARN("leader lookup: " << normal_ms << " ms; replicas stopped: refused after " << refused_ms
                         << " ms, a ping meanwhile " << ping_ms << " ms; resumed: " << again_ms
                         << " ms");
}

TEST_CASE("sync_count 0: replicas refuse the audited reads, the leader answers them") {
  ClusterOptions o;
  o.sync_count = 0;
  o.extra_cluster = shipped_policy_lines();
  ClusterPlatform p(o);
  std::vector<Node*> live = {&p.nodes[0], &p.nodes[1], &p.nodes[2]};
  Node* leader = nullptr;
  REQUIRE(wait_until([&] { return (leader = p.agreed_leader(live)) != nullptr; }));
  std::vector<Node*> replicas = ClusterPlatform::followers_of(leader, live);
  const std::string agency_key =
      agency_with_records(p, *leader, {leader, replicas[0], replicas[1]}, 5);
  Node* f = replicas[0];
  REQUIRE(wait_until([&] { return p.records(*f) == 5; }));

  const v1::ApiRequest lookup = lookup_of_record_2();
  Pipelined on_replica(f->api, agency_key, p.daemon_key);
  on_replica.send(1, lookup);
  REQUIRE(on_replica.wait_for(1));
  {
    const v1::ApiResponse& r = on_replica.got[1];
    INFO(r.error().message());
    CHECK(r.error().code() == v1::API_UNAVAILABLE);
    CHECK(r.error().message().find("sync_count = 0") != std::string::npos);
    CHECK(r.error().message().find("ask the leader") != std::string::npos);
    CHECK(r.error().leader_api() == leader->api);
    CHECK(!r.has_lookup());
  }
  // Review M1: the leader itself refuses a member's access record while IT runs with
  // sync_count = 0 (a replica at sync_count 1 after a rolling config change would send one): a
  // well-formed record of a public read, which a leader at sync_count 1 appends.
  {
    Pipelined member(leader->api, p.dir.file(f->id + ".key"), p.daemon_key);
    v1::AuditEntry e;
    e.mutable_principal()->set_key_id("public");
    e.mutable_principal()->set_role("public");
    e.set_action("open_catalog");
    e.set_decision(v1::DECISION_ALLOW);
    v1::ApiRequest rec;
    rec.mutable_access_record()->add_entries(e.SerializeAsString());
    member.send(9, rec);
    REQUIRE(member.wait_for(9));
    const v1::ApiResponse& r = member.got[9];
    INFO(r.error().message());
    CHECK(r.error().code() == v1::API_UNAVAILABLE);
    CHECK(r.error().message().find("could not be audited") != std::string::npos);
    CHECK(r.error().message().find("sync_count = 0") != std::string::npos);
    CHECK(!r.has_access_record());
  }
  Pipelined on_leader(leader->api, agency_key, p.daemon_key);
  on_leader.send(1, lookup);
  REQUIRE(on_leader.wait_for(1));
  INFO(on_leader.got[1].error().message());
  REQUIRE(!on_leader.got[1].has_error());
  CHECK(on_leader.got[1].lookup().datasets(0).rows_size() == 1);
}

}  // namespace
}  // namespace gongshu::testing
