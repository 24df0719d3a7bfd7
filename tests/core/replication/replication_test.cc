// core/replication end to end on real LMDB stores in temp dirs and real CURVE sockets on
// 127.0.0.1 (OS-chosen ports): the codec refuses every altered byte; the primary's changelog
// numbers and chains every recorded transaction and stays bounded; a replica converges to a
// byte-equal store; a replica killed (SIGKILL, its own process) mid-stream resumes exactly once;
// a deposed term, a tampered or unchained write set and a wrong audit root are refused; the
// quorum wait times out while the replica is stopped; a replica behind the changelog is told to
// re-seed and streams after restoring a copy of the primary.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/replication/applier.h"
#include "core/replication/key_shares.h"
#include "core/replication/shipper.h"
#include "core/replication/write_set_codec.h"
#include "core/store/table.h"
#include "core/store/txn.h"
#include "gongshu/v1/replication.pb.h"
#include "tests/core/replication/replication_node.h"
#include "tests/support/test_support.h"

namespace gongshu::replication {
namespace {

using namespace std::chrono_literals;
using gongshu::testing::ChildProcess;
using gongshu::testing::TempDir;
using gongshu::testing::wait_until;
using testing::dump;
using testing::Node;
using testing::test_key;

constexpr uint8_t kPrimarySeed = 40, kReplicaSeed = 50;

Bytes entry_of(Node& n, uint64_t seq) {
  auto txn = n.env->begin_read();
  auto e = n.changelog->entry(*txn, seq);
  REQUIRE(e);
  return Bytes(e->begin(), e->end());
}

ChainHead head_of(Node& n) {
  auto txn = n.env->begin_read();
  return n.changelog->head(*txn);
}

// Re-hashes an altered write set so that only the check under test can refuse it.
void rehash(Bytes& ws) {
  Hash h = crypto::domain_hash(kWriteSetDomain, ByteView(ws).first(ws.size() - 32));
  std::memcpy(ws.data() + ws.size() - 32, h.data(), 32);
}

TEST_CASE(
    "the primary numbers and chains every recorded transaction; a replica store refuses to write") {
  TempDir dir;
  Node n(dir.path());
  n.env->set_commit_hook(n.changelog.get());  // no term yet: not the primary
  auto txn = n.env->begin_write();
  REQUIRE(txn->put(n.latest, as_bytes("k"), as_bytes("v")));
  auto s = std::move(*txn).commit();
  REQUIRE(!s);
  CHECK(s.error().code() == ErrorCode::kUnavailable);
  CHECK(!n.env->begin_read()->get(n.latest, as_bytes("k")));

  n.lead(3);
  for (uint64_t i = 1; i <= 5; ++i) CHECK(n.write(i) == i);
  Hash prev{};
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    Bytes b = entry_of(n, seq);
    auto ws = decode_write_set(b);
    REQUIRE(ws);
    CHECK(ws->header.seq == seq);
    CHECK(ws->header.term == 3);
    CHECK(ws->header.prev_hash == prev);
    CHECK(ws->header.audit.size == seq);
    prev = ws->hash;
  }
  CHECK(head_of(n) == ChainHead{3, 5, prev});
  auto r = n.env->begin_read();
  auto h = n.audit->head(*r);
  auto last = decode_write_set(entry_of(n, 5));
  CHECK(last->header.audit.root == h.root);
}

TEST_CASE("the codec refuses any altered byte and round-trips what it encodes") {
  TempDir dir;
  Node n(dir.path());
  n.lead(1);
  n.write(1);
  n.write(2);
  Bytes good = entry_of(n, 2);
  auto ws = decode_write_set(good);
  REQUIRE(ws);
  // Re-encoding the decoded parts gives the same bytes.
  auto again = encode_write_set(ws->header, ws->tables, ws->op_bytes, ws->ops.size());
  REQUIRE(again);
  CHECK(*again == good);
  for (size_t pos = 0; pos < good.size(); pos += std::max<size_t>(1, good.size() / 97)) {
    Bytes bad = good;
    bad[pos] ^= 0x01;
    auto d = decode_write_set(bad);
    CHECK(!d);
    if (!d) CHECK(d.error().code() == ErrorCode::kCorrupt);
  }
  CHECK(!decode_write_set(ByteView(good).first(good.size() - 1)));
  Bytes longer = good;
  longer.push_back(0);
  CHECK(!decode_write_set(longer));
}

// A primary with a shipper and one in-process replica with an applier.
struct Pair {
  TempDir pdir, rdir;
  std::unique_ptr<Node> primary, replica;
  crypto::IdentityKey pkey = test_key(kPrimarySeed), rkey = test_key(kReplicaSeed);
  std::unique_ptr<Shipper> shipper;
  std::unique_ptr<Applier> applier;

  explicit Pair(ChangelogOptions primary_options = {}) {
    primary = std::make_unique<Node>(pdir.path(), primary_options);
    replica = std::make_unique<Node>(rdir.path());
    primary->lead(7);
  }
  ~Pair() {
    applier.reset();
    shipper.reset();
  }
  void ship() {
    ShipperOptions so;
    so.node = "node-a";
    so.heartbeat = 100ms;
    auto s = Shipper::start(*primary->env, *primary->changelog, pkey,
                            {{"node-b", rkey.public_key()}}, so);
    REQUIRE(s);
    shipper = std::move(*s);
    Shipper* raw = shipper.get();
    primary->changelog->set_listener([raw](uint64_t) { raw->notify(); });
  }
  ApplierOptions applier_options() const {
    ApplierOptions o;
    o.node = "node-b";
    o.primary_node = "node-a";
    o.primary_endpoint = shipper->endpoint();
    o.primary_key = pkey.public_key();
    o.hello_interval = 200ms;
    return o;
  }
  void follow() {
    auto a = Applier::start(*replica->env, *replica->changelog, rkey, applier_options());
    REQUIRE(a);
    applier = std::move(*a);
  }
  uint64_t acked() {
    auto r = shipper->replicas();
    return r.count("node-b") ? r["node-b"].acked_seq : 0;
  }
};

TEST_CASE("a replica converges to a byte-equal store, live and from behind") {
  Pair p;
  for (uint64_t i = 1; i <= 40; ++i) p.primary->write(i);  // written before it follows: catch-up
  p.ship();
  p.follow();
  for (uint64_t i = 41; i <= 120; ++i) p.primary->write(i);  // and while it follows
  REQUIRE(wait_until([&] { return p.acked() == 120; }));
  CHECK(p.applier->head() == head_of(*p.primary));
  CHECK(p.applier->state() == ApplierState::kFollowing);
  REQUIRE(wait_until([&] { return p.applier->primary_head() == 120; }));
  auto a = dump(*p.primary->env);
  auto b = dump(*p.replica->env);
  CHECK(a["records"].size() == 120);
  CHECK(a["cache"].size() == 3);
  CHECK(a["audit_checkpoints"].size() == 4);
  for (const auto& [name, table] : a) {
    INFO(name);
    CHECK(table == b[name]);
  }
  // The semi-synchronous wait: already acknowledged → true at once.
  CHECK(p.shipper->wait_for_acks(120, {"node-b"}, std::chrono::steady_clock::now() + 1s));
  CHECK(p.shipper->wait_for_quorum(120, 1, std::chrono::steady_clock::now() + 1s));
}

TEST_CASE("the quorum wait times out while the replica is stopped, and completes when it returns") {
  Pair p;
  p.ship();
  p.follow();
  const uint64_t s1 = p.primary->write(1);
  CHECK(p.shipper->wait_for_quorum(s1, 1, std::chrono::steady_clock::now() + 10s));
  p.applier.reset();  // the replica stops
  const uint64_t s2 = p.primary->write(2);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(!p.shipper->wait_for_quorum(s2, 1, t0 + 300ms));
  CHECK(!p.shipper->wait_for_acks(s2, {"node-b"}, t0 + 300ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  CHECK(!p.shipper->wait_for_quorum(s1, 2, std::chrono::steady_clock::now() + 50ms));
  p.follow();  // back: it resumes from its stored head
  CHECK(p.shipper->wait_for_acks(s2, {"node-b"}, std::chrono::steady_clock::now() + 10s));
  CHECK(p.shipper->min_acked({"node-b"}) == s2);
}

TEST_CASE("a deposed primary's write sets are refused") {
  Pair p;
  p.ship();
  p.follow();
  p.primary->write(1);
  REQUIRE(wait_until([&] { return p.acked() == 1; }));
  p.applier->observe_term(9);  // etcd shows a newer leader term than the primary's 7
  p.primary->write(2);
  REQUIRE(wait_until([&] { return p.applier->state() != ApplierState::kFollowing; }));
  CHECK(p.applier->state() == ApplierState::kRefused);
  CHECK_THAT(p.applier->reason(), Catch::Contains("deposed primary"));
  CHECK(p.applier->head().seq == 1);
  REQUIRE(wait_until([&] { return !p.shipper->replicas()["node-b"].refused.empty(); }));
  CHECK(p.acked() == 1);  // it never acknowledged write set 2
  CHECK(!p.shipper->wait_for_quorum(2, 1, std::chrono::steady_clock::now() + 100ms));

  // The pure check, with the term a replica learnt from a stream of the newer leader.
  std::atomic<int64_t> known{9};
  Bytes ws2 = entry_of(*p.primary, 2);
  auto r = apply_write_set(*p.replica->env, *p.replica->changelog, ws2, 7, known);
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kPermissionDenied);
}

TEST_CASE("tampered, unchained and wrong-audit write sets are refused and change nothing") {
  Pair p;
  for (uint64_t i = 1; i <= 3; ++i) p.primary->write(i);
  std::atomic<int64_t> known{0};
  auto apply = [&](const Bytes& b) {
    return apply_write_set(*p.replica->env, *p.replica->changelog, b, 7, known);
  };
  REQUIRE(apply(entry_of(*p.primary, 1)));
  const auto before = dump(*p.replica->env);

  Bytes flipped = entry_of(*p.primary, 2);
  flipped[flipped.size() / 2] ^= 0x20;  // in the ops: the hash no longer matches
  auto r = apply(flipped);
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kCorrupt);

  Bytes unchained = entry_of(*p.primary, 2);
  unchained[20 + 3] ^= 0x01;  // prev_hash (after magic, term, seq), re-hashed
  rehash(unchained);
  r = apply(unchained);
  REQUIRE(!r);
  CHECK_THAT(r.error().message(), Catch::Contains("does not chain"));

  Bytes wrong_audit = entry_of(*p.primary, 2);
  wrong_audit[60 + 5] ^= 0x01;  // the stated audit root, re-hashed
  rehash(wrong_audit);
  r = apply(wrong_audit);
  REQUIRE(!r);
  CHECK_THAT(r.error().message(), Catch::Contains("audit tree"));

  r = apply(entry_of(*p.primary, 3));  // a gap: asks for a resend, applies nothing
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kUnavailable);
  CHECK(dump(*p.replica->env) == before);

  // The genuine one applies; applying it again is acknowledged without applying (exactly once;
  // its delete would fail a second time).
  auto ok = apply(entry_of(*p.primary, 2));
  REQUIRE(ok);
  CHECK(ok->seq == 2);
  const auto after = dump(*p.replica->env);
  auto again = apply(entry_of(*p.primary, 2));
  REQUIRE(again);
  CHECK(*again == *ok);
  again = apply(entry_of(*p.primary, 1));
  REQUIRE(again);
  CHECK(again->seq == 2);
  CHECK(dump(*p.replica->env) == after);
}

TEST_CASE("a run of write sets applies in one transaction; a refused one keeps those before it") {
  Pair p;
  for (uint64_t i = 1; i <= 6; ++i) p.primary->write(i);
  std::vector<Bytes> ws;
  for (uint64_t i = 1; i <= 6; ++i) ws.push_back(entry_of(*p.primary, i));
  std::atomic<int64_t> known{0};
  auto apply = [&](std::vector<Bytes> run) {
    std::vector<ByteView> views(run.begin(), run.end());
    return apply_write_sets(*p.replica->env, *p.replica->changelog, views, 7, known);
  };

  Bytes flipped = ws[2];
  flipped[flipped.size() / 2] ^= 0x20;  // write set 3 altered: the hash no longer matches
  AppliedRun r = apply({ws[0], ws[1], flipped, ws[3]});
  REQUIRE(r.error);
  CHECK(r.error->code() == ErrorCode::kCorrupt);
  CHECK(r.applied == 2);  // 1 and 2 committed, 3 and what follows it not
  CHECK(r.head.seq == 2);
  CHECK(head_of(*p.replica).seq == 2);
  CHECK(p.replica->changelog->last_seq() == 2);

  // Write set 3 fails in the middle of being written (the audit root it states is checked after
  // its ops went into the transaction): 1 and 2 are kept, nothing of 3 — the store is the one a
  // replica that applied 1 and 2 alone holds.
  const auto at_two = dump(*p.replica->env);
  Bytes wrong_audit = ws[2];
  wrong_audit[60 + 5] ^= 0x01;  // the stated audit root, re-hashed
  rehash(wrong_audit);
  r = apply({ws[0], ws[1], wrong_audit, ws[3]});  // 1, 2 again (resends), then 3 refused
  REQUIRE(r.error);
  CHECK_THAT(r.error->message(), Catch::Contains("audit tree"));
  CHECK(r.applied == 2);
  CHECK(r.head == head_of(*p.replica));
  CHECK(head_of(*p.replica).seq == 2);
  CHECK(dump(*p.replica->env) == at_two);

  {
    // The same on a fresh replica, where 1 and 2 are new: the run ending in a half-written write
    // set keeps them, and only them.
    TempDir other;
    Node fresh(other.path());
    AppliedRun f = apply_write_sets(*fresh.env, *fresh.changelog,
                                    std::vector<ByteView>{ws[0], ws[1], wrong_audit}, 7, known);
    REQUIRE(f.error);
    CHECK(f.applied == 2);
    CHECK(head_of(fresh).seq == 2);
    CHECK(fresh.changelog->last_seq() == 2);
    CHECK(dump(*fresh.env) == at_two);
    // A refusal before anything of the failing write set is written (a gap at 4): 3 is kept.
    f = apply_write_sets(*fresh.env, *fresh.changelog, std::vector<ByteView>{ws[2], ws[4]}, 7,
                         known);
    REQUIRE(f.error);
    CHECK(f.error->code() == ErrorCode::kUnavailable);
    CHECK(f.applied == 1);
    CHECK(f.head == head_of(fresh));
    CHECK(head_of(fresh).seq == 3);
  }

  r = apply({ws[3], ws[4]});  // a gap after 2: nothing applied, asks for a resend
  REQUIRE(r.error);
  CHECK(r.error->code() == ErrorCode::kUnavailable);
  CHECK(r.applied == 0);
  CHECK(head_of(*p.replica).seq == 2);
  CHECK(r.head == head_of(*p.replica));  // the head on disk, read before the failed run

  r = apply({flipped, ws[3]});  // the first write set refused: the head before the run
  REQUIRE(r.error);
  CHECK(r.applied == 0);
  CHECK(r.head == head_of(*p.replica));
  CHECK(r.head.seq == 2);

  r = apply({ws[1], ws[2], ws[3], ws[4], ws[5]});  // 2 again (a resend), then the rest at once
  REQUIRE(!r.error);
  CHECK(r.applied == 5);
  CHECK(r.head == head_of(*p.primary));
  auto a = dump(*p.primary->env);
  auto b = dump(*p.replica->env);
  for (const auto& [name, table] : a) {
    INFO(name);
    CHECK(table == b[name]);  // byte-equal, the append-mode puts included
  }
}

TEST_CASE("a write set whose keys do not sort last falls back from append to put, byte-equal") {
  Pair p;
  auto put_all = [&](std::vector<std::pair<std::string, std::string>> kvs) {
    auto txn = p.primary->env->begin_write();
    REQUIRE(txn);
    for (const auto& [k, v] : kvs) REQUIRE(txn->put(p.primary->latest, as_bytes(k), as_bytes(v)));
    REQUIRE(std::move(*txn).commit());
  };
  put_all({{"b", "1"}, {"d", "1"}});              // seq 1: every key sorts last (append)
  put_all({{"e", "2"}, {"c", "2"}, {"f", "2"}});  // seq 2: c is below the last key (e)
  put_all({{"d", "3 overwritten"}});              // seq 3: overwrites an older key
  put_all({{"a", "4"}});                          // seq 4: below every key of the table
  REQUIRE(p.primary->changelog->last_seq() == 4);
  std::vector<Bytes> ws;
  for (uint64_t i = 1; i <= 4; ++i) ws.push_back(entry_of(*p.primary, i));
  std::vector<ByteView> views(ws.begin(), ws.end());
  std::atomic<int64_t> known{0};
  AppliedRun r = apply_write_sets(*p.replica->env, *p.replica->changelog, views, 7, known);
  INFO((r.error ? r.error->message() : std::string()));
  REQUIRE(!r.error);  // an append refused as kAlreadyExists and not retried as a put stops here
  CHECK(r.applied == 4);
  CHECK(r.head == head_of(*p.primary));
  auto a = dump(*p.primary->env);
  auto b = dump(*p.replica->env);
  for (const auto& [name, table] : a) {
    INFO(name);
    CHECK(table == b[name]);
  }
  const auto& latest = b[p.replica->latest.name];
  CHECK(latest ==
        std::map<std::string, std::string>{
            {"a", "4"}, {"b", "1"}, {"c", "2"}, {"d", "3 overwritten"}, {"e", "2"}, {"f", "2"}});
}

TEST_CASE("stream_message parses to the message protobuf builds, with and without the keyring") {
  v1::ReplicationStream fixed;
  fixed.set_term(9);
  fixed.set_leader("node-a");
  fixed.set_head_seq(123456789);
  fixed.set_head_time_ms(1'765'000'000'000);
  const std::vector<Bytes> sets = {Bytes(5, 0x11), Bytes(200, 0x22), Bytes(20'000, 0x33)};
  const std::vector<ByteView> views(sets.begin(), sets.end());
  auto built = [&](const v1::ReplicationStream& f, const std::vector<Bytes>& ws) {
    v1::ReplicationMessage m;
    *m.mutable_stream() = f;
    for (const Bytes& w : ws)
      m.mutable_stream()->add_write_sets(reinterpret_cast<const char*>(w.data()), w.size());
    return m;
  };
  auto parsed = [](const std::string& wire) {
    v1::ReplicationMessage m;
    REQUIRE(m.ParseFromString(wire));
    REQUIRE(m.has_stream());
    return m;
  };

  // Without the keyring the fields come in field order: the very bytes protobuf writes.
  std::string wire = stream_message(fixed, views);
  CHECK(wire == built(fixed, sets).SerializeAsString());
  CHECK(parsed(wire).SerializeAsString() == built(fixed, sets).SerializeAsString());
  CHECK(parsed(wire).stream().write_sets_size() == 3);

  // No write sets (a heartbeat).
  wire = stream_message(fixed, {});
  CHECK(wire == built(fixed, {}).SerializeAsString());
  CHECK(parsed(wire).stream().write_sets_size() == 0);

  // With the keyring (field 6 before the hand-written field 5): the same message once parsed.
  auto* k = fixed.add_key_shares();
  k->set_name("city.parking");
  k->set_share(std::string(32, '\x5a'));
  fixed.add_key_shares()->set_name("city.destroyed");  // a tombstone: empty share
  wire = stream_message(fixed, views);
  v1::ReplicationMessage m = parsed(wire);
  CHECK(m.SerializeAsString() == built(fixed, sets).SerializeAsString());
  REQUIRE(m.stream().key_shares_size() == 2);
  CHECK(m.stream().key_shares(0).share() == std::string(32, '\x5a'));
  CHECK(m.stream().write_sets(2).size() == 20'000);
  wire = stream_message(fixed, {});
  CHECK(parsed(wire).SerializeAsString() == built(fixed, {}).SerializeAsString());
  wipe_secret(wire);
}

TEST_CASE("the changelog stays bounded; a replica behind it re-seeds from a copy and streams") {
  ChangelogOptions bounded;
  bounded.max_entries = 10;
  Pair p(bounded);
  for (uint64_t i = 1; i <= 30; ++i) p.primary->write(i);
  {
    auto txn = p.primary->env->begin_read();
    CHECK(p.primary->changelog->oldest(*txn) == 21);
    CHECK(p.primary->changelog->head(*txn).seq == 30);
  }
  p.ship();
  p.follow();  // an empty replica: write set 1 is gone
  REQUIRE(wait_until([&] { return p.applier->state() != ApplierState::kFollowing; }));
  CHECK(p.applier->state() == ApplierState::kNeedsReseed);
  CHECK_THAT(p.applier->reason(), Catch::Contains("behind"));
  CHECK_THAT(p.applier->reason(), Catch::Contains("gongshud restore"));

  // Re-seed: a hot copy of the primary (what `gongshud backup` makes) becomes the replica's store;
  // its changelog head says exactly where it stands.
  p.applier.reset();
  p.replica.reset();
  TempDir seeded;
  REQUIRE(p.primary->env->copy_to(seeded.path()));
  for (uint64_t i = 31; i <= 35; ++i) p.primary->write(i);
  p.replica = std::make_unique<Node>(seeded.path());
  CHECK(head_of(*p.replica).seq == 30);
  auto o = p.applier_options();
  auto a = Applier::start(*p.replica->env, *p.replica->changelog, p.rkey, o);
  REQUIRE(a);
  p.applier = std::move(*a);
  REQUIRE(wait_until([&] { return p.acked() == 35; }));
  CHECK(dump(*p.replica->env)["records"] == dump(*p.primary->env)["records"]);

  // Retention: while a synchronous replica has not acknowledged, nothing it needs is trimmed.
  p.primary->changelog->set_retain_from(36);
  p.applier.reset();
  for (uint64_t i = 36; i <= 60; ++i) p.primary->write(i);
  auto txn = p.primary->env->begin_read();
  CHECK(p.primary->changelog->oldest(*txn) == 36);
}

TEST_CASE("the changelog's byte bound trims the oldest write sets, never the newest") {
  TempDir dir;
  ChangelogOptions o;
  o.max_bytes = 4000;  // a few write sets of the workload
  Node n(dir.path(), o);
  n.lead(2);
  for (uint64_t i = 1; i <= 40; ++i) n.write(i);
  auto txn = n.env->begin_read();
  const uint64_t bytes = n.changelog->stored_bytes(*txn);
  CHECK(bytes <= 4000);
  CHECK(bytes > 0);
  const uint64_t oldest = n.changelog->oldest(*txn);
  CHECK(oldest > 1);
  uint64_t sum = 0;
  for (uint64_t seq = oldest; seq <= 40; ++seq) {
    auto e = n.changelog->entry(*txn, seq);
    REQUIRE(e);  // no gaps from the oldest held to the head
    sum += e->size();
  }
  CHECK(sum == bytes);
  CHECK(!n.changelog->entry(*txn, oldest - 1));
}

TEST_CASE("a replica killed mid-stream resumes exactly once") {
  Pair p;
  p.ship();
  const std::string bin =
      gongshu::testing::binary_path("tests/core/replication/replication_replica");
  std::vector<std::string> argv = {
      bin,      p.rdir.path(), p.shipper->endpoint(),       p.pkey.public_key().hex(),
      "node-b", "node-a",      std::to_string(kReplicaSeed)};
  p.replica.reset();  // the child process owns the replica's store
  // Enough write sets that a replica cannot apply them all (one fsync each) between reaching 20
  // acks and the SIGKILL: with 150 an idle machine sometimes finished first.
  constexpr uint64_t kWrites = 600;
  for (uint64_t i = 1; i <= kWrites; ++i) p.primary->write(i);
  for (int round = 0; round < 2; ++round) {
    const uint64_t from = p.acked();
    ChildProcess child(argv, p.rdir.file("replica.log"));
    REQUIRE(wait_until([&] { return p.acked() >= from + 20 || !child.running(); }));
    REQUIRE(child.running());
    child.signal(SIGKILL);  // mid-stream
    child.wait();
    CHECK(p.acked() < kWrites);
  }
  {
    ChildProcess child(argv, p.rdir.file("replica.log"));
    for (uint64_t i = kWrites + 1; i <= kWrites + 10; ++i) p.primary->write(i);
    REQUIRE(wait_until([&] { return p.acked() == kWrites + 10 || !child.running(); }));
    INFO(gongshu::testing::read_text(p.rdir.file("replica.log")));
    REQUIRE(child.running());
    child.signal(SIGKILL);
    child.wait();
  }
  Node replica(p.rdir.path());
  CHECK(head_of(replica) == head_of(*p.primary));
  auto a = dump(*p.primary->env);
  auto b = dump(*replica.env);
  for (const auto& [name, table] : a) {
    INFO(name);
    CHECK(table == b[name]);
  }
}

}  // namespace
}  // namespace gongshu::replication

namespace gongshu::replication {
namespace {

TEST_CASE("the fuzz seeds of the write-set parser are valid write sets") {
  for (const char* name : {"two_tables", "delete_clear_chained"}) {
    INFO(name);
    std::string bytes = gongshu::testing::read_text(std::string(GONGSHU_SOURCE_DIR) +
                                                    "/fuzz/corpus/write_set/" + name);
    auto ws = decode_write_set(as_bytes(bytes));
    REQUIRE(ws);
    CHECK(!ws->ops.empty());
  }
}

}  // namespace
}  // namespace gongshu::replication
