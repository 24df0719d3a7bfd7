// Replicator: one node's data path switched by role, as the daemon's cluster wiring drives it —
// a leader ships and waits for its synchronous set, a follower's store refuses writes, a
// switchover continues the chain under the new term on the other node, and the deposed leader's
// write set that no replica acknowledged makes it re-seed instead of merging.
#include "core/replication/replicator.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>

#include "tests/core/replication/replication_node.h"
#include "tests/support/test_support.h"

namespace gongshu::replication {
namespace {

using namespace std::chrono_literals;
using gongshu::testing::TempDir;
using gongshu::testing::wait_until;
using testing::dump;
using testing::Node;
using testing::test_key;

struct ClusterNode {
  TempDir dir;
  std::unique_ptr<Node> store;
  crypto::IdentityKey key;
  std::unique_ptr<Replicator> repl;
  ClusterNode(const std::string& id, uint8_t seed, std::map<std::string, Member> members)
      : store(std::make_unique<Node>(dir.path(), ChangelogOptions{}, false)), key(test_key(seed)) {
    ReplicatorConfig c;
    c.node = id;
    c.bind = "tcp://127.0.0.1:*";
    c.members = std::move(members);
    c.heartbeat = 100ms;
    c.hello_interval = 200ms;
    auto r = Replicator::create(*store->env, store->probe(), key, c);
    REQUIRE(r);
    repl = std::move(*r);
  }
  ~ClusterNode() {
    repl.reset();
    store.reset();
  }
  bool synced(uint64_t seq, const std::string& to) {
    return repl->wait_synced(seq, {to}, std::chrono::steady_clock::now() + 10s);
  }
};

TEST_CASE("lead, follow, switch over, and a deposed leader's unacknowledged write re-seeds") {
  std::map<std::string, Member> members = {{"a", {test_key(60).public_key(), ""}},
                                           {"b", {test_key(61).public_key(), ""}}};
  ClusterNode a("a", 60, members), b("b", 61, members);

  // Before any role, the store takes no write.
  {
    auto txn = a.store->env->begin_write();
    REQUIRE(txn->put(a.store->latest, as_bytes("k"), as_bytes("v")));
    auto s = std::move(*txn).commit();
    REQUIRE(!s);
    CHECK(s.error().code() == ErrorCode::kUnavailable);
  }

  std::atomic<int> ack_events{0};
  std::atomic<uint64_t> synced_seen{0};
  a.repl->set_ack_listener([&] {
    ++ack_events;  // the listener may ask how far the set has synced (no lock held)
    synced_seen.store(a.repl->synced_seq({"b"}));
  });
  CHECK(a.repl->synced_seq({"b"}) == 0);  // not leading yet
  REQUIRE(a.repl->lead(5));
  REQUIRE(b.repl->follow("a", 5, a.repl->shipper_endpoint()));
  a.repl->set_sync({"b"});
  for (uint64_t i = 1; i <= 20; ++i) a.store->write(i);
  CHECK(a.repl->last_seq() == 20);
  CHECK(a.synced(20, "b"));
  CHECK(a.repl->synced_seq({"b"}) == 20);
  CHECK(a.repl->synced_seq({"b", "c"}) == 0);  // c never acknowledged
  REQUIRE(wait_until([&] { return synced_seen.load() == 20; }));
  CHECK(ack_events.load() >= 1);
  CHECK(b.repl->status().applier == ApplierState::kFollowing);
  {
    auto txn = b.store->env->begin_write();  // a follower's store refuses a write of its own
    REQUIRE(txn->put(b.store->latest, as_bytes("k"), as_bytes("v")));
    CHECK(!std::move(*txn).commit());
  }

  // Switchover: a stops, b leads term 9 from where it stands, a follows.
  a.repl->stop();
  REQUIRE(b.repl->lead(9));
  REQUIRE(a.repl->follow("b", 9, b.repl->shipper_endpoint()));
  b.repl->set_sync({"a"});
  for (uint64_t i = 21; i <= 30; ++i) b.store->write(i);
  CHECK(b.synced(30, "a"));
  CHECK(a.repl->head() == b.repl->head());
  CHECK(b.repl->head().term == 9);
  {
    auto da = dump(*a.store->env), db = dump(*b.store->env);
    for (const auto& [name, table] : da) {
      INFO(name);
      CHECK(table == db[name]);
    }
  }

  // b commits write set 31 that a never acknowledges (a is stopped), then b is gone; a leads
  // term 11 from 30 and writes its own 31. b, following a, holds a diverged history: re-seed.
  a.repl->stop();
  b.store->write(31);
  CHECK(!b.repl->wait_synced(31, {"a"}, std::chrono::steady_clock::now() + 100ms));
  b.repl->stop();
  REQUIRE(a.repl->lead(11));
  a.store->write(31);  // the same workload step, under another term: another write set
  CHECK(a.repl->head().seq == 31);
  CHECK(a.repl->head().term == 11);
  REQUIRE(b.repl->follow("a", 11, a.repl->shipper_endpoint()));
  REQUIRE(wait_until([&] { return b.repl->status().applier != ApplierState::kFollowing; }));
  auto st = b.repl->status();
  CHECK(st.applier == ApplierState::kNeedsReseed);
  CHECK_THAT(st.applier_reason, Catch::Contains("diverged"));
}

}  // namespace
}  // namespace gongshu::replication
