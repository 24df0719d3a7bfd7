// core/etcd/client.h against a real 3-member etcd cluster on loopback (etcd_cluster.h).
#include "core/etcd/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/support/etcd_cluster.h"
#include "tests/support/test_support.h"

namespace gongshu::etcd {
namespace {

using gongshu::testing::EtcdCluster;
using gongshu::testing::wait_until;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// One cluster for the tests that leave every member running; each uses its own keys.
EtcdCluster& shared_cluster() {
  static EtcdCluster cluster(3);
  return cluster;
}

Client make_client(std::vector<std::string> endpoints, Options options = {}) {
  auto c = Client::create(std::move(endpoints), options);
  if (!c) FAIL(c.error().message());
  return std::move(*c);
}

// The endpoints with member `first` first: the client starts with it.
std::vector<std::string> starting_at(const EtcdCluster& cluster, int first) {
  std::vector<std::string> out;
  for (int i = 0; i < cluster.size(); ++i)
    out.push_back(cluster.endpoint((first + i) % cluster.size()));
  return out;
}

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

long ms_since(Clock::time_point start) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
}

// A TCP listener that never accepts: connects succeed (the kernel's backlog), requests are never
// answered — a member that is up but cut off, as far as a client can tell.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  ~SilentListener() { ::close(fd_); }
  const std::string& url() const { return url_; }

 private:
  int fd_ = -1;
  std::string url_;
};

TEST_CASE("client: put, get, get_prefix and delete keep binary bytes", "[etcd]") {
  auto& cluster = shared_cluster();
  Client client = make_client(cluster.endpoints());
  const std::string prefix = std::string("roundtrip/\0\xff", 12);
  const std::string key = prefix + "a";
  const std::string value = all_bytes();

  auto absent = client.get(key);
  REQUIRE(absent);
  CHECK_FALSE(absent->kv);
  CHECK(absent->revision > 0);

  auto rev1 = client.put(key, value);
  REQUIRE(rev1);
  auto got = client.get(key);
  REQUIRE(got);
  REQUIRE(got->kv);
  CHECK(got->kv->key == key);
  CHECK(got->kv->value == value);
  CHECK(got->kv->create_revision == *rev1);
  CHECK(got->kv->mod_revision == *rev1);
  CHECK(got->kv->version == 1);
  CHECK(got->kv->lease == 0);

  auto rev2 = client.put(key, "");  // an empty value is a value
  REQUIRE(rev2);
  CHECK(*rev2 > *rev1);
  REQUIRE(client.put(prefix + "b", "second"));
  REQUIRE(client.put(prefix.substr(0, prefix.size() - 1) + "\xfe", "outside"));  // before prefix
  REQUIRE(client.put("roundtrip0", "outside"));                                  // after prefix

  auto range = client.get_prefix(prefix);
  REQUIRE(range);
  REQUIRE(range->kvs.size() == 2);
  CHECK(range->kvs[0].key == key);
  CHECK(range->kvs[0].value.empty());
  CHECK(range->kvs[0].create_revision == *rev1);
  CHECK(range->kvs[0].mod_revision == *rev2);
  CHECK(range->kvs[0].version == 2);
  CHECK(range->kvs[1].value == "second");

  auto del = client.delete_key(key);
  REQUIRE(del);
  CHECK(del->deleted == 1);
  auto after = client.get(key);
  REQUIRE(after);
  CHECK_FALSE(after->kv);
  auto again = client.delete_key(key);  // deleting what is absent is a value, not an error
  REQUIRE(again);
  CHECK(again->deleted == 0);
}

TEST_CASE("client: a key on a lease is gone once the lease expires", "[etcd]") {
  auto& cluster = shared_cluster();
  Client client = make_client(cluster.endpoints());
  auto lease = client.grant_lease(2);
  REQUIRE(lease);
  REQUIRE(client.put("lease/expires", "x", *lease));
  auto start = Clock::now();
  auto got = client.get("lease/expires");
  REQUIRE(got);
  REQUIRE(got->kv);
  CHECK(got->kv->lease == lease->value);
  auto info = client.time_to_live(*lease, /*keys=*/true);
  REQUIRE(info);
  REQUIRE(info->has_value());
  CHECK((*info)->granted_ttl_s == 2);
  CHECK((*info)->keys == std::vector<std::string>{"lease/expires"});

  CHECK(wait_until(
      [&] {
        auto g = client.get("lease/expires");
        return g && !g->kv;
      },
      std::chrono::seconds(10)));
  // etcd expires a lease no earlier than its TTL (and checks every 500 ms).
  CHECK(ms_since(start) >= 1500);
  auto ka = client.keep_alive_once(*lease);
  REQUIRE(ka);
  CHECK(*ka == 0);  // expired: a value
  auto ttl = client.time_to_live(*lease);
  REQUIRE(ttl);
  CHECK_FALSE(ttl->has_value());
  auto revoked = client.revoke_lease(*lease);
  REQUIRE(revoked);
  CHECK_FALSE(*revoked);
  // A put on a lease that is gone is etcd's refusal: an Error naming the endpoint and reason.
  auto refused = client.put("lease/expires", "y", *lease);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == ErrorCode::kNotFound);
  CHECK(refused.error().message().find("lease not found") != std::string::npos);
  CHECK(refused.error().message().find("http://127.0.0.1:") != std::string::npos);
}

TEST_CASE("client: keep_alive_once keeps a key past its lease's ttl", "[etcd]") {
  auto& cluster = shared_cluster();
  Client client = make_client(cluster.endpoints());
  auto lease = client.grant_lease(2);
  REQUIRE(lease);
  REQUIRE(client.put("lease/kept", "x", *lease));
  // Renew every 400 ms for 2.5 ttls: the cadence a holder's main loop keeps.
  auto start = Clock::now();
  while (Clock::now() - start < milliseconds(5000)) {
    auto left = client.keep_alive_once(*lease);
    REQUIRE(left);
    CHECK(*left == 2);
    std::this_thread::sleep_for(milliseconds(400));
  }
  auto got = client.get("lease/kept");
  REQUIRE(got);
  CHECK(got->kv);
  auto revoked = client.revoke_lease(*lease);
  REQUIRE(revoked);
  CHECK(*revoked);
  auto gone = client.get("lease/kept");  // revocation deletes the keys at once
  REQUIRE(gone);
  CHECK_FALSE(gone->kv);
}

TEST_CASE("client: two clients race create_if_absent and exactly one wins", "[etcd]") {
  auto& cluster = shared_cluster();
  // Through different members, so the race is decided by etcd's consensus, not by one member.
  Client a = make_client(starting_at(cluster, 0));
  Client b = make_client(starting_at(cluster, 1));
  constexpr int kKeys = 30;
  std::vector<Result<CreateResult>> ra(kKeys), rb(kKeys);
  // Both threads start each key together (a spinning barrier per key), so every key is a race.
  std::atomic<int> arrived{0};
  auto run = [&](Client& c, std::vector<Result<CreateResult>>& out, const char* who) {
    for (int i = 0; i < kKeys; ++i) {
      arrived.fetch_add(1);
      while (arrived.load() < 2 * (i + 1)) std::this_thread::yield();
      out[static_cast<size_t>(i)] =
          c.create_if_absent("race/" + std::to_string(i), who, std::nullopt);
    }
  };
  std::thread ta(run, std::ref(a), std::ref(ra), "a");
  std::thread tb(run, std::ref(b), std::ref(rb), "b");
  ta.join();
  tb.join();
  int a_won = 0;
  for (int i = 0; i < kKeys; ++i) {
    INFO("key race/" << i);
    auto& x = ra[static_cast<size_t>(i)];
    auto& y = rb[static_cast<size_t>(i)];
    REQUIRE(x);
    REQUIRE(y);
    CHECK(x->created != y->created);    // exactly one
    CHECK(x->revision == y->revision);  // the same term for both
    const auto& loser = x->created ? *y : *x;
    REQUIRE(loser.current);
    CHECK(loser.current->value == (x->created ? "a" : "b"));
    CHECK(loser.current->create_revision == loser.revision);
    auto stored = a.get("race/" + std::to_string(i));
    REQUIRE(stored);
    REQUIRE(stored->kv);
    CHECK(stored->kv->create_revision == x->revision);
    CHECK(stored->kv->version == 1);  // the loser wrote nothing
    a_won += x->created ? 1 : 0;
  }
  std::printf("create_if_absent race: a won %d of %d keys, b %d\n", a_won, kKeys, kKeys - a_won);
}

TEST_CASE("client: a transaction refuses when a compare fails", "[etcd]") {
  auto& cluster = shared_cluster();
  Client client = make_client(cluster.endpoints());

  SECTION("put my key only while the leader key is unchanged") {
    auto term = client.create_if_absent("txn1/leader", "n1", std::nullopt);
    REQUIRE(term);
    REQUIRE(term->created);
    auto leader = client.get("txn1/leader");
    REQUIRE(leader);
    REQUIRE(leader->kv);
    const int64_t r = leader->kv->mod_revision;

    Txn guarded;
    guarded.compare(Field::kModRevision, "txn1/leader", Cmp::kEqual, r)
        .on_success(Op::put("txn1/sync", "n2"))
        .on_failure(Op::get("txn1/leader"));
    auto ok = client.txn(guarded);
    REQUIRE(ok);
    CHECK(ok->succeeded);
    REQUIRE(ok->results.size() == 1);
    CHECK(ok->results[0].kind == Op::Kind::kPut);

    REQUIRE(client.put("txn1/leader", "n3"));  // leadership changed hands
    REQUIRE(client.delete_key("txn1/sync"));
    auto refused = client.txn(guarded);
    REQUIRE(refused);  // a failed compare is a value
    CHECK_FALSE(refused->succeeded);
    REQUIRE(refused->results.size() == 1);
    REQUIRE(refused->results[0].kvs.size() == 1);
    CHECK(refused->results[0].kvs[0].value == "n3");
    auto sync = client.get("txn1/sync");
    REQUIRE(sync);
    CHECK_FALSE(sync->kv);  // nothing written

    // The other comparisons, each once true and once false.
    auto holds = [&](Txn t) {
      auto res = client.txn(t.on_success(Op::get("txn1/leader")));
      REQUIRE(res);
      return res->succeeded;
    };
    CHECK(holds(Txn().compare_value("txn1/leader", Cmp::kEqual, "n3")));
    CHECK_FALSE(holds(Txn().compare_value("txn1/leader", Cmp::kEqual, "n1")));
    CHECK(holds(Txn().compare_value("txn1/leader", Cmp::kNotEqual, "n1")));
    CHECK(holds(Txn().compare(Field::kVersion, "txn1/leader", Cmp::kGreater, 1)));
    CHECK_FALSE(holds(Txn().compare(Field::kVersion, "txn1/leader", Cmp::kLess, 2)));
    CHECK(holds(Txn().compare(Field::kCreateRevision, "txn1/leader", Cmp::kEqual, term->revision)));
    CHECK_FALSE(holds(Txn().require_absent("txn1/leader")));
    CHECK(holds(Txn().compare(Field::kModRevision, "txn1/leader", Cmp::kNotEqual, r)));
    // Absent keys: revisions and version 0; a value compare fails whatever its operator.
    CHECK(holds(Txn().compare(Field::kVersion, "txn1/absent", Cmp::kEqual, 0)));
    CHECK_FALSE(holds(Txn().compare_value("txn1/absent", Cmp::kNotEqual, "x")));
    CHECK_FALSE(holds(Txn().compare_value("txn1/absent", Cmp::kEqual, "")));
    // A prefix with no key under it compares as one absent key.
    CHECK(holds(Txn().compare_prefix(Field::kModRevision, "txn1/none/", Cmp::kLess, 1)));
    CHECK_FALSE(holds(Txn().compare_prefix(Field::kVersion, "txn1/none/", Cmp::kGreater, 0)));
  }

  SECTION("take leadership only if no leader and no member advanced since the read") {
    REQUIRE(client.put("txn2/members/n1", "120"));
    REQUIRE(client.put("txn2/members/n2", "100"));
    REQUIRE(client.put("txn2/members/n3", "90"));
    auto take = [&](int64_t read_revision) {
      Txn t;
      t.require_absent("txn2/leader")
          .compare_prefix(Field::kModRevision, "txn2/members/", Cmp::kLess, read_revision + 1)
          .on_success(Op::put("txn2/leader", "n1"))
          .on_failure(Op::get("txn2/leader"))
          .on_failure(Op::get_prefix("txn2/members/"));
      auto r = client.txn(t);
      REQUIRE(r);
      return *r;
    };
    auto members = client.get_prefix("txn2/members/");
    REQUIRE(members);
    REQUIRE(members->kvs.size() == 3);
    // n1 reads it is the most advanced, but n2 applies more before n1's transaction.
    REQUIRE(client.put("txn2/members/n2", "130"));
    auto stale = take(members->revision);
    CHECK_FALSE(stale.succeeded);
    REQUIRE(stale.results.size() == 2);
    CHECK(stale.results[0].kvs.empty());      // no leader yet
    CHECK(stale.results[1].kvs.size() == 3);  // the members, fresh
    auto leader = client.get("txn2/leader");
    REQUIRE(leader);
    CHECK_FALSE(leader->kv);

    // Read again (n1 is behind now: it catches up, publishes, reads, tries).
    REQUIRE(client.put("txn2/members/n1", "130"));
    members = client.get_prefix("txn2/members/");
    REQUIRE(members);
    auto fresh = take(members->revision);
    CHECK(fresh.succeeded);
    // A leader present: refused even with the members unchanged.
    members = client.get_prefix("txn2/members/");
    REQUIRE(members);
    CHECK_FALSE(take(members->revision).succeeded);

    // Stepping down and clearing the member keys in one transaction (prefix ops).
    Txn clear;
    clear.compare_value("txn2/leader", Cmp::kEqual, "n1")
        .on_success(Op::del("txn2/leader"))
        .on_success(Op::delete_prefix("txn2/members/"))
        .on_success(Op::get_prefix("txn2/"));
    auto cleared = client.txn(clear);
    REQUIRE(cleared);
    CHECK(cleared->succeeded);
    REQUIRE(cleared->results.size() == 3);
    CHECK(cleared->results[0].deleted == 1);
    CHECK(cleared->results[1].deleted == 3);
    CHECK(cleared->results[2].kind == Op::Kind::kRange);
    CHECK(cleared->results[2].kvs.empty());
  }
}

TEST_CASE("client: failover to another member when the one in use is killed", "[etcd]") {
  EtcdCluster cluster(3);
  // The client starts with a member that is not etcd's raft leader: killing it tests the
  // client's failover alone (killing the raft leader, below, adds etcd's own election).
  int raft_leader = -1;
  REQUIRE(wait_until([&] { return (raft_leader = cluster.leader()) >= 0; }));
  const int first = (raft_leader + 1) % cluster.size();
  Client client =
      make_client(starting_at(cluster, first), Options{milliseconds(3000), milliseconds(500)});
  auto lease = client.grant_lease(5);
  REQUIRE(lease);
  REQUIRE(client.put("failover/k", "before", *lease));
  const int used = cluster.index_of(client.current_endpoint());
  REQUIRE(used == first);
  cluster.kill(used);

  auto start = Clock::now();
  auto put = client.put("failover/k", "after", *lease);
  REQUIRE(put);
  std::printf("failover: put answered %ld ms after member %d was killed\n", ms_since(start), used);
  CHECK(client.current_endpoint() != cluster.endpoint(used));
  auto got = client.get("failover/k");
  REQUIRE(got);
  REQUIRE(got->kv);
  CHECK(got->kv->value == "after");
  auto ka = client.keep_alive_once(*lease);
  REQUIRE(ka);
  CHECK(*ka > 0);
  auto created = client.create_if_absent("failover/leader", "n1", *lease);
  REQUIRE(created);
  CHECK(created->created);

  // The member comes back on its data and catches up; a client of it alone sees the writes.
  cluster.restart(used);
  Client only = make_client({cluster.endpoint(used)});
  CHECK(wait_until([&] {
    auto g = only.get("failover/k");
    return g && g->kv && g->kv->value == "after";
  }));

  // etcd's own leader killed: writes pause for etcd's election, then go on; the lease held
  // through it (a leader change only extends leases). Measured: the replication layer's lease
  // and step-down timings must leave room for this pause.
  REQUIRE(wait_until([&] { return (raft_leader = cluster.leader()) >= 0; }));
  cluster.kill(raft_leader);
  auto killed = Clock::now();
  Client after = make_client(starting_at(cluster, (raft_leader + 1) % cluster.size()),
                             Options{milliseconds(1000), milliseconds(300)});
  CHECK(wait_until([&] { return after.put("failover/k", "after-election").has_value(); },
                   std::chrono::seconds(15)));
  std::printf("failover: writes resumed %ld ms after etcd's raft leader (member %d) was killed\n",
              ms_since(killed), raft_leader);
  auto still = after.keep_alive_once(*lease);
  REQUIRE(still);
  CHECK(*still > 0);
}

TEST_CASE("client: a frozen member costs a safe call its share, and a txn its budget", "[etcd]") {
  EtcdCluster cluster(3);
  int raft_leader = -1;
  REQUIRE(wait_until([&] { return (raft_leader = cluster.leader()) >= 0; }));
  const int frozen = (raft_leader + 1) % cluster.size();  // a follower: no election needed
  Client client =
      make_client(starting_at(cluster, frozen), Options{milliseconds(2000), milliseconds(300)});
  REQUIRE(client.put("frozen/k", "before"));
  cluster.pause(frozen);

  auto start = Clock::now();
  auto got = client.get("frozen/k");  // linearizable: served by a member with a quorum
  long took = ms_since(start);
  std::printf("frozen member: get answered after %ld ms (its share: 666 ms of 2000)\n", took);
  REQUIRE(got);
  REQUIRE(got->kv);
  CHECK(got->kv->value == "before");
  CHECK(took < 2000);
  CHECK(cluster.index_of(client.current_endpoint()) != frozen);

  // A transaction sent to the frozen member is not re-sent: its outcome is unknown until the
  // member thaws. Once it does, the transaction may well have been applied: read back.
  Client txn_client =
      make_client(starting_at(cluster, frozen), Options{milliseconds(1000), milliseconds(300)});
  auto t = txn_client.create_if_absent("frozen/leader", "n1", std::nullopt);
  REQUIRE_FALSE(t);
  CHECK(t.error().message().find(cluster.endpoint(frozen)) != std::string::npos);
  CHECK(t.error().message().find("may have been applied") != std::string::npos);
  cluster.resume(frozen);
  CHECK(wait_until([&] { return cluster.healthy(frozen); }));
  auto read_back = client.get("frozen/leader");
  REQUIRE(read_back);
  std::printf("frozen member: the unanswered txn was %s once it thawed\n",
              read_back->kv ? "applied" : "not applied");
}

TEST_CASE("client: with every member down a call fails within its timeout", "[etcd]") {
  EtcdCluster cluster(3);
  for (int i = 0; i < cluster.size(); ++i) cluster.kill(i);
  const Options options{milliseconds(1500), milliseconds(300)};

  SECTION("members refuse connections: the error names each endpoint") {
    Client client = make_client(cluster.endpoints(), options);
    auto start = Clock::now();
    auto r = client.put("down/k", "v");
    long took = ms_since(start);
    std::printf("all members down (refused): error after %ld ms\n", took);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == ErrorCode::kUnavailable);
    for (const auto& e : cluster.endpoints()) {
      CHECK(r.error().message().find(e) != std::string::npos);
    }
    CHECK(took < 1500 + 1000);
  }

  SECTION("a member that never answers cannot hold a call past the timeout") {
    SilentListener silent;
    auto endpoints = cluster.endpoints();
    endpoints.insert(endpoints.begin(), silent.url());
    Client client = make_client(endpoints, options);
    auto start = Clock::now();
    auto r = client.get("down/k");
    long took = ms_since(start);
    std::printf("all members down (one silent): error after %ld ms (timeout 1500)\n", took);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == ErrorCode::kUnavailable);
    CHECK(r.error().message().find(silent.url()) != std::string::npos);
    CHECK(took < 1500 + 1000);

    // A transaction that may have reached the silent member is not sent anywhere else.
    start = Clock::now();
    auto t =
        client.txn(Txn().require_absent("down/leader").on_success(Op::put("down/leader", "x")));
    took = ms_since(start);
    REQUIRE_FALSE(t);
    CHECK(t.error().message().find("may have been applied") != std::string::npos);
    CHECK(took >= 1400);
    CHECK(took < 1500 + 1000);
  }
}

TEST_CASE("client: a reply larger than the limit is refused, not buffered", "[etcd]") {
  auto& cluster = shared_cluster();
  Client small = make_client(cluster.endpoints(), Options{milliseconds(2000), milliseconds(500),
                                                          /*max_reply_bytes=*/4096});
  REQUIRE(small.put("big/k", std::string(8192, 'x')));  // the put's reply is small
  auto r = small.get("big/k");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == ErrorCode::kResourceExhausted);
  CHECK(r.error().message().find("4096") != std::string::npos);
  REQUIRE(small.delete_key("big/k"));  // and the client goes on working
}

TEST_CASE("client: endpoints are checked for form", "[etcd]") {
  CHECK_FALSE(Client::create({}));
  auto bad = Client::create({"127.0.0.1:2379"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.error().message().find("127.0.0.1:2379") != std::string::npos);
}

TEST_CASE("client: a member that never answers costs a safe call only its share", "[etcd]") {
  auto& cluster = shared_cluster();
  SilentListener silent;
  auto endpoints = cluster.endpoints();
  endpoints.insert(endpoints.begin(), silent.url());
  Client client = make_client(endpoints, Options{milliseconds(4000), milliseconds(500)});
  REQUIRE(client.put("share/k", "v"));  // silent gets 1 s of 4, then a live member answers
  CHECK(client.current_endpoint() != silent.url());
}

void report(const char* what, std::vector<double>& ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[static_cast<size_t>(q * static_cast<double>(ms.size() - 1))];
  };
  std::printf("latency %-22s n=%zu p50=%.2f ms p99=%.2f ms max=%.2f ms\n", what, ms.size(),
              at(0.50), at(0.99), ms.back());
}

TEST_CASE("client: latency of put, keep_alive_once and txn on this machine", "[etcd]") {
  auto& cluster = shared_cluster();
  Client client = make_client(cluster.endpoints());
  auto lease = client.grant_lease(10);
  REQUIRE(lease);
  constexpr int kN = 200;
  std::vector<double> put_ms, ka_ms, txn_ms;
  auto timed = [](auto&& fn, std::vector<double>& out) {
    auto start = Clock::now();
    fn();
    out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  };
  int64_t last = 0;
  for (int i = 0; i < kN; ++i) {
    timed(
        [&] {
          auto r = client.put("bench/seq", std::to_string(i), *lease);
          REQUIRE(r);
          last = *r;
        },
        put_ms);
    timed([&] { REQUIRE(client.keep_alive_once(*lease)); }, ka_ms);
    timed(
        [&] {
          Txn t;
          t.compare(Field::kModRevision, "bench/seq", Cmp::kEqual, last)
              .on_success(Op::put("bench/acked", std::to_string(i)));
          auto r = client.txn(t);
          REQUIRE(r);
          REQUIRE(r->succeeded);
        },
        txn_ms);
  }
  report("put", put_ms);
  report("keep_alive_once", ka_ms);
  report("txn (compare + put)", txn_ms);
  // Loose: a write is an fsync on two of three members; a busy machine makes it slower, not 10x.
  CHECK(put_ms[kN / 2] < 250);
  CHECK(txn_ms[kN / 2] < 250);
  REQUIRE(client.revoke_lease(*lease));
}

}  // namespace
}  // namespace gongshu::etcd
