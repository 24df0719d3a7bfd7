// core/cluster/sync_set.h: the leader's synchronous-set decisions with a fake monotonic clock —
// written before counted, dropped before written, only caught-up members proposed, and no
// acknowledgement on fewer than sync_count members.
#include "core/cluster/sync_set.h"

#include <catch2/catch.hpp>
#include <map>

namespace gongshu::cluster {
namespace {

using std::chrono::milliseconds;
using Strings = std::vector<std::string>;

struct Fixture {
  FakeMonoClock clock;
  std::map<std::string, uint64_t> synced;
  std::map<std::string, bool> live{{"b", true}, {"c", true}};
  std::vector<ReplicaSync> replicas() const {
    std::vector<ReplicaSync> out;
    for (const auto& [n, l] : live) out.push_back({n, l, synced.count(n) ? synced.at(n) : 0});
    return out;
  }
  uint64_t quorum(SyncSet& s) const {
    return s.quorum_seq(
        [this](const std::string& n) { return synced.count(n) ? synced.at(n) : 0; });
  }
};

TEST_CASE("sync set: a member counts only after the set naming it was written", "[cluster]") {
  Fixture f;
  SyncSet s(1, milliseconds(2000));
  s.start_term(7, 100);  // the new leader held 100 write sets when it won
  f.synced = {{"b", 99}, {"c", 0}};
  // Nobody holds the leader's 100 yet: nothing to write, nothing counts, no ack.
  auto p = s.plan(f.clock.now(), 101, f.replicas());
  CHECK_FALSE(p.write);
  CHECK(s.counted().empty());
  CHECK(f.quorum(s) == 0);

  f.synced["b"] = 101;
  p = s.plan(f.clock.now(), 101, f.replicas());
  REQUIRE(p.write);
  CHECK(*p.write == Strings{"b"});
  // Proposed but not yet written: still not counted, so still no ack.
  CHECK(s.counted().empty());
  CHECK(f.quorum(s) == 0);
  s.published(7, *p.write);
  CHECK(s.counted() == Strings{"b"});
  CHECK(f.quorum(s) == 101);
  // Written: the next plan writes nothing.
  p = s.plan(f.clock.now(), 101, f.replicas());
  CHECK_FALSE(p.write);
  CHECK(p.dropped.empty());
}

TEST_CASE(
    "sync set: a member that falls away stops counting before any write; the replacement "
    "must hold every released ack",
    "[cluster]") {
  Fixture f;
  SyncSet s(1, milliseconds(2000));
  s.start_term(3, 0);
  f.synced = {{"b", 50}, {"c", 10}};
  auto p = s.plan(f.clock.now(), 50, f.replicas());
  REQUIRE(p.write);
  CHECK(*p.write == Strings{"b"});  // the most advanced of those caught up
  s.published(3, *p.write);
  CHECK(f.quorum(s) == 50);  // acks up to 50 released

  // b's lease expires: dropped at once, and c (at 10 < 50 released) is not proposed.
  f.live["b"] = false;
  p = s.plan(f.clock.now(), 60, f.replicas());
  CHECK(p.dropped == Strings{"b"});
  CHECK_FALSE(p.write);
  CHECK(s.counted().empty());
  CHECK(f.quorum(s) == 0);  // nothing more is acknowledged
  CHECK(s.floor() == 50);

  f.synced["c"] = 49;
  CHECK_FALSE(s.plan(f.clock.now(), 60, f.replicas()).write);
  f.synced["c"] = 50;  // holds every released ack (not yet the leader's 60: not needed)
  p = s.plan(f.clock.now(), 60, f.replicas());
  REQUIRE(p.write);
  CHECK(*p.write == Strings{"c"});
  CHECK(f.quorum(s) == 0);  // still not counted until written
  s.published(3, *p.write);
  CHECK(f.quorum(s) == 50);
}

TEST_CASE("sync set: a stalled member is dropped after the timeout, a busy one is not",
          "[cluster]") {
  Fixture f;
  SyncSet s(1, milliseconds(2000));
  s.start_term(5, 0);
  f.synced = {{"b", 10}, {"c", 10}};
  auto p = s.plan(f.clock.now(), 10, f.replicas());
  REQUIRE(p.write);
  CHECK(*p.write == Strings{"b"});  // equal: by name
  s.published(5, *p.write);

  // Busy: b always behind the newest commit, but it keeps reaching what was committed earlier.
  uint64_t last = 10;
  for (int i = 0; i < 20; ++i) {
    f.clock.advance(milliseconds(500));
    f.synced["b"] = last;  // reached the previous tick's head
    f.synced["c"] = last;
    last += 5;
    p = s.plan(f.clock.now(), last, f.replicas());
    CHECK(p.dropped.empty());
  }
  CHECK(s.counted() == Strings{"b"});

  // b stops acknowledging: dropped once 2 s passed without reaching what was committed then.
  const uint64_t stuck = f.synced["b"];
  f.clock.advance(milliseconds(500));
  f.synced["c"] = last;
  p = s.plan(f.clock.now(), last + 5, f.replicas());
  CHECK(p.dropped.empty());
  f.clock.advance(milliseconds(1400));  // 1.9 s since b last reached its target
  f.synced["c"] = last + 5;
  p = s.plan(f.clock.now(), last + 5, f.replicas());
  CHECK(p.dropped.empty());
  f.clock.advance(milliseconds(200));
  p = s.plan(f.clock.now(), last + 5, f.replicas());
  CHECK(p.dropped == Strings{"b"});
  CHECK(f.synced["b"] == stuck);
  // c holds everything: it replaces b in the same plan (written before it counts).
  REQUIRE(p.write);
  CHECK(*p.write == Strings{"c"});
}

TEST_CASE(
    "sync set: two of three, a member written earlier in the term counts again without a "
    "write, and a lost term counts nothing",
    "[cluster]") {
  Fixture f;
  f.live["d"] = true;
  SyncSet s(2, milliseconds(1000));
  s.start_term(9, 0);
  f.synced = {{"b", 5}, {"c", 5}, {"d", 4}};
  auto p = s.plan(f.clock.now(), 5, f.replicas());
  REQUIRE(p.write);
  CHECK(*p.write == Strings{"b", "c"});
  s.published(9, *p.write);
  f.synced["b"] = 8;
  f.synced["c"] = 6;
  CHECK(f.quorum(s) == 6);  // the lowest counted member

  // c falls away: one counted member is fewer than two, so no ack at all.
  f.live["c"] = false;
  p = s.plan(f.clock.now(), 8, f.replicas());
  CHECK(p.dropped == Strings{"c"});
  CHECK(f.quorum(s) == 0);
  // c comes back caught up before d: it is still in the set written this term, so it counts
  // again without a write.
  f.live["c"] = true;
  f.synced["c"] = 8;
  p = s.plan(f.clock.now(), 8, f.replicas());
  CHECK_FALSE(p.write);
  CHECK(s.counted() == Strings{"b", "c"});
  CHECK(f.quorum(s) == 8);

  // published() for an old term is ignored; end_term counts nothing.
  s.published(8, Strings{"d"});
  CHECK(s.counted() == Strings{"b", "c"});
  s.end_term();
  CHECK(f.quorum(s) == 0);
  CHECK(s.plan(f.clock.now(), 8, f.replicas()).write == std::nullopt);
}

TEST_CASE("sync set: sync_count 0 declares itself once and never holds an ack", "[cluster]") {
  Fixture f;
  SyncSet s(0, milliseconds(1000));
  s.start_term(2, 40);
  CHECK(f.quorum(s) == UINT64_MAX);
  auto p = s.plan(f.clock.now(), 40, f.replicas());
  REQUIRE(p.write);
  CHECK(p.write->empty());
  s.published(2, {});
  CHECK_FALSE(s.plan(f.clock.now(), 41, f.replicas()).write);
}

}  // namespace
}  // namespace gongshu::cluster
