// core/cluster/values.h: keys, the JSON of the three values (round trip and hostile input), and
// what a ClusterView says about who may stand.
#include "core/cluster/values.h"

#include <catch2/catch.hpp>

namespace gongshu::cluster {
namespace {

TEST_CASE("values: keys live under /gongshu/<cluster>/ and names are checked", "[cluster]") {
  auto keys = Keys::create("sjz");
  REQUIRE(keys);
  CHECK(keys->leader() == "/gongshu/sjz/leader");
  CHECK(keys->sync() == "/gongshu/sjz/sync");
  CHECK(keys->member("node-a") == "/gongshu/sjz/members/node-a");
  CHECK_FALSE(Keys::create(""));
  CHECK_FALSE(Keys::create("a/b"));
  CHECK_FALSE(Keys::create(std::string(65, 'a')));
  auto bad = check_name("node id", "x y");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message().find("\"x y\"") != std::string::npos);
}

TEST_CASE("values: leader, sync and member values round trip", "[cluster]") {
  LeaderValue l{"node-a", {{"ingest", "tcp://10.0.0.11:7400"}, {"api", "tcp://10.0.0.11:7401"}}};
  auto l2 = decode_leader(encode(l));
  REQUIRE(l2);
  CHECK(*l2 == l);
  SyncValue s{42, {"node-b", "node-c"}, "node-a", 2};
  auto s2 = decode_sync(encode(s));
  REQUIRE(s2);
  CHECK(*s2 == s);
  CHECK(s.contains("node-b"));
  CHECK_FALSE(s.contains("node-a"));
  MemberValue m{
      {UINT64_MAX, 7}, Role::kPrimary, {{"replication", "tcp://10.0.0.11:7402"}}, std::nullopt};
  auto m2 = decode_member(encode(m));
  REQUIRE(m2);
  CHECK(*m2 == m);
}

TEST_CASE("values: hostile values are refused with the reason", "[cluster]") {
  auto refused = [](auto r, const char* why) {
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == ErrorCode::kCorrupt);
    INFO(r.error().message());
    CHECK(r.error().message().find(why) != std::string::npos);
  };
  refused(decode_leader("not json"), "not JSON");
  refused(decode_leader("[1]"), "not a JSON object");
  refused(decode_leader("{}"), "\"node\"");
  refused(decode_leader(R"({"node":"a/b"})"), "not a node id");
  refused(decode_leader(R"({"node":"a","endpoints":{"x":1}})"), "endpoint \"x\"");
  refused(decode_leader(std::string(70000, ' ')), "64 KiB");
  refused(decode_sync(R"({"members":[]})"), "\"term\"");
  refused(decode_sync(R"({"term":1.5,"members":[]})"), "\"term\"");
  refused(decode_sync(R"({"term":1,"members":"a"})"), "\"members\"");
  refused(decode_sync(R"({"term":1,"members":[""]})"), "not a node id");
  refused(decode_sync(R"({"term":18446744073709551615,"members":[]})"), "out of range");
  refused(decode_member(R"({"applied_seq":-1,"applied_term":1,"role":"replica"})"), "applied_seq");
  refused(decode_member(R"({"applied_seq":1,"applied_term":1,"role":"boss"})"), "role");
}

etcd::KeyValue kv(std::string key, std::string value, int64_t rev, int64_t lease = 0) {
  return etcd::KeyValue{std::move(key), std::move(value), rev, rev, 1, lease};
}

std::string member_json(uint64_t seq, int64_t term) {
  return encode(MemberValue{{seq, term}, Role::kReplica, {}, std::nullopt});
}

TEST_CASE("values: a view says the term, who may stand and how far behind", "[cluster]") {
  auto keys = Keys::create("c");
  REQUIRE(keys);
  // Bootstrapping: no sync key, anyone may stand.
  auto empty = parse_view(*keys, {}, 5);
  REQUIRE(empty);
  CHECK(empty->term() == 0);
  CHECK(empty->may_stand("a"));
  CHECK(empty->best_applied() == Applied{});
  CHECK_FALSE(empty->behind("a"));

  std::vector<etcd::KeyValue> kvs = {
      kv("/gongshu/c/leader", encode(LeaderValue{"a", {}}), 10, 77),
      kv("/gongshu/c/members/a", member_json(120, 10), 11, 77),
      kv("/gongshu/c/members/b", member_json(100, 10), 12),
      kv("/gongshu/c/members/c", member_json(130, 4), 13),  // more seq, older term: diverged
      kv("/gongshu/c/members/d", "garbage", 14),
      kv("/gongshu/c/sync", encode(SyncValue{10, {"b"}, "a", 1}), 15),
      kv("/gongshu/c/other", "ignored", 16),
      kv("/gongshu/cx/leader", "ignored", 17),
  };
  auto view = parse_view(*keys, kvs, 20);
  REQUIRE(view);
  CHECK(view->revision == 20);
  CHECK(view->term() == 10);
  CHECK(view->leader->value.node == "a");
  CHECK(view->leader->lease == 77);
  REQUIRE(view->sync);
  CHECK(view->sync->mod_revision == 15);
  CHECK(view->may_stand("b"));
  CHECK_FALSE(view->may_stand("c"));
  CHECK(view->may_stand("a"));  // the writer holds everything it acknowledged
  REQUIRE(view->members.size() == 3);
  REQUIRE(view->unreadable.size() == 1);
  CHECK(view->unreadable[0].find("/gongshu/c/members/d") == 0);
  CHECK(view->best_applied() == Applied{120, 10});
  CHECK(view->behind("a") == 0u);
  CHECK(view->behind("b") == 20u);
  CHECK(view->behind("c") == 1u);  // older term counts as behind, however long its log
  CHECK_FALSE(view->behind("zz"));

  // A leader or sync value that does not parse is an Error naming the key.
  auto broken = parse_view(*keys, {kv("/gongshu/c/sync", "{}", 3)}, 4);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message().find("/gongshu/c/sync") != std::string::npos);
}

TEST_CASE("values: sync set eligibility, applied keys, failover keys and rivals", "[cluster]") {
  // Eligibility: members and the writer; sync_count 0 anyone; an empty set only its writer.
  SyncValue one{4, {"b"}, "a", 1};
  CHECK(one.eligible("a"));
  CHECK(one.eligible("b"));
  CHECK_FALSE(one.eligible("c"));
  SyncValue none{4, {}, "a", 1};
  CHECK(none.eligible("a"));
  CHECK_FALSE(none.eligible("b"));
  CHECK(SyncValue({4, {}, "a", 0}).eligible("c"));
  auto rt = decode_sync(encode(one));
  REQUIRE(rt);
  CHECK(*rt == one);
  // A value written before the fields existed: every member counted.
  auto old = decode_sync(R"({"term":3,"members":["b","c"]})");
  REQUIRE(old);
  CHECK(old->sync_count == 2u);
  CHECK(old->leader.empty());

  // Applied keys order as (term, seq) byte by byte.
  const Applied a1{.seq = 3, .term = 9}, a2{.seq = 2, .term = 10}, a3{.seq = 1, .term = 10},
      top{.seq = UINT64_MAX, .term = INT64_MAX};
  CHECK(encode_applied(a2) > encode_applied(a3));
  CHECK(encode_applied(a3) > encode_applied(a1));
  CHECK(encode_applied(a1) < encode_applied(a1) + "~");
  CHECK(encode_applied(Applied{.seq = 3, .term = 10}) > encode_applied(a2) + "~");
  for (Applied a : {a1, a2, a3, top, Applied{}}) {
    auto back = decode_applied(encode_applied(a));
    REQUIRE(back);
    CHECK(*back == a);
  }
  CHECK_FALSE(decode_applied("1.2"));
  CHECK_FALSE(decode_applied(encode_applied(a1) + "0"));
  CHECK_FALSE(decode_applied("99999999999999999999.00000000000000000001"));  // term > INT64_MAX

  FailoverValue f{"c", true, {40, 4}, 15, 4, {"b"}, "op-key", "a"};
  auto f2 = decode_failover(encode(f));
  REQUIRE(f2);
  CHECK(*f2 == f);
  CHECK_FALSE(decode_failover(R"({"to":"c"})"));

  auto keys = Keys::create("c");
  REQUIRE(keys);
  CHECK(keys->applied("b") == "/gongshu/c/applied/b");
  std::vector<etcd::KeyValue> kvs = {
      kv("/gongshu/c/applied/a", encode_applied({50, 4}), 11),
      kv("/gongshu/c/applied/b", encode_applied({48, 4}), 12),
      kv("/gongshu/c/applied/c", encode_applied({40, 4}), 13),
      kv("/gongshu/c/applied/d", "x", 13),
      kv("/gongshu/c/members/b", member_json(48, 4), 12),
      kv("/gongshu/c/members/c", member_json(40, 4), 13),
      kv("/gongshu/c/sync", encode(SyncValue{4, {"b"}, "a", 1}), 15),
  };
  auto view = parse_view(*keys, kvs, 20);
  REQUIRE(view);
  CHECK(view->applied.size() == 3);
  CHECK(view->unreadable.size() == 1);
  // b (member) must not be behind a (the writer), and a not behind b.
  CHECK(view->rivals("b") == std::vector<std::string>{"a"});
  CHECK(view->ahead_of("b", {48, 4}) == "a");
  CHECK(view->ahead_of("b", {50, 4}) == std::nullopt);
  CHECK_FALSE(view->all_rivals("b"));
  CHECK_FALSE(view->may_stand("c"));

  // A failover key for c asked under this sync key: c may stand, with no rival; under an older
  // sync key (another mod_revision) it is void.
  kvs.push_back(kv("/gongshu/c/failover",
                   encode(FailoverValue{"c", true, {40, 4}, 15, 4, {"b"}, "k", "b"}), 16));
  view = parse_view(*keys, kvs, 21);
  REQUIRE(view);
  REQUIRE(view->failover);
  CHECK(view->may_stand("c"));
  CHECK(view->failover_for("c"));
  CHECK(view->rivals("c").empty());
  CHECK(view->failover_elsewhere("b"));
  kvs.back() = kv("/gongshu/c/failover",
                  encode(FailoverValue{"c", true, {40, 4}, 14, 4, {"b"}, "k", "b"}), 16);
  view = parse_view(*keys, kvs, 21);
  REQUIRE(view);
  CHECK_FALSE(view->may_stand("c"));

  // Without a sync key (or sync_count 0) every other node with an applied key is a rival.
  kvs.pop_back();
  kvs.pop_back();
  view = parse_view(*keys, kvs, 22);
  REQUIRE(view);
  CHECK(view->all_rivals("c"));
  CHECK(view->rivals("c") == std::vector<std::string>{"a", "b"});
  CHECK(view->ahead_of("c", {40, 4}) == "a");
  CHECK(view->ahead_of("a", {50, 4}) == std::nullopt);
}

}  // namespace
}  // namespace gongshu::cluster
