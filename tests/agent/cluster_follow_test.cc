// ProbePacer: when LeaderFinder sends its probe batch to each other node of a cluster
// (agent/cluster_follow.h), driven with a fake clock and followers that answer as gongshud's
// cluster gate does ("not leader; leader is <endpoint>").
#include <catch2/catch.hpp>

#include <map>

#include "agent/cluster_follow.h"

using namespace gongshu::agent;
using namespace std::chrono_literals;

namespace {

using TimePoint = ProbePacer::TimePoint;

// Runs the probe loop's schedule for `span` in 10 ms ticks (as LeaderFinder::run does) against
// followers that each answer every probe at once naming `named(node)`; counts probes per node.
template <typename Named>
std::map<std::string, int> simulate(ProbePacer& pacer, const std::vector<std::string>& others,
                                    const std::string& current, bool current_up, TimePoint& now,
                                    std::chrono::milliseconds span, Named named) {
  std::map<std::string, int> sent;
  const TimePoint end = now + span;
  for (; now < end; now += 10ms) {
    std::string n = pacer.pick(others, now);
    if (n.empty()) continue;
    pacer.sent(n, now);
    ++sent[n];
    pacer.not_leader(n, named(n), current, current_up, now);
  }
  return sent;
}

const std::string kA = "tcp://127.0.0.1:1";  // the node the agent sends to
const std::string kB = "tcp://127.0.0.1:2";
const std::string kC = "tcp://127.0.0.1:3";

}  // namespace

TEST_CASE("probe pacer: followers naming the live current leader back off", "[agent][cluster]") {
  ProbePacer pacer;
  TimePoint now{};
  now += 1h;
  // The leader is alive and connected, only slow to ack: both followers say so.
  auto sent = simulate(pacer, {kB, kC}, kA, true, now, 10s, [](const std::string&) { return kA; });
  // 100 ms doubling to 3.2 s: 0, .2, .6, 1.4, 3.0, 6.2, 9.4 s -> 7 probes each in 10 s, where the
  // unpaced probe sent 100 (every 100 ms).
  CHECK(sent[kB] <= 8);
  CHECK(sent[kC] <= 8);
  CHECK(sent[kB] >= 5);  // still asked now and then: a follower may yet become leader
  CHECK(pacer.interval(kB) == ProbePacer::kMaxInterval);
  CHECK(pacer.interval(kB) >= 2s);

  // The current node's connection is lost: every follower is asked at the base rate at once.
  pacer.reset();
  CHECK(pacer.interval(kB) == ProbePacer::kBaseInterval);
  auto after = simulate(pacer, {kB, kC}, kA, true, now, 100ms,
                        [](const std::string&) { return std::string(); });
  CHECK(after[kB] == 1);
  CHECK(after[kC] == 1);
}

TEST_CASE("probe pacer: a dead current node named by followers keeps the base rate",
          "[agent][cluster]") {
  ProbePacer pacer;
  TimePoint now{};
  now += 1h;
  // SIGKILLed leader: the agent's handshake with it is down, the followers still name it until
  // the new term begins. They must be asked every 100 ms, so the new leader is found at once.
  auto sent = simulate(pacer, {kB, kC}, kA, false, now, 2s, [](const std::string&) { return kA; });
  CHECK(sent[kB] >= 19);
  CHECK(sent[kC] >= 19);
  CHECK(pacer.interval(kB) == ProbePacer::kBaseInterval);

  // An election (no leader named) keeps the base rate too.
  auto election = simulate(pacer, {kB, kC}, kA, true, now, 1s,
                           [](const std::string&) { return std::string(); });
  CHECK(election[kB] >= 9);
}

TEST_CASE("probe pacer: a leader named other than current resets every back-off",
          "[agent][cluster]") {
  ProbePacer pacer;
  TimePoint now{};
  now += 1h;
  simulate(pacer, {kB, kC}, kA, true, now, 5s, [](const std::string&) { return kA; });
  REQUIRE(pacer.interval(kB) >= 1600ms);
  REQUIRE(pacer.interval(kC) >= 1600ms);
  // C now says B leads (a new term the agent's current node does not know of yet, e.g. it hangs
  // with its connection up): B is asked again within the base interval.
  pacer.not_leader(kC, kB, kA, true, now);
  CHECK(pacer.interval(kB) == ProbePacer::kBaseInterval);
  now += ProbePacer::kBaseInterval;
  CHECK(pacer.pick({kB}, now) == kB);
}

TEST_CASE("probe pacer: the probes of all nodes together are capped", "[agent][cluster]") {
  ProbePacer pacer;
  TimePoint now{};
  now += 1h;
  std::vector<std::string> others;
  for (int i = 2; i < 12; ++i) others.push_back("tcp://127.0.0.1:" + std::to_string(i));
  // Ten followers in an election (no leader named): at the base rate alone that is 100 probes
  // a second; the overall gap lets at most 1 s / kMinGap + 1 through.
  auto sent =
      simulate(pacer, others, kA, false, now, 1s, [](const std::string&) { return std::string(); });
  int total = 0;
  for (const auto& [n, k] : sent) total += k;
  CHECK(total <= 1s / ProbePacer::kMinGap + 1);
  CHECK(total >= 1s / ProbePacer::kMinGap - 1);
  // Each node is still reached (round robin through the gap).
  CHECK(sent.size() == others.size());
}
