// Issue 20, the control path with real processes (docs/replication.md): a real three-member etcd
// cluster (tests/support/etcd_cluster.h) and three gongshud in [cluster] mode on loopback, one
// gongshu-agent listing every node. One leader is elected and audited; a follower refuses api
// writes and batches naming the leader, and the agent follows it; a leader frozen with SIGSTOP
// is replaced within ttl + margin, and its last acknowledgement and its last acknowledgement
// deadline both lie before the instant its successor won (CLOCK_MONOTONIC, one machine); a
// leader killed with SIGKILL is replaced and the agent delivers there; every record is stored
// exactly once on the node that acknowledged it.
//
// The data path is wired (node_key, members, replication_endpoint; sync_count 1): the three
// nodes start from copies of one state directory, the leader ships its write sets, every node
// converges to the same audit tree, and a new leader holds every acknowledged record once.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "tests/integration/cluster_platform.h"

namespace gongshu::testing {
namespace {

TEST_CASE(
    "a gongshud cluster: one leader, followers name it, agents follow it through "
    "SIGSTOP and SIGKILL of the leader") {
  ClusterPlatform p;
  std::vector<Node*> live = {&p.nodes[0], &p.nodes[1], &p.nodes[2]};

  // One leader, every node names it, and it audited its term.
  Node* leader = nullptr;
  REQUIRE(wait_until([&] { return (leader = p.agreed_leader(live)) != nullptr; }));
  json ls = p.status(*leader);
  INFO(ls.dump());
  const int64_t term1 = ls["term"].get<int64_t>();
  CHECK(term1 > 0);
  CHECK(ls["members"].size() == 3);
  CHECK(ls["replication"] == "write sets");
  {
    std::string out = p.dir.file("audit-1.gsa");
    REQUIRE(p.ctl(leader->api, {"audit", "export", "--out", out}).exit_code == 0);
    auto v = run_process({kBin + "gongshu-audit", "verify", out, "--key", p.daemon_key});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    std::string bytes = read_text(out);
    CHECK(bytes.find("cluster_leader") != std::string::npos);
  }
  std::vector<Node*> followers = ClusterPlatform::followers_of(leader, live);

  // A follower refuses an api write, naming the leader's api endpoint. It answers only what
  // writes nothing to its store (the leader's to write): the operator's catalog show, not the
  // agent's catalog (each read is audited) nor a caller it would deny (denials are audited); its
  // audit head stays where it was, and the agent's catalog refresh through it goes on to the
  // leader it names.
  {
    auto head = [&] {
      auto r = p.ctl(followers[0]->api, {"audit", "head"});
      auto nl = r.out.find('\n', r.out.find('\n') + 1);  // origin and tree size
      return r.exit_code == 0 ? r.out.substr(0, nl) : std::string();
    };
    const std::string before = head();
    REQUIRE(!before.empty());
    auto r = p.ctl(followers[0]->api,
                   {"enroll-token", "create", "--agency", "sjz-gongan", "--ttl", "1h"});
    INFO(r.out << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("not leader; leader is " + leader->api) != std::string::npos);
    CHECK(p.ctl(followers[0]->api, {"catalog", "show", kHouseholds, "--json"}).exit_code == 0);
    p.write_agent_config({followers[0], leader, followers[1]});
    r = p.agent({"catalog", "refresh"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(head() == before);
  }

  // The agent lists a follower first: it is refused there, named the leader, and delivers there.
  p.write_agent_config({followers[0], leader, followers[1]});
  p.submit(0, 2000);
  auto run = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBin + "gongshu-agent", "run", "--config", p.agent_config},
      p.agent_config + ".log");
  REQUIRE(wait_until([&] { return p.acknowledged() >= 2000; }, std::chrono::seconds(30)));
  CHECK(p.records(*leader) == 2000);
  // Every node converges to the leader's store: the same records, the same audit tree.
  {
    bool same = p.converged(*leader, live);
    INFO(p.last_error);
    CHECK(same);
  }
  for (Node* n : live) {
    std::string l = p.log(*n);
    INFO(n->id << " log: " << l.substr(l.size() > 3000 ? l.size() - 3000 : 0));
    CHECK(p.records(*n) == 2000);
  }
  INFO(p.last_error);
  CHECK(wait_until([&] {
    json f = p.status(*followers[0]);
    return f.is_object() && f["ingest"]["batches_not_leader"].get<uint64_t>() >= 1;
  }));

  // SIGSTOP the leader: it stops acknowledging before another node wins, and that one takes
  // over within ttl + margin (plus etcd's expiry sweep and this machine's scheduling).
  Node* old = leader;
  const auto stopped_at = SteadyClock::now();
  old->process->signal(SIGSTOP);
  p.submit(2000, 1000);  // spooled while nobody leads; delivered to the next leader
  Node* next = nullptr;
  REQUIRE(wait_until([&] { return (next = p.agreed_leader(followers)) != nullptr; },
                     std::chrono::seconds(20)));
  const int64_t takeover_ms = ms_since(stopped_at);
  INFO("takeover after SIGSTOP: " << takeover_ms << " ms");
  CHECK(takeover_ms < (kTtlS * 1000 + kMarginMs + 3000));
  {
    bool delivered = wait_until([&] { return p.acknowledged() >= 3000; }, std::chrono::seconds(30));
    std::string log = read_text(p.agent_config + ".log");
    INFO("agent log: " << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
    REQUIRE(delivered);
  }
  CHECK(p.records(*next) == 3000);  // what the old leader acknowledged, and the new ones once
  json ns = p.status(*next);
  CHECK(ns["term"].get<int64_t>() > term1);
  const int64_t next_since = ns["leader_since_mono_ns"].get<int64_t>();
  old->process->signal(SIGCONT);
  REQUIRE(wait_until([&] {
    json s = p.status(*old);
    return s.is_object() && !s["this_node_leads"].get<bool>() && s["leader"] == next->id;
  }));
  json os = p.status(*old);
  INFO(os.dump() << "\n" << ns.dump());
  const int64_t old_deadline = os["ack_deadline_mono_ns"].get<int64_t>();
  const int64_t old_last_ack = os["ingest"]["last_ack_mono_ns"].get<int64_t>();
  CHECK(old_deadline > 0);
  CHECK(old_last_ack > 0);
  // No two leaders acknowledged in overlapping time.
  CHECK(old_deadline < next_since);
  CHECK(old_last_ack < next_since);
  // The old leader, thawed, follows the new one and catches up.
  CHECK(wait_until([&] { return p.records(*old) == 3000; }, std::chrono::seconds(10)));
  INFO("stopped acknowledging " << (next_since - old_deadline) / 1'000'000
                                << " ms before the successor won");

  // SIGKILL the new leader under load (records on their way): a third term, and the agent
  // delivers there; the new leader holds every acknowledged record exactly once.
  p.submit(3000, 1000);
  REQUIRE(wait_until([&] { return p.acknowledged() > 3000; }, std::chrono::seconds(10)));
  const auto killed_at = SteadyClock::now();
  next->process->signal(SIGKILL);
  next->process->wait();
  std::vector<Node*> rest;
  for (Node* n : live)
    if (n != next) rest.push_back(n);
  Node* third = nullptr;
  REQUIRE(wait_until([&] { return (third = p.agreed_leader(rest)) != nullptr; },
                     std::chrono::seconds(20)));
  const int64_t failover_ms = ms_since(killed_at);
  REQUIRE(wait_until([&] { return p.acknowledged() >= 4000; }, std::chrono::seconds(30)));
  const int64_t delivered_ms = ms_since(killed_at);
  INFO("failover after SIGKILL: leader in " << failover_ms << " ms, delivered in " << delivered_ms
                                            << " ms");
  CHECK(failover_ms < (kTtlS * 1000 + kMarginMs + 3000));
  CHECK(p.status(*third)["term"].get<int64_t>() > ns["term"].get<int64_t>());
  CHECK(p.acknowledged() == 4000);
  CHECK(p.records(*third) == 4000);  // every acknowledged record, once
  {
    bool same = p.converged(*third, rest);
    INFO(p.last_error);
    CHECK(same);
  }
  for (Node* n : rest) CHECK(p.records(*n) == 4000);
  // The log verifies end to end across the terms (three cluster_leader entries at least).
  p.verify_audit(*third, "audit-3.gsa");

  // A planned switchover to the other live node: it leads within a few hundred ms (the old
  // leader revokes its lease, the others hold back), and the agent delivers there.
  Node* target = rest[0] == third ? rest[1] : rest[0];
  const uint64_t target_before = p.records(*target);
  {
    auto r = p.ctl(target->api, {"cluster", "switchover", "--to", target->id});
    INFO(r.out << r.err);
    CHECK(r.exit_code != 0);  // only the leader takes it
    CHECK(r.err.find("not leader; leader is " + third->api) != std::string::npos);
  }
  const auto switch_at = SteadyClock::now();
  {
    // Refused until the target has published an applied position as far as the leader's.
    RunResult r;
    bool taken = wait_until([&] {
      r = p.ctl(third->api, {"cluster", "switchover", "--to", target->id});
      return r.exit_code == 0;
    });
    INFO(r.out << r.err);
    REQUIRE(taken);
  }
  Node* fourth = nullptr;
  REQUIRE(wait_until([&] { return (fourth = p.agreed_leader(rest)) == target; }));
  const int64_t switchover_ms = ms_since(switch_at);
  p.submit(4000, 500);
  REQUIRE(wait_until([&] { return p.acknowledged() >= 4500; }, std::chrono::seconds(30)));
  CHECK(p.records(*target) == target_before + 500);
  CHECK(switchover_ms < kTtlS * 1000);
  run->signal(SIGTERM);
  run->wait();
  WARN("takeover after SIGSTOP " << takeover_ms << " ms; after SIGKILL leader in " << failover_ms
                                 << " ms, records delivered in " << delivered_ms
                                 << " ms; switchover " << switchover_ms << " ms");
}

}  // namespace
}  // namespace gongshu::testing
