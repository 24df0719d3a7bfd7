// core/cluster/leadership.h against a real 3-member etcd cluster on loopback
// (tests/support/etcd_cluster.h), with the real monotonic clock: every instant compared below
// is taken in this one process with steady_clock, so "before" means before.
#include "core/cluster/leadership.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <thread>

#include "tests/support/etcd_cluster.h"
#include "tests/support/test_support.h"

namespace gongshu::cluster {
namespace {

using gongshu::testing::EtcdCluster;
using gongshu::testing::wait_until;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using Kind = CampaignOutcome::Kind;

EtcdCluster& shared_cluster() {
  static EtcdCluster cluster(3);
  return cluster;
}

std::vector<std::string> starting_at(const EtcdCluster& cluster, int first) {
  std::vector<std::string> out;
  for (int i = 0; i < cluster.size(); ++i)
    out.push_back(cluster.endpoint((first + i) % cluster.size()));
  return out;
}

Leadership make_node(std::vector<std::string> endpoints, const std::string& cluster_name,
                     const std::string& node, LeaseTiming timing = {}, etcd::Options options = {}) {
  auto client = etcd::Client::create(std::move(endpoints), options);
  if (!client) FAIL(client.error().message());
  Config config{cluster_name, node, {{"ingest", "tcp://127.0.0.1:7400/" + node}}, timing};
  auto l = Leadership::create(std::move(*client), std::move(config));
  if (!l) FAIL(l.error().message());
  return std::move(*l);
}

long ms(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(d).count());
}

TEST_CASE("leadership: settings whose renewals cannot fit the window are refused", "[cluster]") {
  // No etcd needed: create() makes no call.
  auto client = [](milliseconds timeout) {
    auto c =
        etcd::Client::create({"http://127.0.0.1:1"}, etcd::Options{timeout, milliseconds(300)});
    REQUIRE(c);
    return std::move(*c);
  };
  Config config{"c", "a", {}, LeaseTiming{seconds(5), milliseconds(1000)}};
  CHECK(Leadership::create(client(milliseconds(2000)), config));
  auto slow = Leadership::create(client(milliseconds(3000)), config);
  REQUIRE_FALSE(slow);
  CHECK(slow.error().message().find("request timeout 3000 ms") != std::string::npos);
  CHECK_FALSE(
      Leadership::create(client(milliseconds(2000)), Config{"c", "a/b", {}, LeaseTiming{}}));
  CHECK_FALSE(Leadership::create(client(milliseconds(2000)), Config{"", "a", {}, LeaseTiming{}}));
  CHECK_FALSE(Leadership::create(client(milliseconds(500)),
                                 Config{"c", "a", {}, LeaseTiming{seconds(5), milliseconds(0)}}));
}

TEST_CASE("leadership: nodes campaigning at once elect exactly one; terms only grow",
          "[cluster][etcd]") {
  auto& cluster = shared_cluster();
  std::vector<Leadership> nodes;
  for (int i = 0; i < 3; ++i) {
    // Each through a different etcd member: the race is decided by etcd's consensus.
    nodes.push_back(make_node(starting_at(cluster, i), "race", "n" + std::to_string(i)));
  }
  auto raw = etcd::Client::create(cluster.endpoints());
  REQUIRE(raw);

  int64_t last_term = 0;
  std::optional<Clock::time_point> stepped_down_at;
  for (int round = 0; round < 4; ++round) {
    INFO("round " << round);
    std::vector<Result<CampaignOutcome>> out(nodes.size());
    std::atomic<int> arrived{0};
    std::vector<std::thread> threads;
    for (size_t i = 0; i < nodes.size(); ++i) {
      threads.emplace_back([&, i] {
        arrived.fetch_add(1);
        while (arrived.load() < static_cast<int>(nodes.size())) std::this_thread::yield();
        out[i] = nodes[i].campaign();
      });
    }
    for (auto& t : threads) t.join();
    const auto elected_at = Clock::now();

    int winners = 0;
    size_t winner = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      REQUIRE(out[i]);
      if (out[i]->kind == Kind::kWon) {
        ++winners;
        winner = i;
      }
    }
    REQUIRE(winners == 1);
    const int64_t term = out[winner]->term;
    CHECK(term > last_term);
    last_term = term;
    for (size_t i = 0; i < out.size(); ++i) {
      CHECK(nodes[i].term().has_value() == (i == winner));
      CHECK(nodes[i].may_acknowledge() == (i == winner));
      if (i == winner) continue;
      CHECK(out[i]->kind == Kind::kLeaderExists);
      REQUIRE(out[i]->leader);
      CHECK(out[i]->leader->value.node == nodes[winner].config().node);
      CHECK(out[i]->leader->term == term);
    }
    // etcd holds the winner's key, on the winner's lease, at the winner's term.
    auto leader = raw->get(nodes[winner].keys().leader());
    REQUIRE(leader);
    REQUIRE(leader->kv);
    CHECK(leader->kv->create_revision == term);
    CHECK(leader->kv->lease == nodes[winner].lease()->value);
    if (stepped_down_at) {
      std::printf("switchover: step_down to the next leader elected: %ld ms\n",
                  ms(elected_at - *stepped_down_at));
    }

    // Clean switchover: the winner steps down; the key goes with its lease, at once.
    stepped_down_at = Clock::now();
    REQUIRE(nodes[winner].step_down());
    CHECK_FALSE(nodes[winner].may_acknowledge());
    CHECK_FALSE(nodes[winner].term());
    auto gone = raw->get(nodes[winner].keys().leader());
    REQUIRE(gone);
    CHECK_FALSE(gone->kv);
  }
}

TEST_CASE("leadership: outside the sync set a node cannot win; a stale view loses",
          "[cluster][etcd]") {
  auto& cluster = shared_cluster();
  Leadership a = make_node(starting_at(cluster, 0), "syncset", "a");
  Leadership b = make_node(starting_at(cluster, 1), "syncset", "b");
  Leadership c = make_node(starting_at(cluster, 2), "syncset", "c");
  auto raw = etcd::Client::create(cluster.endpoints());
  REQUIRE(raw);

  auto before = c.observe();  // bootstrapping: no sync key, anyone may stand
  REQUIRE(before);
  CHECK_FALSE(before->sync);
  CHECK(before->may_stand("c"));

  auto won = a.campaign();
  REQUIRE(won);
  REQUIRE(won->kind == Kind::kWon);
  auto set = a.set_sync({"b"});
  REQUIRE(set);
  REQUIRE(set->kind == SyncOutcome::Kind::kWritten);
  REQUIRE(a.publish_member({10, won->term}));
  REQUIRE(b.publish_member({10, won->term}));
  REQUIRE(c.publish_member({9, won->term}));
  auto seen = b.observe();
  REQUIRE(seen);
  CHECK(seen->term() == won->term);
  REQUIRE(seen->sync);
  CHECK(seen->sync->value == SyncValue{won->term, {"b"}, "a", 1});
  CHECK(seen->sync->mod_revision == set->mod_revision);
  REQUIRE(seen->members.size() == 3);
  CHECK(seen->member("a")->value.role == Role::kPrimary);
  CHECK(seen->member("b")->value.role == Role::kReplica);
  CHECK(seen->behind("c") == 1u);
  REQUIRE(a.step_down());

  // c read the cluster before the sync set existed; its transaction compares the sync key's
  // mod_revision with what it read, so etcd refuses it — the client-side check is not what
  // keeps it out.
  auto stale = c.campaign(*before);
  REQUIRE(stale);
  CHECK(stale->kind == Kind::kNotEligible);
  REQUIRE(stale->sync);
  CHECK(stale->sync->value.members == std::vector<std::string>{"b"});
  auto none = raw->get(a.keys().leader());
  REQUIRE(none);
  CHECK_FALSE(none->kv);
  auto fresh = c.campaign();
  REQUIRE(fresh);
  CHECK(fresh->kind == Kind::kNotEligible);
  CHECK_FALSE(c.may_acknowledge());
  // a stepped down: it holds no term, so it asks nothing and is refused.
  auto from_a = a.set_sync({"a"});
  REQUIRE(from_a);
  CHECK(from_a->kind == SyncOutcome::Kind::kNotLeader);

  auto b_won = b.campaign();
  REQUIRE(b_won);
  CHECK(b_won->kind == Kind::kWon);
  CHECK(b_won->term > won->term);
  CHECK(b.may_acknowledge());
  auto observed = c.observe();
  REQUIRE(observed);
  CHECK(observed->term() == b_won->term);  // what a replica compares write sets against
  CHECK(observed->leader->value.node == "b");
  CHECK(observed->leader->value.endpoints.at("ingest") == "tcp://127.0.0.1:7400/b");
  REQUIRE(b.step_down());
}

// The campaign transaction itself checks "no rival ahead": a view read before a rival's applied
// key moved past this node's loses at etcd (not only by the client-side check), and the writer
// of the sync set is a rival of its members. A failover key asked under the current sync key
// lets a node outside the set stand; under an older sync key it does not.
TEST_CASE("leadership: a rival ahead loses the campaign at etcd; a failover key overrides the set",
          "[cluster][etcd]") {
  auto& cluster = shared_cluster();
  Leadership a = make_node(starting_at(cluster, 0), "rivals", "a");
  Leadership b = make_node(starting_at(cluster, 1), "rivals", "b");
  Leadership c = make_node(starting_at(cluster, 2), "rivals", "c");
  auto raw = etcd::Client::create(cluster.endpoints());
  REQUIRE(raw);

  // Bootstrapping (no sync key): every node is a rival. c reads while b is behind it, then b
  // moves ahead; c's transaction compares b's applied key and loses.
  REQUIRE(b.publish_member({5, 1}));
  REQUIRE(c.publish_member({7, 1}));
  auto seen = c.observe();
  REQUIRE(seen);
  CHECK(seen->all_rivals("c"));
  REQUIRE(b.publish_member({9, 1}));
  auto lost = c.campaign(*seen);
  REQUIRE(lost);
  CHECK(lost->kind == Kind::kSyncChanged);  // observe again
  auto fresh = c.campaign();
  REQUIRE(fresh);
  CHECK(fresh->kind == Kind::kBehind);
  CHECK(fresh->rival == "b");
  // A node that appears after the view (an applied key created later) also voids it.
  REQUIRE(c.publish_member({9, 1}));
  auto seen2 = c.observe();
  REQUIRE(seen2);
  REQUIRE(a.publish_member({1, 1}));
  auto lost2 = c.campaign(*seen2);
  REQUIRE(lost2);
  CHECK(lost2->kind == Kind::kSyncChanged);

  auto won = b.campaign();
  REQUIRE(won);
  REQUIRE(won->kind == Kind::kWon);
  auto set = b.set_sync({"a"});
  REQUIRE(set);
  REQUIRE(set->kind == SyncOutcome::Kind::kWritten);
  REQUIRE(b.publish_member({20, won->term}));
  REQUIRE(a.publish_member({20, won->term}));
  REQUIRE(c.publish_member({12, won->term}));
  // b hands over by revoking its lease: its keys go, a (in the set) may stand, c may not.
  REQUIRE(b.step_down());
  auto c_try = c.campaign();
  REQUIRE(c_try);
  CHECK(c_try->kind == Kind::kNotEligible);

  // An operator's failover key for c under the current sync key: c stands although outside it.
  auto view = c.observe();
  REQUIRE(view);
  REQUIRE(view->sync);
  FailoverValue fo{"c",
                   true,
                   {12, won->term},
                   view->sync->mod_revision,
                   view->sync->value.term,
                   view->sync->value.members,
                   "operator-key",
                   "c"};
  // First under an older sync revision: void.
  FailoverValue stale = fo;
  stale.sync_revision -= 1;
  REQUIRE(raw->put(c.keys().failover(), encode(stale)));
  auto void_try = c.campaign();
  REQUIRE(void_try);
  CHECK(void_try->kind == Kind::kNotEligible);
  REQUIRE(raw->put(c.keys().failover(), encode(fo)));
  auto c_won = c.campaign();
  REQUIRE(c_won);
  CHECK(c_won->kind == Kind::kWon);
  CHECK(c_won->term > won->term);
  REQUIRE(raw->delete_key(c.keys().failover()));
  REQUIRE(c.step_down());
  (void)a.step_down();
}

// A leader that stops renewing (its loop hangs) must stop acknowledging before anyone else can
// win. Three rounds: the leader renews, then hangs; a thread records the first instant its
// may_acknowledge() is false; the others campaign until one wins, and the instant that winning
// campaign call BEGAN is recorded. The first must precede the second every round. Between the
// rounds: the deposed leader's set_sync is refused, and the sync set decides who may stand.
TEST_CASE("leadership: a hung leader stops acknowledging before another can win",
          "[cluster][etcd]") {
  auto& cluster = shared_cluster();
  const LeaseTiming timing{seconds(3), milliseconds(1000)};            // renew every 600 ms
  const etcd::Options options{milliseconds(1000), milliseconds(300)};  // 600 + 1000 < 2000
  std::vector<Leadership> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(
        make_node(starting_at(cluster, i), "hung", std::string(1, 'a' + i), timing, options));
  }
  auto won = nodes[0].campaign();
  REQUIRE(won);
  REQUIRE(won->kind == Kind::kWon);
  size_t leader = 0;
  int64_t term = won->term;
  // From round 1 on, the sync set the previous winner wrote names one of the two others: only
  // that one may win, the other is refused for standing outside it.
  std::optional<size_t> may_win, may_not;

  for (int round = 0; round < 3; ++round) {
    INFO("round " << round << ", leader " << nodes[leader].config().node);
    Leadership& old = nodes[leader];
    REQUIRE(old.renew());
    REQUIRE(old.may_acknowledge());
    const auto deadline = *old.ack_deadline();
    const auto hung_at = Clock::now();

    std::atomic<int64_t> false_at_ns{0};
    std::thread watcher([&] {
      while (old.may_acknowledge(Clock::now())) std::this_thread::yield();
      false_at_ns.store(Clock::now().time_since_epoch().count());
    });

    std::optional<size_t> winner;
    Clock::time_point win_began;
    int64_t new_term = 0;
    std::vector<int> not_eligible(nodes.size(), 0);
    REQUIRE(wait_until(
        [&] {
          for (size_t i = 0; i < nodes.size(); ++i) {
            if (i == leader) continue;
            // A candidate keeps its own lease (and member key) alive as any node does; a lost
            // lease is granted again by campaign(), so the outcome is not needed here.
            if (nodes[i].renew_due()) (void)nodes[i].renew();
            const auto began = Clock::now();
            auto r = nodes[i].campaign();
            if (!r) continue;  // etcd busy: try again
            if (r->kind == Kind::kNotEligible) ++not_eligible[i];
            if (r->kind == Kind::kWon) {
              winner = i;
              win_began = began;
              new_term = r->term;
              return true;
            }
          }
          return false;
        },
        seconds(15)));
    watcher.join();
    const Clock::time_point false_at{Clock::duration(false_at_ns.load())};
    std::printf(
        "hung leader round %d: may_acknowledge false %ld ms after the hang (deadline %+ld ms), "
        "%ld ms before the winning campaign began; new leader %ld ms after the hang\n",
        round, ms(false_at - hung_at), ms(false_at - deadline), ms(win_began - false_at),
        ms(Clock::now() - hung_at));
    CHECK(false_at >= deadline);
    CHECK(false_at < win_began);  // no overlap
    CHECK(new_term > term);
    // etcd expires the lease no earlier than ttl after it received the last keepalive.
    CHECK(win_began - hung_at >= timing.ttl - milliseconds(timing.margin));

    // The deposed leader does not know yet: it still believes its term, but etcd refuses its
    // sync write, and from that answer on it believes nothing.
    CHECK(old.term() == term);
    CHECK_FALSE(old.may_acknowledge());
    auto refused = old.set_sync({old.config().node});
    REQUIRE(refused);
    CHECK(refused->kind == SyncOutcome::Kind::kNotLeader);
    REQUIRE(refused->leader);
    CHECK(refused->leader->term == new_term);
    CHECK_FALSE(old.term());

    // The sync set of the previous round decided who could stand.
    if (may_win) {
      CHECK(*winner == *may_win);
      CHECK(not_eligible[*may_not] > 0);
    }

    leader = *winner;
    term = new_term;
    std::vector<size_t> others;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i != leader) others.push_back(i);
    }
    may_win = others[static_cast<size_t>(round) % 2];
    may_not = others[1 - static_cast<size_t>(round) % 2];
    auto set = nodes[leader].set_sync({nodes[*may_win].config().node});
    REQUIRE(set);
    CHECK(set->kind == SyncOutcome::Kind::kWritten);
  }
  REQUIRE(nodes[leader].step_down());
}

// etcd loses a member (its raft leader, the member this node talks to): the leader renews
// through the others and keeps acknowledging throughout. Then etcd is cut off altogether
// (the other members frozen): may_acknowledge turns false within ttl - margin of the last
// successful renewal's send, by arithmetic alone.
TEST_CASE("leadership: an etcd member killed costs nothing; etcd cut off ends acknowledging",
          "[cluster][etcd]") {
  EtcdCluster cluster(3);
  int raft_leader = -1;
  REQUIRE(wait_until([&] { return (raft_leader = cluster.leader()) >= 0; }));
  const LeaseTiming timing{seconds(5), milliseconds(1000)};  // renew every 1 s
  Leadership node = make_node(starting_at(cluster, raft_leader), "etcdloss", "a", timing);
  auto won = node.campaign();
  REQUIRE(won);
  REQUIRE(won->kind == Kind::kWon);

  std::atomic<bool> stop{false};
  std::atomic<int> refusals{0};
  std::atomic<int64_t> false_at_ns{0};
  std::atomic<bool> expect_false{false};
  std::thread watcher([&] {
    while (!stop.load()) {
      if (!node.may_acknowledge(Clock::now())) {
        if (!expect_false.load()) {
          refusals.fetch_add(1);
        } else if (false_at_ns.load() == 0) {
          false_at_ns.store(Clock::now().time_since_epoch().count());
        }
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
  });

  // The service loop: renew when due, note each successful renewal's send instant.
  int failures = 0;
  Clock::duration longest_gap{0};
  Clock::duration longest_call{0};
  Clock::time_point last_ok = Clock::now();
  bool renew_now = false;
  auto run_loop = [&](Clock::duration how_long) {
    const auto until = Clock::now() + how_long;
    while (Clock::now() < until) {
      if (node.renew_due() || renew_now) {
        renew_now = false;
        const auto sent = Clock::now();
        auto r = node.renew();
        longest_call = std::max(longest_call, Clock::now() - sent);
        if (r && *r == RenewOutcome::kRenewed) {
          longest_gap = std::max(longest_gap, sent - last_ok);
          last_ok = sent;
        } else {
          ++failures;
        }
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
  };

  run_loop(milliseconds(1500));
  CHECK(failures == 0);
  cluster.kill(raft_leader);
  renew_now = true;      // the next renewal lands in etcd's election, whatever the phase
  run_loop(seconds(7));  // beyond the ttl: the lease lives only if renewals got through
  std::printf(
      "etcd raft leader killed: %d renewals failed, longest renewal call %ld ms, longest gap "
      "between successful renewal sends %ld ms (ack window %ld ms)\n",
      failures, ms(longest_call), ms(longest_gap), ms(timing.ttl - timing.margin));
  CHECK(refusals.load() == 0);
  CHECK(node.term() == won->term);
  CHECK(node.may_acknowledge());
  auto view = node.observe();
  REQUIRE(view);
  CHECK(view->term() == won->term);
  CHECK(node.term() == won->term);
  CHECK(longest_gap < timing.ttl - timing.margin);

  // Cut off: every live member frozen. Renewals fail (each within the client's timeout);
  // the node's last successful renewal was sent at last_ok.
  expect_false.store(true);
  for (int i = 0; i < cluster.size(); ++i) {
    if (i != raft_leader) cluster.pause(i);
  }
  const auto cut_at = Clock::now();
  const auto deadline = *node.ack_deadline();
  REQUIRE(wait_until(
      [&] {
        run_loop(milliseconds(20));
        return false_at_ns.load() != 0;
      },
      seconds(10)));
  stop.store(true);
  watcher.join();
  const Clock::time_point false_at{Clock::duration(false_at_ns.load())};
  std::printf(
      "etcd cut off: may_acknowledge false %ld ms after the cut, %ld ms after the last "
      "successful renewal was sent (ttl - margin = %ld ms)\n",
      ms(false_at - cut_at), ms(false_at - last_ok), ms(timing.ttl - timing.margin));
  // The bound is arithmetic: the deadline is ttl - margin after the last successful send (the
  // node notes its send instant just after last_ok). Observing it costs the watcher's wake-up.
  CHECK(deadline - last_ok >= timing.ttl - timing.margin);
  CHECK(deadline - last_ok < timing.ttl - timing.margin + milliseconds(50));
  CHECK(false_at >= deadline);
  CHECK(false_at - deadline < milliseconds(500));
  CHECK(deadline - cut_at <= timing.ttl - timing.margin);
  for (int i = 0; i < cluster.size(); ++i) {
    if (i != raft_leader) cluster.resume(i);
  }
}

}  // namespace
}  // namespace gongshu::cluster
