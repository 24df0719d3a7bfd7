// Issue 20, failover as the agent sees it (agent/cluster_follow.h LeaderFinder): a real
// three-member etcd, three gongshud in [cluster] mode on loopback and the real gongshu-agent with
// its default ack timeout (30 s). The leader is SIGKILLed while the agent is connected to it, and
// the agent's list sends it, after the lost connection, to a follower that still names the dead
// leader (its lease has not expired yet): the agent used to sit on the dead node until its
// handshake give-up (5 s) and so delivered seconds after the election had ended. Now, once no
// ack has come for [limits] cluster_probe_ms (1 s), it asks the other nodes in parallel and moves
// to the one that takes a batch as leader. Measured: kill -> new leader's term -> the ack that
// delivered the records spooled after the kill (the new leader's last ack, CLOCK_MONOTONIC, one
// machine), which must come within kFollowMs of the new leader's term beginning. Every record
// is stored once on the new leader.
//
// The margin: the probe is already asking when the term begins (1 s after the stall, while the
// election takes the lease TTL, 3 s, at least); a node is asked again every 100 ms; then one
// reconnect and one resend answered duplicate (a few ms on loopback). 1.5 s leaves a busy 2-core
// machine (load 5-8) most of a second of scheduling delay; the old behaviour is 1.2-2 s here
// with the test's 3 s TTL (5 s of give-up from the kill), and 5 s with an unlucky order.
//
// GONGSHU_TEST_CLUSTER_PROBE_MS (optional) sets the agent's cluster_probe_ms, to measure the
// agent without the probe (0) beside it; the check stays as it is.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "tests/integration/cluster_platform.h"

namespace gongshu::testing {
namespace {

constexpr int64_t kFollowMs = 1500;

int64_t mono_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

TEST_CASE(
    "after a SIGKILL of the leader the agent delivers to the new leader within "
    "1.5 s of its term beginning") {
  ClusterPlatform p;
  std::vector<Node*> live = {&p.nodes[0], &p.nodes[1], &p.nodes[2]};
  Node* leader = nullptr;
  REQUIRE(wait_until([&] { return (leader = p.agreed_leader(live)) != nullptr; }));
  const int64_t term1 = p.status(*leader)["term"].get<int64_t>();
  std::vector<Node*> rest;
  for (Node* n : live)
    if (n != leader) rest.push_back(n);

  // The leader first, so that the lost connection sends the agent to rest[0], which names the
  // dead leader until its lease expires. The default ack timeout (the platform's is 2 s).
  p.write_agent_config({leader, rest[0], rest[1]});
  {
    std::string c = read_text(p.agent_config);
    const std::string limits = "ack_timeout_ms = 2000\n";
    auto i = c.find(limits);
    REQUIRE(i != std::string::npos);
    std::string probe;
    if (const char* e = std::getenv("GONGSHU_TEST_CLUSTER_PROBE_MS"))
      probe = std::string("cluster_probe_ms = ") + e + "\n";
    c.replace(i, limits.size(), "ack_timeout_ms = 30000\n" + probe);
    write_text(p.agent_config, c);
  }
  p.submit(0, 1000);
  auto run = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBin + "gongshu-agent", "run", "--config", p.agent_config},
      p.agent_config + ".log");
  REQUIRE(wait_until([&] { return p.acknowledged() >= 1000; }, std::chrono::seconds(30)));

  const int64_t killed_ns = mono_ns();
  leader->process->signal(SIGKILL);
  leader->process->wait();
  p.submit(1000, 500);  // one batch, spooled while nobody leads

  Node* next = nullptr;
  REQUIRE(wait_until([&] { return (next = p.agreed_leader(rest)) != nullptr; },
                     std::chrono::seconds(20)));
  {
    bool delivered = wait_until([&] { return p.acknowledged() >= 1500; }, std::chrono::seconds(30));
    std::string log = read_text(p.agent_config + ".log");
    INFO("agent log: " << log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    REQUIRE(delivered);
  }
  json s = p.status(*next);
  INFO(s.dump());
  REQUIRE(s.is_object());
  CHECK(s["term"].get<int64_t>() > term1);
  const int64_t since_ns = s["leader_since_mono_ns"].get<int64_t>();
  const int64_t ack_ns = s["ingest"]["last_ack_mono_ns"].get<int64_t>();
  REQUIRE(since_ns > killed_ns);
  REQUIRE(ack_ns > since_ns);
  const int64_t elected_ms = (since_ns - killed_ns) / 1'000'000;
  const int64_t ack_ms = (ack_ns - killed_ns) / 1'000'000;
  const int64_t follow_ms = (ack_ns - since_ns) / 1'000'000;
  INFO("SIGKILL -> new term " << elected_ms << " ms -> first ack to the agent " << ack_ms << " ms ("
                              << follow_ms << " ms after the term began)");
  CHECK(follow_ms <= kFollowMs);
  CHECK(p.acknowledged() == 1500);
  CHECK(p.records(*next) == 1500);  // every acknowledged record, once
  for (Node* n : rest) CHECK(wait_until([&] { return p.records(*n) == 1500; }));
  run->signal(SIGTERM);
  run->wait();
  WARN("SIGKILL -> new term " << elected_ms << " ms -> first ack to the agent " << ack_ms << " ms ("
                              << follow_ms << " ms after the term began)");
}

}  // namespace
}  // namespace gongshu::testing
