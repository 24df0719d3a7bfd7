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
  SyncValue s{42, {"node-b", "node-c"}};
  auto s2 = decode_sync(encode(s));
  REQUIRE(s2);
  CHECK(*s2 == s);
  CHECK(s.contains("node-b"));
  CHECK_FALSE(s.contains("node-a"));
  MemberValue m{{UINT64_MAX, 7}, Role::kPrimary, {{"replication", "tcp://10.0.0.11:7402"}}};
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
  return encode(MemberValue{{seq, term}, Role::kReplica, {}});
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
      kv("/gongshu/c/sync", encode(SyncValue{10, {"b"}}), 15),
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
  CHECK_FALSE(view->may_stand("a"));
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

}  // namespace
}  // namespace gongshu::cluster
